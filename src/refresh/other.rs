//! What the organiser knows of attendees: the `freebusy-other/<attendee>` tables, kept by the
//! cron job like the user's own table (issue 19, item 5).
//!
//! The agent writes an attendee's table when an answer or an update arrives, up to the user's
//! window end ([`crate::agent::receive`]). Each run of [`super::regenerate`] then brings every
//! such table of the user to the window end it records for the user's own table, before it
//! records it: the events without end (the providers) are expanded again as each attendee named
//! in them, and only their rows change; `reset` (and every full rebuild) rebuilds each table
//! from all objects. Rows of a uid with no stored object at all (an answer recorded before the
//! organiser's copy existed) are kept, as reservations are in the user's own table.
//!
//! All tables of one run are written by one [`Store::apply_step`] that holds each table to the
//! version it was computed from: a kill leaves all of them extended or none, and a concurrent
//! agent step makes the run compute again. [`audit`] compares each table with a rebuild up to
//! the recorded horizon, for `check`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::error::{ErrorKind, Result};
use crate::id::{normalise_address, Other, Uid, User};
use crate::object::EventObject;
use crate::period::{self, Period};
use crate::recurrence::{ExpandOptions, Expansion};
use crate::store::{Change, EventFamily, Step, Store, Table, Versioned};

use super::{expand_family, LOAD_CHUNK};

/// The periods the organiser knows of `attendee` for one event: the event expanded as the
/// attendee's answers in the stored objects make it (ACCEPTED busy, TENTATIVE busy-tentative,
/// unanswered, declined or delegated free), or nothing when no stored object names the attendee.
/// The one rule of the agent, the cron job, [`crate::query::freebusy`] and `check`.
///
/// # Errors
///
/// As [`expand_family`]: corrupt data when a stored object does not parse, invalid input when
/// its rule cannot be expanded.
pub fn attendee_periods(
    attendee: &User,
    family: &EventFamily,
    opts: &ExpandOptions,
) -> Result<Expansion> {
    if !crate::agent::names_attendee(family, attendee.as_str()) {
        return Ok(Expansion {
            periods: Vec::new(),
            unbounded: false,
        });
    }
    expand_family(
        attendee,
        family,
        &ExpandOptions {
            needs_action: false,
            ..*opts
        },
    )
}

/// A `freebusy-other` table whose rows of one event are not what a rebuild writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherFinding {
    /// The attendee whose table it is.
    pub other: Other,
    /// The event.
    pub uid: Uid,
    /// How many periods a rebuild writes for it (before the horizon, for an event without end).
    pub expected: usize,
    /// How many rows the table has for it there.
    pub rows: usize,
}

impl std::fmt::Display for OtherFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "freebusy-other/{}: object {:?} has {} periods there that are not what it expands to for that attendee ({} periods); `make-freebusy --reset` rebuilds it",
            self.other,
            self.uid.as_str(),
            self.rows,
            self.expected
        )
    }
}

/// One table as read: its rows by uid and its version.
struct Read {
    other: Other,
    attendee: Option<User>,
    table: Versioned<Vec<Period>>,
}

/// Reads every `freebusy-other` table of `user`. A damaged table holds nothing to keep (it is
/// rebuilt); `check` reports it with its place.
async fn read_tables<S: Store>(store: &S, user: &User) -> Result<Vec<Read>> {
    let mut out = Vec::new();
    for other in store.others(user).await? {
        let t = Table::Other(other.clone());
        let table = match store.freebusy(user, &t).await {
            Ok(v) => v,
            Err(e) if e.kind() == ErrorKind::Corrupt => Versioned {
                value: Vec::new(),
                version: store.table_version(user, &t).await?,
            },
            Err(e) => return Err(e),
        };
        out.push(Read {
            attendee: User::new(other.as_str()).ok(),
            other,
            table,
        });
    }
    Ok(out)
}

/// Every uid with a stored object (active or cancelled, parent or instance).
async fn stored_uids<S: Store>(store: &S, user: &User) -> Result<BTreeSet<Uid>> {
    let list = store.list_events(user).await?;
    Ok(list
        .active
        .into_iter()
        .chain(list.cancelled)
        .chain(list.active_instances.into_iter().map(|(u, _)| u))
        .chain(list.cancelled_instances.into_iter().map(|(u, _)| u))
        .collect())
}

