//! The operations on one period table under its owner's lock, shared by the store's free/busy
//! tables and the journal's usage tables: reads (whole or by range, without a lock: a table file is
//! never changed in place, so an open file is a consistent snapshot), and changes under the
//! exclusive lock, each one conditional on an optional expected version.

use std::collections::HashSet;
use std::path::PathBuf;

use calstore::id::rid_text;
use calstore::period::{capacity_conflicts, check_event, check_uids, escape_field, normalise};
use calstore::{Error, Period, Result, Rid, Uid, Version, Versioned};
use chrono::{DateTime, Duration, Utc};

use crate::line::LineView;
use crate::lock;
use crate::options::Settings;
use crate::table::{Change, TableFile};
use crate::version;

/// A table with the lock that guards it.
pub(crate) struct LockedTable<'a> {
    pub settings: &'a Settings,
    pub lock: PathBuf,
    pub table: TableFile,
}

/// A selection that keeps every line except those of (uid, rid).
fn keep_others(uid: &Uid, rid: Option<&Rid>) -> impl Fn(&LineView<'_>) -> bool {
    let (uid_field, rid_field) = (escape_field(uid.as_str()), rid_text(rid).to_owned());
    move |v: &LineView<'_>| !(v.uid_is(&uid_field) && v.rid() == rid_field)
}

/// How many offending periods a conflict message lists.
const LISTED: usize = 3;

fn list_periods(periods: &[Period]) -> String {
    let mut text: Vec<String> = periods
        .iter()
        .take(LISTED)
        .map(ToString::to_string)
        .collect();
    if periods.len() > LISTED {
        text.push(format!("and {} more", periods.len() - LISTED));
    }
    text.join(", ")
}

