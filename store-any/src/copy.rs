//! Copy with verification: everything from one store and journal to another, of either kind,
//! through the traits, one user (and one quota) at a time; then every table of that user is
//! compared line for line ([`crate::dump`]) with what the source holds.
//!
//! Never "verified" with data missing: an entry the source's listing leaves out
//! ([`Store::unlisted_users`]), an object the target refuses, a table that reads differently
//! afterwards, each is a problem in the report, and the copy goes on with the rest.

use std::collections::BTreeSet;
use std::fmt;

use calstore::{Error, EventStatus, Journal, Quota, Result, Store, Table, User};

use crate::dump;

/// How to copy.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// Copy into a target that is not empty: afterwards it holds exactly what the source holds
    /// (objects, counters, tables, preferences and quotas the source does not have are removed
    /// or emptied). Without it, a non-empty target is refused.
    pub force: bool,
}

/// What has been copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyCounts {
    /// Users copied.
    pub users: usize,
    /// Objects (parents, instances, reservations).
    pub objects: usize,
    /// Queued requests.
    pub requests: usize,
    /// Counter-proposals.
    pub counters: usize,
    /// Periods of every table.
    pub periods: usize,
    /// Preferences.
    pub preferences: usize,
    /// Quotas copied.
    pub quotas: usize,
}

impl fmt::Display for CopyCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} users, {} objects, {} requests, {} counters, {} periods, {} preferences, {} quotas",
            self.users,
            self.objects,
            self.requests,
            self.counters,
            self.periods,
            self.preferences,
            self.quotas
        )
    }
}

/// The outcome of [`copy()`].
#[derive(Debug, Default)]
pub struct CopyReport {
    /// What was copied.
    pub counts: CopyCounts,
    /// What was not copied or does not read the same in the target, one error each naming the
    /// user or quota and the entry; empty only when every table of the source was verified.
    pub problems: Vec<Error>,
}