/// The normalised addresses of every attendee the objects of `family` name (objects that do
/// not parse name nobody: the user's own run reports them).
fn named(family: &EventFamily) -> BTreeSet<String> {
    family
        .parent
        .iter()
        .chain(family.instances.iter().map(|(_, s)| s))
        .filter_map(|s| EventObject::parse(&s.text).ok())
        .flat_map(|o| {
            o.attendees()
                .iter()
                .map(|a| normalise_address(&a.address))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What the tables hold of the events expanded: `loaded` are the uids read (an event a table's
/// attendee is not named in has no periods there), `tables` per table index and uid the
/// expansion of the events that name its attendee (`None` for one that could not be expanded:
/// its rows are left alone).
struct Wanted {
    loaded: HashSet<Uid>,
    tables: Vec<HashMap<Uid, Option<Expansion>>>,
}

impl Wanted {
    /// The periods table `i` should hold of `uid`: `None` when they are not known (not read,
    /// or not expandable).
    fn of(&self, i: usize, uid: &Uid) -> Option<&[Period]> {
        match self.tables[i].get(uid) {
            Some(Some(exp)) => Some(&exp.periods),
            Some(None) => None,
            None if self.loaded.contains(uid) => Some(&[]),
            None => None,
        }
    }

    /// The uids whose periods in table `i` are known.
    fn known(&self, i: usize) -> impl Iterator<Item = &Uid> {
        self.tables[i]
            .iter()
            .filter(|(_, e)| e.is_some())
            .map(|(u, _)| u)
            .chain(
                self.loaded
                    .iter()
                    .filter(move |u| !self.tables[i].contains_key(*u)),
            )
    }
}

async fn expand_for<S: Store>(
    store: &S,
    user: &User,
    tables: &[Read],
    uids: &[Uid],
    opts: &ExpandOptions,
) -> Result<Wanted> {
    let by_address: HashMap<String, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, r)| (normalise_address(r.other.as_str()), i))
        .collect();
    let mut wanted = Wanted {
        loaded: HashSet::new(),
        tables: vec![HashMap::new(); tables.len()],
    };
    for chunk in uids.chunks(LOAD_CHUNK) {
        for family in store.load_events(user, chunk).await? {
            for address in named(&family) {
                let Some(&i) = by_address.get(&address) else {
                    continue;
                };
                let Some(attendee) = &tables[i].attendee else {
                    continue;
                };
                let exp = attendee_periods(attendee, &family, opts).ok();
                wanted.tables[i].insert(family.uid.clone(), exp);
            }
            wanted.loaded.insert(family.uid);
        }
    }
    Ok(wanted)
}

/// Brings every `freebusy-other` table of `user` to `opts.window_end`: only the rows of
/// `providers` (the events without end) when `full` is false, every row of an event with a
/// stored object when it is true. Called by [`super::regenerate`] before it records the window
/// end, so that the recorded horizon covers these tables too. Returns how many tables changed.
pub(super) async fn regenerate_others<S: Store>(
    store: &S,
    user: &User,
    providers: &[Uid],
    full: bool,
    opts: &ExpandOptions,
) -> Result<usize> {
    loop {
        let tables = read_tables(store, user).await?;
        if tables.is_empty() {
            return Ok(0);
        }
        let uids: Vec<Uid> = if full {
            stored_uids(store, user).await?.into_iter().collect()
        } else {
            providers.to_vec()
        };
        let wanted = expand_for(store, user, &tables, &uids, opts).await?;
        let mut step = Step::default();
        let mut writes = Vec::new();
        for (i, read) in tables.iter().enumerate() {
            // Rows of events not expanded now (other events on an extension, objects that
            // cannot be read, uids without any object) stay as they are.
            let mut rows: Vec<Period> = read
                .table
                .value
                .iter()
                .filter(|p| wanted.of(i, &p.uid).is_none())
                .cloned()
                .collect();
            for uid in wanted.known(i) {
                rows.extend(wanted.of(i, uid).unwrap_or_default().iter().cloned());
            }
            let rows = period::normalise(rows);
            let same = rows.len() == read.table.value.len()
                && rows
                    .iter()
                    .zip(&read.table.value)
                    .all(|(a, b)| a.same_details(b));
            if same {
                continue;
            }
            let table = Table::Other(read.other.clone());
            step.push(Change::Expect {
                table: table.clone(),
                version: read.table.version,
            });
            writes.push(Change::SetFreeBusy {
                table,
                periods: rows,
            });
        }
        if writes.is_empty() {
            return Ok(0);
        }
        let changed = writes.len();
        step.changes.extend(writes);
        match store.apply_step(user, &step).await {
            // An agent step wrote one of the tables meanwhile: compute again from what it wrote.
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(changed),
        }
    }
}

/// Compares every `freebusy-other` table of `user` with what a rebuild writes, with `opts`
/// (the window end is the table's horizon: rows of events without end are compared before it
/// only). Rows of a uid without any stored object are not compared.
///
/// # Errors
///
/// The store's errors reading the tables, the list or the objects.
pub async fn audit<S: Store>(
    store: &S,
    user: &User,
    opts: &ExpandOptions,
) -> Result<Vec<OtherFinding>> {
    let tables = read_tables(store, user).await?;
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let uids: Vec<Uid> = stored_uids(store, user).await?.into_iter().collect();
    let wanted = expand_for(store, user, &tables, &uids, opts).await?;
    let mut findings = Vec::new();
    for (i, read) in tables.iter().enumerate() {
        let mut have: BTreeMap<&Uid, Vec<&Period>> = BTreeMap::new();
        for p in &read.table.value {
            have.entry(&p.uid).or_default().push(p);
        }
        // Every event that names the attendee, and every event with rows here.
        let uids: BTreeSet<&Uid> = wanted
            .known(i)
            .chain(have.keys().copied().filter(|u| wanted.loaded.contains(*u)))
            .collect();
        for uid in uids {
            let (periods, unbounded) = match wanted.tables[i].get(uid) {
                Some(Some(exp)) => (exp.periods.as_slice(), exp.unbounded),
                // Not expandable: `check` reports the object itself.
                Some(None) => continue,
                None => (&[][..], false),
            };
            // At the occurrence cap, which occurrences are kept depends on the window.
            if periods.len() >= crate::recurrence::MAX_OCCURRENCES {
                continue;
            }
            let before = |p: &Period| !unbounded || p.start < opts.window_end;
            let mut w: Vec<&Period> = periods.iter().filter(|p| before(p)).collect();
            let mut g: Vec<&Period> = have
                .get(uid)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .copied()
                .filter(|p| before(p))
                .collect();
            w.sort();
            g.sort();
            let same = w.len() == g.len() && w.iter().zip(&g).all(|(a, b)| a.same_details(b));
            if !same {
                findings.push(OtherFinding {
                    other: read.other.clone(),
                    uid: uid.clone(),
                    expected: w.len(),
                    rows: g.len(),
                });
            }
        }
    }
    Ok(findings)
}
