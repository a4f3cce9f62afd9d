//! Counter-proposals: `counters/objects/<uid>/<other>` and
//! `counters/recurrences/<uid>/<rid>/<other>`, each the iCalendar text `other` proposed.

use calstore::object::EventObject;
use calstore::{Other, Result, Rid, Uid};

use crate::atomic;
use crate::errors;
use crate::layout;
use crate::lock;
use crate::objects::Owner;

impl Owner<'_> {
    fn what_counter(&self, uid: &Uid, rid: Option<&Rid>, other: Option<&Other>) -> String {
        let mut what = format!(
            "{}, counter-proposals for uid {:?}",
            self.what,
            uid.as_str()
        );
        if let Some(rid) = rid {
            what.push_str(&format!(" rid {rid}"));
        }
        if let Some(other) = other {
            what.push_str(&format!(" from {other}"));
        }
        what
    }

    /// Stores or replaces what `other` proposed (checked against uid and rid first).
    pub(crate) fn put_counter(
        &self,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        let what = self.what_counter(uid, rid, Some(other));
        self.settings
            .writable(&what, "storing a counter-proposal")?;
        EventObject::parse_for_key(text, uid, rid).map_err(|e| errors::in_context(&what, e))?;
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        let path = self.paths.counter(other, uid, rid);
        atomic::write_file(&path, text.as_bytes(), None, self.settings.modes, &what)?;
        Ok(())
    }

    /// What `other` proposed, if anything.
    pub(crate) fn get_counter(
        &self,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<String>> {
        let what = self.what_counter(uid, rid, Some(other));
        let path = self.paths.counter(other, uid, rid);
        Ok(atomic::read_optional(&path, &what)?.map(|(text, _)| text))
    }

    /// Who proposed something for (uid, rid).
    pub(crate) fn counter_proposers(&self, uid: &Uid, rid: Option<&Rid>) -> Result<Vec<Other>> {
        let what = self.what_counter(uid, rid, None);
        layout::list_keys(
            &self.paths.counter_dir(uid, rid),
            &what,
            false,
            Other::from_file_name,
        )
    }

    /// The instances of `uid` with at least one proposal.
    pub(crate) fn counter_rids(&self, uid: &Uid) -> Result<Vec<Rid>> {
        let what = self.what_counter(uid, None, None);
        let root = self.paths.counter_rids_dir(uid);
        let rids = layout::list_keys(&root, &what, true, Rid::from_file_name)?;
        Ok(rids
            .into_iter()
            .filter(|rid| layout::has_entries(&root.join(rid.file_name())))
            .collect())
    }

    /// Every proposal as (uid, rid, other), sorted.
    pub(crate) fn all_counters(&self) -> Result<Vec<(Uid, Option<Rid>, Other)>> {
        let what = format!("{}, counter-proposals", self.what);
        let _guard = lock::shared(&self.lock, self.settings, &what)?;
        let root = self.paths.base().join("counters");
        let mut out = Vec::new();
        for uid in layout::list_keys(&root.join("objects"), &what, true, Uid::from_file_name)? {
            for other in self.counter_proposers(&uid, None)? {
                out.push((uid.clone(), None, other));
            }
        }
        for uid in layout::list_keys(&root.join("recurrences"), &what, true, Uid::from_file_name)? {
            for rid in layout::list_keys(
                &self.paths.counter_rids_dir(&uid),
                &what,
                true,
                Rid::from_file_name,
            )? {
                for other in self.counter_proposers(&uid, Some(&rid))? {
                    out.push((uid.clone(), Some(rid.clone()), other));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes one proposal.
    pub(crate) fn remove_counter(
        &self,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<bool> {
        let what = self.what_counter(uid, rid, Some(other));
        self.settings
            .writable(&what, "removing a counter-proposal")?;
        let path = self.paths.counter(other, uid, rid);
        if !path.is_file() {
            return Ok(false);
        }
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        let removed = atomic::remove_file(&path, &what)?;
        atomic::remove_dir_if_empty(&self.paths.counter_dir(uid, rid));
        Ok(removed)
    }

    /// Removes the proposals for (uid, rid) — for the parent also every instance's — or only
    /// `only`'s; returns how many were removed.
    pub(crate) fn remove_counters(
        &self,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> Result<usize> {
        let what = self.what_counter(uid, rid, only);
        self.settings
            .writable(&what, "removing counter-proposals")?;
        if !self.paths.base().exists() {
            return Ok(0);
        }
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        let mut dirs = vec![self.paths.counter_dir(uid, rid)];
        if rid.is_none() {
            let root = self.paths.counter_rids_dir(uid);
            for r in layout::list_keys(&root, &what, true, Rid::from_file_name)? {
                dirs.push(self.paths.counter_dir(uid, Some(&r)));
            }
        }
        let mut removed = 0;
        for dir in dirs {
            match only {
                Some(other) => {
                    if atomic::remove_file(&dir.join(other.file_name()), &what)? {
                        removed += 1;
                    }
                    atomic::remove_dir_if_empty(&dir);
                }
                None => removed += atomic::remove_dir_files(&dir, &what)?,
            }
        }
        if rid.is_none() {
            atomic::remove_dir_if_empty(&self.paths.counter_rids_dir(uid));
        }
        Ok(removed)
    }
}