impl CopyReport {
    /// Whether everything the source holds was copied and verified.
    pub fn verified(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What [`copy()`] tells its caller as it goes (for a progress bar and for printing problems as
/// they come).
#[derive(Debug)]
pub enum CopyProgress<'a> {
    /// The number of users to copy.
    Users(usize),
    /// One user done (copied and verified, or with problems already reported).
    UserDone(&'a User),
    /// A problem, also kept in the report.
    Problem(&'a Error),
}

/// Whether the target holds no user and no quota.
///
/// # Errors
///
/// The errors of listing.
pub async fn target_is_empty<S: Store, J: Journal>(store: &S, journal: &J) -> Result<bool> {
    Ok(store.users().await?.is_empty()
        && store.unlisted_users().await?.is_empty()
        && journal.quotas().await?.is_empty())
}

/// Copies everything from `src`/`src_j` to `dst`/`dst_j` and verifies every table against the
/// source. Problems with single entries are reported (through `progress` and in the report) and
/// the copy goes on; the report is [`CopyReport::verified`] only when nothing was left out.
///
/// # Errors
///
/// Invalid input when the target is not empty and `options.force` is not set (nothing is
/// changed then); the errors of listing the source's users or quotas or the target's.
pub async fn copy<S, D, SJ, DJ>(
    src: &S,
    dst: &D,
    src_j: &SJ,
    dst_j: &DJ,
    options: CopyOptions,
    mut progress: impl FnMut(CopyProgress<'_>),
) -> Result<CopyReport>
where
    S: Store,
    D: Store,
    SJ: Journal,
    DJ: Journal,
{
    if !options.force && !target_is_empty(dst, dst_j).await? {
        return Err(Error::invalid(
            "the target store is not empty (use --force to copy into it)",
        ));
    }
    let mut report = CopyReport::default();
    for e in src.unlisted_users().await? {
        problem(&mut report, e.context("the source's users"), &mut progress);
    }
    for e in src_j.unlisted_quotas().await? {
        problem(&mut report, e.context("the source's quotas"), &mut progress);
    }
    let users = src.users().await?;
    // With --force, the target's own users are emptied: the source holds nothing for them.
    let extra: Vec<User> = if options.force {
        let have: BTreeSet<&User> = users.iter().collect();
        dst.users()
            .await?
            .into_iter()
            .filter(|u| !have.contains(u))
            .collect()
    } else {
        Vec::new()
    };
    progress(CopyProgress::Users(users.len() + extra.len()));
    for user in users.iter().chain(&extra) {
        let mut counts = CopyCounts::default();
        let mut found = Vec::new();
        if let Err(e) = copy_user(src, dst, user, options.force, &mut counts, &mut found).await {
            found.push(e);
        }
        for table in dump::STORE_TABLES {
            if let Err(e) = verify_store_table(src, dst, user, table).await {
                found.push(e);
            }
        }
        for e in found {
            problem(
                &mut report,
                e.context(format!("user {user}")),
                &mut progress,
            );
        }
        if users.binary_search(user).is_ok() {
            counts.users = 1;
        }
        add(&mut report.counts, &counts);
        progress(CopyProgress::UserDone(user));
    }
    let quotas = src_j.quotas().await?;
    let extra: Vec<Quota> = if options.force {
        let have: BTreeSet<&Quota> = quotas.iter().collect();
        dst_j
            .quotas()
            .await?
            .into_iter()
            .filter(|q| !have.contains(q))
            .collect()
    } else {
        Vec::new()
    };
    for quota in quotas.iter().chain(&extra) {
        let mut counts = CopyCounts::default();
        let mut found = Vec::new();
        if let Err(e) =
            copy_quota(src_j, dst_j, quota, options.force, &mut counts, &mut found).await
        {
            found.push(e);
        }
        for table in dump::JOURNAL_TABLES {
            if let Err(e) = verify_journal_table(src_j, dst_j, quota, table).await {
                found.push(e);
            }
        }
        for e in found {
            problem(
                &mut report,
                e.context(format!("quota {quota}")),
                &mut progress,
            );
        }
        if quotas.binary_search(quota).is_ok() {
            counts.quotas = 1;
        }
        add(&mut report.counts, &counts);
    }
    Ok(report)
}

/// Tells the caller about a problem and keeps it in the report.
fn problem(report: &mut CopyReport, e: Error, progress: &mut impl FnMut(CopyProgress<'_>)) {
    progress(CopyProgress::Problem(&e));
    report.problems.push(e);
}

fn add(total: &mut CopyCounts, one: &CopyCounts) {
    total.users += one.users;
    total.objects += one.objects;
    total.requests += one.requests;
    total.counters += one.counters;
    total.periods += one.periods;
    total.preferences += one.preferences;
    total.quotas += one.quotas;
}

async fn verify_store_table<S: Store, D: Store>(
    src: &S,
    dst: &D,
    user: &User,
    table: &str,
) -> Result<()> {
    let a = dump::store_table(src, user, table)
        .await
        .map_err(|e| e.context(format!("{table}: cannot read the source to verify")))?;
    let b = dump::store_table(dst, user, table)
        .await
        .map_err(|e| e.context(format!("{table}: cannot read the target to verify")))?;
    if a == b {
        Ok(())
    } else {
        Err(Error::verification_failed(format!(
            "after copying, {table} differs: {} lines in the source, {} in the target",
            a.len(),
            b.len()
        )))
    }
}

async fn verify_journal_table<S: Journal, D: Journal>(
    src: &S,
    dst: &D,
    quota: &Quota,
    table: &str,
) -> Result<()> {
    let a = dump::journal_table(src, quota, table)
        .await
        .map_err(|e| e.context(format!("{table}: cannot read the source to verify")))?;
    let b = dump::journal_table(dst, quota, table)
        .await
        .map_err(|e| e.context(format!("{table}: cannot read the target to verify")))?;
    if a == b {
        Ok(())
    } else {
        Err(Error::verification_failed(format!(
            "after copying, {table} differs: {} lines in the source, {} in the target",
            a.len(),
            b.len()
        )))
    }
}

/// Copies one user. An object the target refuses (or the source cannot read) is one problem in
/// `found` and the rest goes on; errors that leave nothing sensible to do (the user's listing
/// fails) end the user.
async fn copy_user<S: Store, D: Store>(
    src: &S,
    dst: &D,
    user: &User,
    force: bool,
    counts: &mut CopyCounts,
    found: &mut Vec<Error>,
) -> Result<()> {
    let list = src.list_events(user).await?;
    let parents = list
        .active
        .iter()
        .chain(&list.cancelled)
        .map(|u| (u.clone(), None));
    let instances = list
        .active_instances
        .iter()
        .chain(&list.cancelled_instances)
        .map(|(u, r)| (u.clone(), Some(r.clone())));
    let keys: BTreeSet<_> = parents.chain(instances).collect();
    if force {
        // Instances first: removing a parent removes its instances too.
        let old = dst.list_events(user).await?;
        let old_keys = old
            .active_instances
            .iter()
            .chain(&old.cancelled_instances)
            .map(|(u, r)| (u.clone(), Some(r.clone())))
            .chain(
                old.active
                    .iter()
                    .chain(&old.cancelled)
                    .map(|u| (u.clone(), None)),
            );
        for (uid, rid) in old_keys.filter(|k| !keys.contains(k)) {
            dst.remove_event(user, &uid, rid.as_ref()).await?;
        }
    }
    for (uid, rid) in &keys {
        let what = || match rid {
            None => format!("object {:?}", uid.as_str()),
            Some(rid) => format!("object {:?} {rid}", uid.as_str()),
        };
        let e = match src.get_event(user, uid, rid.as_ref()).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                found.push(Error::not_found(format!(
                    "{}: listed by the source but gone when read",
                    what()
                )));
                continue;
            }
            Err(e) => {
                found.push(e.context(what()));
                continue;
            }
        };
        let stored = async {
            dst.put_event(user, uid, rid.as_ref(), &e.text).await?;
            if e.status == EventStatus::Cancelled {
                dst.cancel_event(user, uid, rid.as_ref()).await?;
            }
            Ok::<_, Error>(())
        };
        match stored.await {
            Ok(()) => counts.objects += 1,
            Err(e) => found.push(e.context(format!("{}: not copied", what()))),
        }
    }
    let requests = src.requests(user).await?;
    counts.requests += requests.len();
    if force || !requests.is_empty() {
        dst.set_requests(user, &requests).await?;
    }
    let counters = src.counters(user).await?;
    if force {
        for (uid, rid, other) in dst.counters(user).await? {
            if !counters.contains(&(uid.clone(), rid.clone(), other.clone())) {
                dst.remove_counter(user, &other, &uid, rid.as_ref()).await?;
            }
        }
    }
    for (uid, rid, other) in counters {
        let place = || format!("counter {:?} from {other}", uid.as_str());
        match src.get_counter(user, &other, &uid, rid.as_ref()).await {
            Ok(Some(text)) => {
                match dst
                    .put_counter(user, &other, &uid, rid.as_ref(), &text)
                    .await
                {
                    Ok(()) => counts.counters += 1,
                    Err(e) => found.push(e.context(format!("{}: not copied", place()))),
                }
            }
            Ok(None) => {}
            Err(e) => found.push(e.context(place())),
        }
    }
    let mut tables = vec![Table::FreeBusy, Table::Offers];
    let mut others: BTreeSet<_> = src.others(user).await?.into_iter().collect();
    if force {
        others.extend(dst.others(user).await?);
    }
    tables.extend(others.into_iter().map(Table::Other));
    for t in &tables {
        let rows = src.freebusy(user, t).await?.value;
        counts.periods += rows.len();
        if force || !rows.is_empty() {
            dst.set_freebusy(user, t, rows, None).await?;
        }
    }
    let providers = src.providers(user).await?.value;
    if force || providers != calstore::Providers::default() {
        dst.set_providers(user, &providers, None).await?;
    }
    let preferences = src.preferences(user).await?;
    if force {
        for name in dst.preferences(user).await?.keys() {
            if !preferences.contains_key(name) {
                dst.set_preference(user, name, None).await?;
            }
        }
    }
    for (name, value) in preferences {
        dst.set_preference(user, &name, Some(&value)).await?;
        counts.preferences += 1;
    }
    Ok(())
}

/// Copies one quota, as [`copy_user`] does a user.
async fn copy_quota<SJ: Journal, DJ: Journal>(
    src: &SJ,
    dst: &DJ,
    quota: &Quota,
    force: bool,
    counts: &mut CopyCounts,
    found: &mut Vec<Error>,
) -> Result<()> {
    dst.set_limits(quota, &src.limits(quota).await?.value, None)
        .await?;
    dst.set_groups(quota, &src.groups(quota).await?).await?;
    dst.set_delegates(quota, &src.delegates(quota).await?)
        .await?;
    let mut tables: BTreeSet<_> = src.usage_tables(quota).await?.into_iter().collect();
    if force {
        tables.extend(dst.usage_tables(quota).await?);
    }
    for t in &tables {
        let rows = src.usage(quota, t).await?.value;
        counts.periods += rows.len();
        if force || !rows.is_empty() {
            dst.set_usage(quota, t, rows, None).await?;
        }
    }
    let providers = src.providers(quota).await?.value;
    if force || providers != calstore::Providers::default() {
        dst.set_providers(quota, &providers, None).await?;
    }
    let list = src.list_events(quota).await?;
    let keys: BTreeSet<_> = list
        .active
        .iter()
        .map(|u| (u.clone(), None))
        .chain(
            list.active_instances
                .iter()
                .map(|(u, r)| (u.clone(), Some(r.clone()))),
        )
        .collect();
    if force {
        let old = dst.list_events(quota).await?;
        let old_keys = old
            .active_instances
            .iter()
            .map(|(u, r)| (u.clone(), Some(r.clone())))
            .chain(old.active.iter().map(|u| (u.clone(), None)));
        for (uid, rid) in old_keys.filter(|k| !keys.contains(k)) {
            dst.remove_event(quota, &uid, rid.as_ref()).await?;
        }
    }
    for (uid, rid) in &keys {
        let place = || format!("object {:?}", uid.as_str());
        match src.get_event(quota, uid, rid.as_ref()).await {
            Ok(Some(e)) => match dst.put_event(quota, uid, rid.as_ref(), &e.text).await {
                Ok(()) => counts.objects += 1,
                Err(e) => found.push(e.context(format!("{}: not copied", place()))),
            },
            Ok(None) => found.push(Error::not_found(format!(
                "{}: listed by the source but gone when read",
                place()
            ))),
            Err(e) => found.push(e.context(place())),
        }
    }
    Ok(())
}
