//! Building a quota's configuration tables (limits, groups, delegates) from text, as an operator
//! types them (`calstore quota`): every value validated the way the journal validates it, so a
//! bad one is refused before anything is written, whatever the backend.

use std::collections::BTreeMap;

use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::id::{Group, User};

use super::Limits;

/// Limits from `(group, duration)` pairs such as `("staff", "PT10H")` or `("*", "P1D")`.
/// The duration is kept as given (trimmed), as the journal keeps it.
///
/// # Errors
///
/// Invalid input, naming the pair, when a group is not a valid key, a duration is not an
/// iCalendar duration (or is negative), or a group is named twice.
pub fn limits_from<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Limits> {
    let mut limits = Limits::new();
    for (group, duration) in pairs {
        let what = format!("limit {group}={duration}");
        let g = Group::new(group).map_err(|e| e.context(&what))?;
        let d = duration.trim();
        let parsed = parse_duration(d).map_err(|e| e.context(&what))?;
        if parsed < chrono::Duration::zero() {
            return Err(Error::invalid(format!(
                "{what}: a limit cannot be negative"
            )));
        }
        if limits.insert(g, d.to_owned()).is_some() {
            return Err(Error::invalid(format!("{what}: group {group} named twice")));
        }
    }
    Ok(limits)
}

/// The user → group mapping from `(user, group)` pairs; users normalised with [`User::new`].
///
/// # Errors
///
/// Invalid input, naming the pair, when a user or group is not valid, or one user is named
/// twice (in any spelling).
pub fn groups_from<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<BTreeMap<User, Group>> {
    let mut groups = BTreeMap::new();
    for (user, group) in pairs {
        let what = format!("group {user}={group}");
        let u = User::new(user).map_err(|e| e.context(&what))?;
        let g = Group::new(group).map_err(|e| e.context(&what))?;
        if groups.insert(u.clone(), g).is_some() {
            return Err(Error::invalid(format!("{what}: user {u} named twice")));
        }
    }
    Ok(groups)
}

/// The delegates from addresses, normalised with [`User::new`], sorted, each once.
///
/// # Errors
///
/// Invalid input, naming the address, when one is not a valid user.
pub fn delegates_from<'a>(users: impl IntoIterator<Item = &'a str>) -> Result<Vec<User>> {
    let mut out = users
        .into_iter()
        .map(|u| User::new(u).map_err(|e| e.context(format!("delegate {u}"))))
        .collect::<Result<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ErrorKind;

    #[test]
    fn limits_keep_the_duration_and_refuse_bad_ones() {
        let l = limits_from([("staff", "PT10H"), ("*", " P1D ")]).unwrap();
        assert_eq!(l[&Group::new("staff").unwrap()], "PT10H");
        assert_eq!(l[&Group::new("*").unwrap()], "P1D");
        for bad in [("staff", "10h"), ("staff", "-PT1H"), ("", "PT1H")] {
            let e = limits_from([bad]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        let twice = limits_from([("a", "PT1H"), ("a", "PT2H")]).unwrap_err();
        assert!(twice.message().contains("twice"), "{}", twice.message());
    }

    #[test]
    fn groups_and_delegates_normalise_users() {
        let g = groups_from([("Alice@Example.com", "staff")]).unwrap();
        assert_eq!(
            g.keys().next().unwrap().as_str(),
            "mailto:alice@example.com"
        );
        let twice = groups_from([
            ("alice@example.com", "a"),
            ("mailto:ALICE@example.com", "b"),
        ]);
        assert_eq!(twice.unwrap_err().kind(), ErrorKind::InvalidInput);
        let d = delegates_from(["b@example.com", "A@example.com", "mailto:b@example.com"]).unwrap();
        let d: Vec<&str> = d.iter().map(User::as_str).collect();
        assert_eq!(d, ["mailto:a@example.com", "mailto:b@example.com"]);
    }
}
