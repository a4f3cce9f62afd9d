//! Preferences: `PREFERENCES/<user>/<name>`, one setting per file holding its UTF-8 value exactly
//! (no newline added). A value read from a file that ends in one line break (as an administrator's
//! `echo TZ > TZID` leaves it) is returned without that line break; for the same reason a value
//! that itself ends in a line break is refused when set. Each setting is one atomic file
//! replacement, so no lock is needed.

use std::collections::BTreeMap;

use calstore::{Error, PrefName, Result, User};

use crate::atomic;
use crate::layout;
use crate::options::Settings;

fn what_prefs(user: &User) -> String {
    format!("user {user}, preferences")
}

fn strip_line_break(mut value: String) -> String {
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    value
}

/// Every preference of the user.
///
/// # Errors
///
/// Corrupt data for a name that is not an encoded key or a value that is not UTF-8.
pub(crate) fn all(settings: &Settings, user: &User) -> Result<BTreeMap<PrefName, String>> {
    let what = what_prefs(user);
    let dir = layout::user_dir(&settings.root, user);
    // No lock guards preferences, so the link check the locks do is done here.
    layout::refuse_links(&settings.root, &dir, &what)?;
    let mut out = BTreeMap::new();
    for name in layout::list_keys(&dir, &what, false, PrefName::from_file_name)? {
        if let Some((value, _)) = atomic::read_optional(&dir.join(name.file_name()), &what)? {
            out.insert(name, strip_line_break(value));
        }
    }
    Ok(out)
}

/// One preference.
///
/// # Errors
///
/// Corrupt data for a value that is not UTF-8.
pub(crate) fn get(settings: &Settings, user: &User, name: &PrefName) -> Result<Option<String>> {
    let what = format!("{}, {name}", what_prefs(user));
    let path = layout::user_dir(&settings.root, user).join(name.file_name());
    layout::refuse_links(&settings.root, &path, &what)?;
    Ok(atomic::read_optional(&path, &what)?.map(|(v, _)| strip_line_break(v)))
}

/// Sets or removes one preference.
///
/// # Errors
///
/// Read-only; invalid input for a value with a NUL or ending in a line break.
pub(crate) fn set(
    settings: &Settings,
    user: &User,
    name: &PrefName,
    value: Option<&str>,
) -> Result<()> {
    let what = format!("{}, {name}", what_prefs(user));
    settings.writable(&what, "setting a preference")?;
    let path = layout::user_dir(&settings.root, user).join(name.file_name());
    layout::refuse_links(&settings.root, &path, &what)?;
    match value {
        Some(v) if v.contains('\0') => Err(Error::invalid(format!(
            "{what}: the value must not contain a NUL character"
        ))),
        Some(v) if v.ends_with('\n') || v.ends_with('\r') => Err(Error::invalid(format!(
            "{what}: the value must not end with a line break"
        ))),
        Some(v) => atomic::write_file(&path, v.as_bytes(), None, settings.modes, &what).map(|_| ()),
        None => atomic::remove_file(&path, &what).map(|_| ()),
    }
}
