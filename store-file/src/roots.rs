//! Where the parts of a file store live: the store root, its preferences root and its journal
//! root, recorded in the store when it is created and read back when it is opened, so that two
//! stores never share preferences or a journal unless told to.
//!
//! The record is `STORE/.calstore-layout`, two TAB-separated lines (`preferences PATH`,
//! `journal PATH`), a path relative to the store root when the part is beside it
//! (`../preferences`), else absolute. Without a record, a store root named `store` uses
//! imip-agent's layout (`../preferences`, `../journal`); any other root `X/NAME` uses
//! `X/NAME-preferences` and `X/NAME-journal`, so the siblings `X/a` and `X/b` keep apart.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use calstore::{Error, ErrorKind, Result};

/// The name of the layout record in the store root (a dot name: never a key).
pub const LAYOUT_FILE: &str = ".calstore-layout";

/// Where a file store's preferences and journal live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLayout {
    /// The preferences root.
    pub preferences: PathBuf,
    /// The journal root.
    pub journal: PathBuf,
}

impl StoreLayout {
    /// The layout a store at `store_root` gets when nothing is recorded or named: imip-agent's
    /// (`../preferences`, `../journal`) for a root named `store`, else `NAME-preferences` and
    /// `NAME-journal` beside the root.
    pub fn default_for(store_root: &Path) -> StoreLayout {
        // The name of the real directory (`.` is named after the one it stands for); the
        // parts are named on the path's text, as given.
        let real = clean(store_root);
        let name = real.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let parent = store_root
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if name == "store" {
            StoreLayout {
                preferences: parent.join("preferences"),
                journal: parent.join("journal"),
            }
        } else {
            StoreLayout {
                preferences: parent.join(format!("{name}-preferences")),
                journal: parent.join(format!("{name}-journal")),
            }
        }
    }

    /// The layout recorded in the store at `store_root`, if any.
    ///
    /// # Errors
    ///
    /// Corrupt data when the record cannot be read or does not name both parts.
    pub fn recorded(store_root: &Path) -> Result<Option<StoreLayout>> {
        if !store_root.is_dir() {
            // No store there (or a file): nothing recorded; opening says what is wrong.
            return Ok(None);
        }
        let path = store_root.join(LAYOUT_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("cannot read the store's layout {}: {e}", path.display()),
                ))
            }
        };
        let mut preferences = None;
        let mut journal = None;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let resolve = |p: &str| clean(&store_root.join(p));
            match line.split_once('\t') {
                Some(("preferences", p)) => preferences = Some(resolve(p)),
                Some(("journal", p)) => journal = Some(resolve(p)),
                _ => {}
            }
        }
        match (preferences, journal) {
            (Some(preferences), Some(journal)) => Ok(Some(StoreLayout {
                preferences,
                journal,
            })),
            _ => Err(Error::corrupt(format!(
                "{} does not name both the preferences and the journal root",
                path.display()
            ))),
        }
    }

    /// Records the layout in the store at `store_root` (which must exist), replacing the
    /// file atomically.
    ///
    /// # Errors
    ///
    /// Unavailable when the file cannot be written.
    pub fn record(&self, store_root: &Path) -> Result<()> {
        let text = format!(
            "# Where this calstore file store keeps its parts (read when the store is opened).\n\
             preferences\t{}\njournal\t{}\n",
            relative_to(store_root, &self.preferences).display(),
            relative_to(store_root, &self.journal).display()
        );
        let path = store_root.join(LAYOUT_FILE);
        let failed = |e: std::io::Error| {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "cannot record the store's layout in {}: {e}",
                    path.display()
                ),
            )
        };
        let tmp = store_root.join(format!("{LAYOUT_FILE}.tmp"));
        let mut file = std::fs::File::create(&tmp).map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&tmp, &path).map_err(failed)
    }
}

/// `part` as written in the record: `../NAME` when it is beside the store root, else absolute.
fn relative_to(store_root: &Path, part: &Path) -> PathBuf {
    let root = clean(store_root);
    let part = clean(part);
    match (root.parent(), part.parent(), part.file_name()) {
        (Some(a), Some(b), Some(name)) if a == b => Path::new("..").join(name),
        _ => part,
    }
}

/// An absolute form of `path` without `.` or `..` components: the longest existing ancestor
/// resolved through the file system (so a link or `.` names the real place), the rest
/// cleaned as text.
pub fn clean(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lexical = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(name) => rest.push(name.to_owned()),
            None => break,
        }
        if !existing.pop() {
            break;
        }
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    out.extend(rest.iter().rev());
    out
}

/// Refuses roots that collide: each pair must be two places neither of which holds the other
/// (a store inside its preferences root would list its own users as preferences, and one
/// holding its journal would list quotas as users).
///
/// # Errors
///
/// Invalid input naming the two roots.
pub fn check_apart(roots: &[(&str, &Path)]) -> Result<()> {
    for (i, (a_name, a)) in roots.iter().enumerate() {
        for (b_name, b) in &roots[i + 1..] {
            let (ca, cb) = (clean(a), clean(b));
            let relation = if ca == cb {
                "is the same directory as"
            } else if cb.starts_with(&ca) {
                "contains"
            } else if ca.starts_with(&cb) {
                "is inside"
            } else {
                continue;
            };
            return Err(Error::invalid(format!(
                "the {a_name} root {} {relation} the {b_name} root {}: each part needs a directory of its own (name them with --store, --preferences and --journal)",
                a.display(),
                b.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn imip_agent_layout_for_store_siblings_apart_otherwise() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path();
        let imip = StoreLayout::default_for(&d.path().join("store"));
        assert_eq!(imip.preferences, base.join("preferences"));
        assert_eq!(imip.journal, base.join("journal"));
        let a = StoreLayout::default_for(&d.path().join("a"));
        let b = StoreLayout::default_for(&d.path().join("b"));
        assert_eq!(a.preferences, base.join("a-preferences"));
        assert_ne!(a.journal, b.journal);
    }

    #[test]
    fn a_recorded_layout_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("tenant");
        std::fs::create_dir(&root).unwrap();
        assert_eq!(StoreLayout::recorded(&root).unwrap(), None);
        let layout = StoreLayout {
            preferences: clean(&d.path().join("prefs")),
            journal: PathBuf::from("/elsewhere/journal"),
        };
        layout.record(&root).unwrap();
        let text = std::fs::read_to_string(root.join(LAYOUT_FILE)).unwrap();
        assert!(text.contains("preferences\t../prefs\n"), "{text}");
        assert_eq!(StoreLayout::recorded(&root).unwrap(), Some(layout));
    }

    #[test]
    fn colliding_roots_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        assert!(check_apart(&[
            ("store", &p.join("store")),
            ("preferences", &p.join("preferences"))
        ])
        .is_ok());
        for (store, prefs) in [
            (p.join("x"), p.join("x")),
            (p.join("x"), p.join("x/preferences")),
            (p.join("x/preferences/store"), p.join("x/preferences")),
            (p.join("."), p.join("./preferences")),
            (p.join("x/../y"), p.join("y")),
        ] {
            let e = check_apart(&[("store", &store), ("preferences", &prefs)]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{store:?} {prefs:?}");
        }
    }
}
