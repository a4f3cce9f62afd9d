//! Stored objects: `objects/<uid>`, `recurrences/<uid>/<rid>` and their moved-aside copies under
//! `cancellations/`, shared by the store (per user) and the journal (per quota, which never
//! cancels). Each function takes the lock of the directory's owner: exclusive to change, shared
//! to read several files consistently.

use std::path::{Path, PathBuf};

use calstore::object::EventObject;
use calstore::store::EventFamily;
use calstore::{Error, EventList, EventStatus, Result, Rid, StoredEvent, Uid};

use crate::atomic;
use crate::errors;
use crate::layout::{self, EventPaths};
use crate::lock;
use crate::options::Settings;

/// Where one owner's objects are and how to lock them.
pub(crate) struct Owner<'a> {
    pub settings: &'a Settings,
    pub paths: EventPaths,
    pub lock: PathBuf,
    /// "user mailto:alice@example.com" or "quota rooms".
    pub what: String,
}

fn describe(uid: &Uid, rid: Option<&Rid>) -> String {
    match rid {
        None => format!("uid {:?}", uid.as_str()),
        Some(rid) => format!("uid {:?} rid {rid}", uid.as_str()),
    }
}

impl Owner<'_> {
    fn what_event(&self, uid: &Uid, rid: Option<&Rid>) -> String {
        format!("{}, {}", self.what, describe(uid, rid))
    }

    /// Stores the event as active (checked against its key first), then removes any cancelled
    /// copy. A crash in between leaves both; the active copy then wins everywhere.
    pub(crate) fn put_event(&self, uid: &Uid, rid: Option<&Rid>, text: &str) -> Result<()> {
        let what = self.what_event(uid, rid);
        self.settings.writable(&what, "storing an event")?;
        EventObject::parse_for_key(text, uid, rid).map_err(|e| errors::in_context(&what, e))?;
        self.put_checked_event(uid, rid, text)
    }

    /// [`Owner::put_event`] of a text already checked against its key (a step's, checked by
    /// [`calstore::Step::check`] before anything was written): the parse is not repeated.
    pub(crate) fn put_checked_event(&self, uid: &Uid, rid: Option<&Rid>, text: &str) -> Result<()> {
        let what = self.what_event(uid, rid);
        self.settings.writable(&what, "storing an event")?;
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        let active = self.paths.event(uid, rid, false);
        atomic::write_file(&active, text.as_bytes(), None, self.settings.modes, &what)?;
        atomic::remove_file(&self.paths.event(uid, rid, true), &what)?;
        Ok(())
    }

    /// The active copy, else the cancelled one.
    pub(crate) fn get_event(&self, uid: &Uid, rid: Option<&Rid>) -> Result<Option<StoredEvent>> {
        let what = self.what_event(uid, rid);
        let _guard = lock::shared(&self.lock, self.settings, &what)?;
        self.read_event(uid, rid, &what)
    }

    /// [`Owner::get_event`] for a caller holding the lock.
    fn read_event(&self, uid: &Uid, rid: Option<&Rid>, what: &str) -> Result<Option<StoredEvent>> {
        for (cancelled, status) in [(false, EventStatus::Active), (true, EventStatus::Cancelled)] {
            let path = self.paths.event(uid, rid, cancelled);
            if let Some((text, _)) = atomic::read_optional(&path, what)? {
                return Ok(Some(StoredEvent { text, status }));
            }
        }
        Ok(None)
    }

    /// Every stored object of each uid, under one shared lock: one consistent view, and one lock
    /// and one thread hop for the lot instead of two per object.
    pub(crate) fn load_events(&self, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        let what = format!("{}, objects", self.what);
        let _guard = lock::shared(&self.lock, self.settings, &what)?;
        // Which uids have instance directories, from one listing of each root, instead of
        // probing two absent directories per event (issue 21: one open per object).
        let mut with_instances = std::collections::HashSet::new();
        for cancelled in [false, true] {
            let root = self.paths.recurrences_root(cancelled);
            with_instances.extend(
                layout::list_dir(&root, &what)?
                    .into_iter()
                    .map(|(name, _)| name),
            );
        }
        let mut out = Vec::with_capacity(uids.len());
        for uid in uids {
            let what = self.what_event(uid, None);
            let parent = self.read_event(uid, None, &what)?;
            let mut instances = Vec::new();
            let listed = if with_instances.contains(&uid.file_name()) {
                self.list_instances(uid, &what)?
            } else {
                Vec::new()
            };
            for (rid, _) in listed {
                if let Some(stored) = self.read_event(uid, Some(&rid), &what)? {
                    instances.push((rid, stored));
                }
            }
            out.push(EventFamily {
                uid: uid.clone(),
                parent,
                instances,
            });
        }
        Ok(out)
    }

    /// Removes the active and cancelled copies; for a parent also every instance.
    pub(crate) fn remove_event(&self, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        let what = self.what_event(uid, rid);
        self.settings.writable(&what, "removing an event")?;
        if !self.paths.base().exists() {
            return Ok(false);
        }
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        let mut removed = false;
        for cancelled in [false, true] {
            let path = self.paths.event(uid, rid, cancelled);
            removed |= atomic::remove_file(&path, &what)?;
            if rid.is_some() {
                if let Some(dir) = path.parent() {
                    atomic::remove_dir_if_empty(dir);
                }
            } else {
                let dir = self.paths.recurrence_dir(uid, cancelled);
                removed |= atomic::remove_dir_files(&dir, &what)? > 0;
            }
        }
        Ok(removed)
    }

    /// Moves the active copy aside (`cancel`) or back (`!cancel`).
    pub(crate) fn move_event(&self, uid: &Uid, rid: Option<&Rid>, cancel: bool) -> Result<()> {
        let what = self.what_event(uid, rid);
        let operation = if cancel { "cancelling" } else { "uncancelling" };
        self.settings.writable(&what, operation)?;
        let (from, to) = (
            self.paths.event(uid, rid, !cancel),
            self.paths.event(uid, rid, cancel),
        );
        if !from.is_file() {
            return Err(self.not_there(&what, cancel, &from));
        }
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        if !cancel && to.is_file() {
            // Both copies exist only after a crash inside `put_event`: the active one is newer.
            atomic::remove_file(&from, &what)?;
            return Ok(());
        }
        if atomic::move_file(&from, &to, self.settings.modes, &what)? {
            if let Some(dir) = from.parent().filter(|_| rid.is_some()) {
                atomic::remove_dir_if_empty(dir);
            }
            Ok(())
        } else {
            Err(self.not_there(&what, cancel, &from))
        }
    }

    fn not_there(&self, what: &str, cancel: bool, path: &Path) -> Error {
        Error::not_found(format!(
            "{what}: there is no {} copy to {} ({})",
            if cancel { "active" } else { "cancelled" },
            if cancel { "cancel" } else { "uncancel" },
            path.display()
        ))
    }

    /// Every object, by kind.
    pub(crate) fn list_events(&self) -> Result<EventList> {
        let what = format!("{}, objects", self.what);
        let _guard = lock::shared(&self.lock, self.settings, &what)?;
        let mut list = EventList::default();
        for cancelled in [false, true] {
            let parents = layout::list_keys(
                &self.paths.objects_dir(cancelled),
                &what,
                false,
                Uid::from_file_name,
            )?;
            let mut instances = Vec::new();
            let root = self.paths.recurrences_root(cancelled);
            for uid in layout::list_keys(&root, &what, true, Uid::from_file_name)? {
                let dir = self.paths.recurrence_dir(&uid, cancelled);
                for rid in layout::list_keys(&dir, &what, false, Rid::from_file_name)? {
                    instances.push((uid.clone(), rid));
                }
            }
            instances.sort();
            if cancelled {
                list.cancelled = parents;
                list.cancelled_instances = instances;
            } else {
                list.active = parents;
                list.active_instances = instances;
            }
        }
        Ok(list)
    }

    /// The instances of one event with their status (an instance present in both places, only
    /// after a crash, is reported active).
    pub(crate) fn instances(&self, uid: &Uid) -> Result<Vec<(Rid, EventStatus)>> {
        let what = self.what_event(uid, None);
        let _guard = lock::shared(&self.lock, self.settings, &what)?;
        self.list_instances(uid, &what)
    }

    /// [`Owner::instances`] for a caller holding the lock.
    fn list_instances(&self, uid: &Uid, what: &str) -> Result<Vec<(Rid, EventStatus)>> {
        let active = layout::list_keys(
            &self.paths.recurrence_dir(uid, false),
            what,
            false,
            Rid::from_file_name,
        )?;
        let cancelled = layout::list_keys(
            &self.paths.recurrence_dir(uid, true),
            what,
            false,
            Rid::from_file_name,
        )?;
        let mut all: Vec<(Rid, EventStatus)> = active
            .iter()
            .map(|r| (r.clone(), EventStatus::Active))
            .chain(
                cancelled
                    .into_iter()
                    .filter(|r| active.binary_search(r).is_err())
                    .map(|r| (r, EventStatus::Cancelled)),
            )
            .collect();
        all.sort();
        Ok(all)
    }
}