impl LockedTable<'_> {
    fn what(&self) -> &str {
        &self.table.what
    }

    /// The table's version without reading it.
    pub(crate) fn version(&self) -> Result<Version> {
        version::of_path(&self.table.path, self.what())
    }

    /// The whole table. Expired offers are left out; a writable handle also purges them when the
    /// lock is free at once (cheap, and never waiting).
    pub(crate) fn read(&self, now: DateTime<Utc>) -> Result<Versioned<Vec<Period>>> {
        let read = self.table.read_all(self.settings, now)?;
        let mut version = read.version;
        if read.expired > 0 && !self.settings.read_only {
            if let Some(_guard) = lock::try_exclusive(&self.lock, self.what())? {
                let purged = self.table.change(
                    self.settings,
                    Change {
                        expect: Some(read.version),
                        read_old: true,
                        keep: &|_| true,
                        insert: Vec::new(),
                        now,
                    },
                );
                if let Ok(outcome) = purged {
                    version = outcome.version;
                }
            }
        }
        Ok(Versioned {
            value: read.periods,
            version,
        })
    }

    /// The periods overlapping [start, end).
    pub(crate) fn read_range(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        let (value, version) = self.table.read_range(self.settings, start, end, now)?;
        Ok(Versioned { value, version })
    }

    /// Runs a change under the exclusive lock. A change that inserts nothing into a table that
    /// does not exist is answered without creating the owner's directory or lock.
    fn change(
        &self,
        operation: &str,
        expect: Option<Version>,
        read_old: bool,
        keep: &dyn Fn(&LineView<'_>) -> bool,
        insert: Vec<Period>,
    ) -> Result<(Version, usize)> {
        self.settings.writable(self.what(), operation)?;
        if insert.is_empty() && !self.table.path().exists() {
            version::check(expect, Version(0), self.what())?;
            return Ok((Version(0), 0));
        }
        let _guard = lock::exclusive(&self.lock, self.settings, self.what())?;
        let outcome = self.table.change(
            self.settings,
            Change {
                expect,
                read_old,
                keep,
                insert,
                now: Utc::now(),
            },
        )?;
        Ok((outcome.version, outcome.removed))
    }

    fn checked(&self, periods: &[Period]) -> Result<()> {
        for p in periods {
            p.validate().map_err(|e| e.context(self.what()))?;
        }
        Ok(())
    }

    /// Replaces the whole table.
    pub(crate) fn set(&self, periods: Vec<Period>, expect: Option<Version>) -> Result<Version> {
        self.checked(&periods)?;
        let periods = normalise(periods);
        Ok(self
            .change("replacing the table", expect, false, &|_| false, periods)?
            .0)
    }

    /// Replaces the periods of (uid, rid).
    pub(crate) fn replace_event(
        &self,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        check_event(uid, rid, &periods).map_err(|e| e.context(self.what()))?;
        let keep = keep_others(uid, rid);
        Ok(self
            .change("replacing an event's periods", expect, true, &keep, periods)?
            .0)
    }

    /// Replaces the periods of (uid, rid) (already checked to belong to it); the caller holds
    /// the exclusive lock.
    pub(crate) fn replace_event_locked(
        &self,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let keep = keep_others(uid, rid);
        let outcome = self.table.change(
            self.settings,
            Change {
                expect,
                read_old: true,
                keep: &keep,
                insert: periods,
                now: Utc::now(),
            },
        )?;
        Ok(outcome.version)
    }

    /// Removes every period of the uids in `uids` (parents and instances) and inserts `periods`,
    /// in one streaming rewrite: one uid for the agent's update, many for the import's batches.
    pub(crate) fn replace_uids(&self, uids: &[Uid], periods: Vec<Period>) -> Result<Version> {
        check_uids(uids, &periods).map_err(|e| e.context(self.what()))?;
        let fields: HashSet<String> = uids.iter().map(|u| escape_field(u.as_str())).collect();
        let keep = move |v: &LineView<'_>| !fields.contains(v.field(2));
        Ok(self
            .change(
                "replacing the periods of events",
                None,
                true,
                &keep,
                periods,
            )?
            .0)
    }

    /// Removes the periods of (uid, rid).
    pub(crate) fn remove_event(
        &self,
        uid: &Uid,
        rid: Option<&Rid>,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.replace_event(uid, rid, Vec::new(), expect)
    }

    /// Removes the instance periods of `uid` whose rid is not in `keep`.
    pub(crate) fn remove_additional(
        &self,
        uid: &Uid,
        keep_rids: &[Rid],
        expect: Option<Version>,
    ) -> Result<Version> {
        let uid_field = escape_field(uid.as_str());
        let keep = move |v: &LineView<'_>| {
            !(v.uid_is(&uid_field)
                && !v.rid().is_empty()
                && !keep_rids.iter().any(|r| r.as_str() == v.rid()))
        };
        Ok(self
            .change("removing instance periods", expect, true, &keep, Vec::new())?
            .0)
    }

    /// Removes the first (in table order) parent period of `uid` that starts at `start`.
    pub(crate) fn remove_affected(
        &self,
        uid: &Uid,
        start: DateTime<Utc>,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.settings
            .writable(self.what(), "removing a rule-generated period")?;
        if !self.table.path().exists() {
            version::check(expect, Version(0), self.what())?;
            return Ok(Version(0));
        }
        let _guard = lock::exclusive(&self.lock, self.settings, self.what())?;
        let now = Utc::now();
        let near = self
            .table
            .read_range(self.settings, start, start + Duration::seconds(1), now)?
            .0;
        let Some(target) = near
            .into_iter()
            .find(|p| p.start == start && &p.uid == uid && p.rid.is_none())
        else {
            let current = version::of_path(self.table.path(), self.what())?;
            version::check(expect, current, self.what())?;
            return Ok(current);
        };
        let uid_field = escape_field(uid.as_str());
        let keep = move |v: &LineView<'_>| {
            !(v.start == target.start
                && v.end == target.end
                && v.uid_is(&uid_field)
                && v.rid().is_empty())
        };
        let outcome = self.table.change(
            self.settings,
            Change {
                expect,
                read_old: true,
                keep: &keep,
                insert: Vec::new(),
                now,
            },
        )?;
        Ok(outcome.version)
    }

    /// Checks capacity and replaces the event's periods in one step under the lock.
    pub(crate) fn reserve(
        &self,
        periods: Vec<Period>,
        capacity: usize,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.settings.writable(self.what(), "reserving")?;
        let Some(first) = periods.first() else {
            // Nothing to reserve: the table stays as it is.
            let current = version::of_path(self.table.path(), self.what())?;
            version::check(expect, current, self.what())?;
            return Ok(current);
        };
        let (uid, rid) = (first.uid.clone(), first.rid.clone());
        check_event(&uid, rid.as_ref(), &periods).map_err(|e| e.context(self.what()))?;
        let _guard = lock::exclusive(&self.lock, self.settings, self.what())?;
        let current = version::of_path(self.table.path(), self.what())?;
        version::check(expect, current, self.what())?;
        let now = Utc::now();
        let mut near = Vec::new();
        for c in periods.iter().filter(|c| c.is_busy()) {
            near.extend(self.table.read_range(self.settings, c.start, c.end, now)?.0);
        }
        let offending = capacity_conflicts(&normalise(near), &periods, capacity);
        if !offending.is_empty() {
            return Err(Error::busy(format!(
                "{}: uid {:?} cannot be reserved: with capacity {} it would overlap {}; nothing was written",
                self.what(),
                uid.as_str(),
                capacity.max(1),
                list_periods(&offending)
            )));
        }
        self.replace_event_locked(&uid, rid.as_ref(), periods, Some(current))
    }

    /// Removes the periods that ended at or before `before`; the caller holds the lock.
    pub(crate) fn expire_locked(&self, before: DateTime<Utc>) -> Result<usize> {
        let keep = move |v: &LineView<'_>| v.end > before;
        let outcome = self.table.change(
            self.settings,
            Change {
                expect: None,
                read_old: true,
                keep: &keep,
                insert: Vec::new(),
                now: Utc::now(),
            },
        )?;
        Ok(outcome.removed)
    }
}
