//! `calstore copy`: everything from one store and journal to another, of either kind, through the
//! traits, one user (and one quota) at a time; then every table is compared line for line.

use std::time::Instant;

use anyhow::{Context, Result};
use calstore::{EventStatus, Journal, Store, Table};

use crate::args::{CopyArgs, Global};
use crate::{backend, dump, with_journal, with_store};

/// What has been copied so far (printed on success and on failure).
#[derive(Default, Debug)]
struct Counts {
    users: usize,
    objects: usize,
    requests: usize,
    counters: usize,
    periods: usize,
    preferences: usize,
    quotas: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

fn side(
    global: &Global,
    store: &str,
    journal: &Option<String>,
    prefs: &Option<String>,
    read_only: bool,
) -> Global {
    Global {
        store: Some(store.to_owned()),
        journal: journal.clone(),
        preferences: prefs.clone(),
        read_only,
        ..global.clone()
    }
}

pub async fn run(global: &Global, args: &CopyArgs) -> Result<u8> {
    let from = side(
        global,
        &args.from,
        &args.from_journal,
        &args.from_preferences,
        true,
    );
    let to = side(
        global,
        &args.to,
        &args.to_journal,
        &args.to_preferences,
        global.read_only,
    );
    let (src, src_j) = (
        backend::open_store(&from).await.context("--from")?,
        backend::open_journal(&from).await.context("--from")?,
    );
    let (dst, dst_j) = (
        backend::open_store(&to).await.context("--to")?,
        backend::open_journal(&to).await.context("--to")?,
    );
    let started = Instant::now();
    let mut counts = Counts::default();
    let result = with_store!(&src, s => with_store!(&dst, d => with_journal!(&src_j, sj => with_journal!(&dst_j, dj =>
        copy_all(s, d, sj, dj, args.force, &mut counts).await))));
    match result {
        Ok(()) => {
            println!(
                "copied {counts} in {:.2} s; every table verified",
                started.elapsed().as_secs_f64()
            );
            Ok(crate::exit::OK)
        }
        Err(e) => Err(e.context(format!("copy stopped after copying {counts}"))),
    }
}

async fn copy_all<S: Store, D: Store, SJ: Journal, DJ: Journal>(
    src: &S,
    dst: &D,
    src_j: &SJ,
    dst_j: &DJ,
    force: bool,
    counts: &mut Counts,
) -> Result<()> {
    if !force && (!dst.users().await?.is_empty() || !dst_j.quotas().await?.is_empty()) {
        return Err(crate::exit::exit(
            crate::exit::CANT_CREATE,
            "the target store is not empty (use --force to copy into it)",
        ));
    }
    let users = src.users().await?;
    let bar = crate::progress::bar(users.len() as u64, "copying");
    for user in &users {
        copy_user(src, dst, user, counts)
            .await
            .with_context(|| format!("user {user}"))?;
        for table in dump::STORE_TABLES {
            let (a, b) = (
                dump::store_table(src, user, table).await?,
                dump::store_table(dst, user, table).await?,
            );
            if a != b {
                return Err(calstore::Error::verification_failed(format!(
                    "after copying, {table} of {user} differs: {} lines in the source, {} in the target",
                    a.len(),
                    b.len()
                ))
                .into());
            }
        }
        counts.users += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    for quota in src_j.quotas().await? {
        copy_quota(src_j, dst_j, &quota, counts)
            .await
            .with_context(|| format!("quota {quota}"))?;
        for table in dump::JOURNAL_TABLES {
            if dump::journal_table(src_j, &quota, table).await?
                != dump::journal_table(dst_j, &quota, table).await?
            {
                return Err(calstore::Error::verification_failed(format!(
                    "after copying, {table} of quota {quota} differs"
                ))
                .into());
            }
        }
        counts.quotas += 1;
    }
    Ok(())
}

async fn copy_user<S: Store, D: Store>(
    src: &S,
    dst: &D,
    user: &calstore::User,
    counts: &mut Counts,
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
    for (uid, rid) in parents.chain(instances) {
        if let Some(e) = src.get_event(user, &uid, rid.as_ref()).await? {
            dst.put_event(user, &uid, rid.as_ref(), &e.text).await?;
            if e.status == EventStatus::Cancelled {
                dst.cancel_event(user, &uid, rid.as_ref()).await?;
            }
            counts.objects += 1;
        }
    }
    let requests = src.requests(user).await?;
    counts.requests += requests.len();
    dst.set_requests(user, &requests).await?;
    for (uid, rid, other) in src.counters(user).await? {
        if let Some(text) = src.get_counter(user, &other, &uid, rid.as_ref()).await? {
            dst.put_counter(user, &other, &uid, rid.as_ref(), &text)
                .await?;
            counts.counters += 1;
        }
    }
    let mut tables = vec![Table::FreeBusy, Table::Offers];
    tables.extend(src.others(user).await?.into_iter().map(Table::Other));
    for t in &tables {
        let rows = src.freebusy(user, t).await?.value;
        counts.periods += rows.len();
        if !rows.is_empty() {
            dst.set_freebusy(user, t, rows, None).await?;
        }
    }
    let providers = src.providers(user).await?.value;
    if providers != calstore::Providers::default() {
        dst.set_providers(user, &providers, None).await?;
    }
    for (name, value) in src.preferences(user).await? {
        dst.set_preference(user, &name, Some(&value)).await?;
        counts.preferences += 1;
    }
    Ok(())
}

async fn copy_quota<SJ: Journal, DJ: Journal>(
    src: &SJ,
    dst: &DJ,
    quota: &calstore::Quota,
    counts: &mut Counts,
) -> Result<()> {
    dst.set_limits(quota, &src.limits(quota).await?.value, None)
        .await?;
    dst.set_groups(quota, &src.groups(quota).await?).await?;
    dst.set_delegates(quota, &src.delegates(quota).await?)
        .await?;
    for t in src.usage_tables(quota).await? {
        let rows = src.usage(quota, &t).await?.value;
        counts.periods += rows.len();
        if !rows.is_empty() {
            dst.set_usage(quota, &t, rows, None).await?;
        }
    }
    let providers = src.providers(quota).await?.value;
    if providers != calstore::Providers::default() {
        dst.set_providers(quota, &providers, None).await?;
    }
    let list = src.list_events(quota).await?;
    let keys = list.active.iter().map(|u| (u.clone(), None)).chain(
        list.active_instances
            .iter()
            .map(|(u, r)| (u.clone(), Some(r.clone()))),
    );
    for (uid, rid) in keys {
        if let Some(e) = src.get_event(quota, &uid, rid.as_ref()).await? {
            dst.put_event(quota, &uid, rid.as_ref(), &e.text).await?;
            counts.objects += 1;
        }
    }
    Ok(())
}
