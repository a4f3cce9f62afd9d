//! A resource's policy, read from its preferences (docs/resources.md has the table).
//!
//! Two vocabularies meet here: CalendarServer's `auto_schedule_mode` (what to do with free and
//! busy occurrences) and imip-agent's `scheduling_function` chain (capacity, identity controls,
//! quota, permitted times), plus Exchange-like limits (booking window, maximum duration,
//! series allowed, conflicts tolerated).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveTime};

use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::id::{Quota, User};
use crate::object::same_address;
use crate::store::Store;

/// The preference names that make a user a resource.
pub const PREFERENCES: [&str; 6] = [
    "auto_schedule_mode",
    "scheduling_function",
    "booking_window",
    "max_duration",
    "allow_recurring",
    "max_conflicts",
];

/// CalendarServer's auto-schedule modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Nothing is decided: the request is queued for a person.
    None,
    /// Every occurrence accepted, busy or not.
    AcceptAlways,
    /// Every occurrence declined.
    DeclineAlways,
    /// Free occurrences accepted, the others left for a person.
    AcceptIfFree,
    /// Busy occurrences declined, free ones left for a person.
    DeclineIfBusy,
    /// Free occurrences accepted, busy ones declined (imip-agent's default).
    #[default]
    Automatic,
}

impl Mode {
    /// Parses a mode name (`none`, `accept-always`, `decline-always`, `accept-if-free`,
    /// `decline-if-busy`, `automatic`; `default` is `automatic`).
    ///
    /// # Errors
    ///
    /// Invalid input for any other name.
    pub fn parse(value: &str) -> Result<Mode> {
        Ok(match value.trim().to_ascii_lowercase().as_str() {
            "none" => Mode::None,
            "accept-always" => Mode::AcceptAlways,
            "decline-always" => Mode::DeclineAlways,
            "accept-if-free" => Mode::AcceptIfFree,
            "decline-if-busy" => Mode::DeclineIfBusy,
            "automatic" | "default" => Mode::Automatic,
            other => {
                return Err(Error::invalid(format!(
                    "auto_schedule_mode {other:?} is not one of none, accept-always, \
                     decline-always, accept-if-free, decline-if-busy, automatic"
                )))
            }
        })
    }
}

/// One rule of an access list: who it matches and whether it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    /// Allow (true) or deny (false).
    pub allow: bool,
    /// A full address (`mailto:bob@example.com`), a domain (`@example.com`) or `*`.
    pub pattern: String,
}

impl AccessRule {
    fn matches(&self, organiser: &str) -> bool {
        if self.pattern == "*" {
            return true;
        }
        match self.pattern.strip_prefix('@') {
            Some(domain) => domain_of(organiser).eq_ignore_ascii_case(domain),
            None => same_address(&self.pattern, organiser),
        }
    }
}

/// The domain of an address (`mailto:` and case ignored).
fn domain_of(address: &str) -> &str {
    address.rsplit('@').next().unwrap_or("")
}

/// What a resource does with a request, from its preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The mode.
    pub mode: Mode,
    /// How many bookings may hold one instant (`schedule_in_freebusy N`; 1 by default).
    pub capacity: usize,
    /// Only organisers of the resource's own domain may book (`same_domain_only`).
    pub same_domain_only: bool,
    /// Allow and deny rules, first match wins; none matching denies when the list is not empty
    /// (`access_control allow @example.com deny mailto:x@example.com`).
    pub access: Vec<AccessRule>,
    /// The quota charged (`check_quota QUOTA` or `schedule_across_quota QUOTA`).
    pub quota: Option<Quota>,
    /// Daily times within which an occurrence must lie, in the resource's zone
    /// (`permitted_times 08:00-18:00`).
    pub permitted_times: Option<(NaiveTime, NaiveTime)>,
    /// How far ahead an occurrence may start (`booking_window`, an iCalendar duration or days).
    pub booking_window: Option<Duration>,
    /// The longest occurrence (`max_duration`).
    pub max_duration: Option<Duration>,
    /// Whether recurring events are taken (`allow_recurring`, true by default).
    pub allow_recurring: bool,
    /// How many occurrences of a series may be busy before the whole series is refused
    /// (`max_conflicts`; unlimited by default: each occurrence is decided on its own).
    pub max_conflicts: Option<usize>,
    /// The quota whose delegates take a request this resource cannot
    /// (`delegate_to_free [QUOTA]`, the quota of `check_quota` when none is named).
    pub delegate: Option<Quota>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Automatic,
            capacity: 1,
            same_domain_only: false,
            access: Vec::new(),
            quota: None,
            permitted_times: None,
            booking_window: None,
            max_duration: None,
            allow_recurring: true,
            max_conflicts: None,
            delegate: None,
        }
    }
}

fn duration_or_days(name: &str, value: &str) -> Result<Duration> {
    let v = value.trim();
    let d = match v.parse::<i64>() {
        Ok(days) => Duration::try_days(days).ok_or_else(|| Error::invalid("too many days"))?,
        Err(_) => parse_duration(v)?,
    };
    if d <= Duration::zero() {
        return Err(Error::invalid(format!("{name} {value:?} is not positive")));
    }
    Ok(d)
}

fn parse_times(args: &[&str]) -> Result<(NaiveTime, NaiveTime)> {
    let bad = || Error::invalid(format!("permitted_times {args:?} is not HH:MM-HH:MM"));
    let (a, b) = args
        .first()
        .and_then(|s| s.split_once('-'))
        .ok_or_else(bad)?;
    let a = NaiveTime::parse_from_str(a, "%H:%M").map_err(|_| bad())?;
    let b = NaiveTime::parse_from_str(b, "%H:%M").map_err(|_| bad())?;
    if b <= a {
        return Err(bad());
    }
    Ok((a, b))
}

impl Policy {
    /// Reads the policy from preferences (name → value), as [`Policy::read`] does from a store.
    ///
    /// # Errors
    ///
    /// Invalid input naming the preference when a value does not parse or a scheduling
    /// function is unknown.
    pub fn from_preferences(prefs: &BTreeMap<String, String>) -> Result<Policy> {
        let mut p = Policy::default();
        let ctx = |name: &'static str| move |e: Error| e.context(format!("preference {name}"));
        if let Some(v) = prefs.get("auto_schedule_mode") {
            p.mode = Mode::parse(v).map_err(ctx("auto_schedule_mode"))?;
        }
        if let Some(v) = prefs.get("scheduling_function") {
            p.read_functions(v).map_err(ctx("scheduling_function"))?;
        }
        if let Some(v) = prefs.get("booking_window") {
            p.booking_window =
                Some(duration_or_days("booking_window", v).map_err(ctx("booking_window"))?);
        }
        if let Some(v) = prefs.get("max_duration") {
            p.max_duration =
                Some(duration_or_days("max_duration", v).map_err(ctx("max_duration"))?);
        }
        if let Some(v) = prefs.get("allow_recurring") {
            p.allow_recurring = match v.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => {
                    return Err(Error::invalid(format!(
                        "allow_recurring {v:?} is not true or false"
                    )))
                }
            };
        }
        if let Some(v) = prefs.get("max_conflicts") {
            p.max_conflicts = Some(v.trim().parse().map_err(|_| {
                Error::invalid(format!("preference max_conflicts {v:?} is not a number"))
            })?);
        }
        Ok(p)
    }

    /// imip-agent's `scheduling_function`: one function per line (or separated by `;`), each
    /// with its arguments after whitespace; all must agree for a booking to be accepted.
    fn read_functions(&mut self, value: &str) -> Result<()> {
        // `delegate_to_free` without a quota takes the one `check_quota` names, which may come
        // later in the chain.
        let mut delegate_to_quota = false;
        for line in value.split(['\n', ';']) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            match *name {
                "schedule_in_freebusy" => {
                    self.capacity = match args.first() {
                        Some(n) => n.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                            Error::invalid(format!("capacity {n:?} is not a positive number"))
                        })?,
                        None => 1,
                    }
                }
                "same_domain_only" => self.same_domain_only = true,
                "access_control" => {
                    for pair in args.chunks(2) {
                        let (kind, who) = match pair {
                            [k, w] => (*k, *w),
                            _ => {
                                return Err(Error::invalid(
                                    "access_control takes allow|deny WHO pairs",
                                ))
                            }
                        };
                        let allow = match kind {
                            "allow" => true,
                            "deny" => false,
                            _ => {
                                return Err(Error::invalid(format!(
                                    "access_control {kind:?}: allow or deny"
                                )))
                            }
                        };
                        self.access.push(AccessRule {
                            allow,
                            pattern: who.to_owned(),
                        });
                    }
                }
                "check_quota" | "schedule_across_quota" => {
                    let q = args
                        .first()
                        .ok_or_else(|| Error::invalid(format!("{name} needs a quota name")))?;
                    self.quota = Some(Quota::new(*q)?);
                }
                "permitted_times" => self.permitted_times = Some(parse_times(args)?),
                "delegate_to_free" => match args.first() {
                    Some(q) => self.delegate = Some(Quota::new(*q)?),
                    None => delegate_to_quota = true,
                },
                other => {
                    return Err(Error::invalid(format!(
                        "unknown scheduling function {other:?}"
                    )))
                }
            }
        }
        if delegate_to_quota && self.delegate.is_none() {
            self.delegate = Some(self.quota.clone().ok_or_else(|| {
                Error::invalid("delegate_to_free needs a quota name (or check_quota QUOTA)")
            })?);
        }
        Ok(())
    }

    /// Reads `user`'s policy from the store's preferences; `None` when the user has none of the
    /// resource settings ([`PREFERENCES`]).
    ///
    /// # Errors
    ///
    /// As [`Policy::from_preferences`]; the store's errors.
    pub async fn read<S: Store>(store: &S, user: &User) -> Result<Option<Policy>> {
        // One read of every preference, not one per setting (the cron job asks for each user).
        let prefs: BTreeMap<String, String> = store
            .preferences(user)
            .await?
            .into_iter()
            .filter(|(k, _)| PREFERENCES.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str().to_owned(), v))
            .collect();
        if prefs.is_empty() {
            return Ok(None);
        }
        Policy::from_preferences(&prefs)
            .map(Some)
            .map_err(|e| e.context(format!("the policy of {user}")))
    }

    /// Whether `organiser` may book `resource` (identity controls).
    pub fn permits(&self, resource: &User, organiser: &str) -> bool {
        if self.same_domain_only
            && !domain_of(organiser).eq_ignore_ascii_case(domain_of(resource.as_str()))
        {
            return false;
        }
        if self.access.is_empty() {
            return true;
        }
        self.access
            .iter()
            .find(|r| r.matches(organiser))
            .is_some_and(|r| r.allow)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    fn prefs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn the_default_is_automatic_with_capacity_one() {
        let p = Policy::from_preferences(&BTreeMap::new()).unwrap();
        assert_eq!(p, Policy::default());
        assert_eq!(p.mode, Mode::Automatic);
    }

    #[test]
    fn the_function_chain_is_read() {
        let p = Policy::from_preferences(&prefs(&[
            ("scheduling_function", "schedule_in_freebusy 3\nsame_domain_only\ncheck_quota rooms\npermitted_times 08:00-18:00"),
            ("auto_schedule_mode", "accept-if-free"),
            ("booking_window", "P180D"),
            ("max_duration", "PT4H"),
            ("allow_recurring", "false"),
            ("max_conflicts", "2"),
        ]))
        .unwrap();
        assert_eq!(p.capacity, 3);
        assert!(p.same_domain_only);
        assert_eq!(p.quota.unwrap().as_str(), "rooms");
        assert_eq!(p.mode, Mode::AcceptIfFree);
        assert_eq!(p.booking_window, Some(Duration::days(180)));
        assert_eq!(p.max_duration, Some(Duration::hours(4)));
        assert!(!p.allow_recurring);
        assert_eq!(p.max_conflicts, Some(2));
        assert!(p.permitted_times.is_some());
        assert_eq!(p.delegate, None);
    }

    #[test]
    fn delegation_names_its_quota() {
        let read = |v: &str| Policy::from_preferences(&prefs(&[("scheduling_function", v)]));
        let named = read("delegate_to_free rooms").unwrap();
        assert_eq!(named.delegate.unwrap().as_str(), "rooms");
        assert_eq!(named.quota, None);
        let implied = read("delegate_to_free\ncheck_quota cars").unwrap();
        assert_eq!(implied.delegate.unwrap().as_str(), "cars");
        let e = read("delegate_to_free").unwrap_err();
        assert!(e.to_string().contains("delegate_to_free"), "{e}");
    }

    #[test]
    fn bad_values_name_the_preference() {
        for (k, v) in [
            ("auto_schedule_mode", "sometimes"),
            ("scheduling_function", "schedule_in_freebusy 0"),
            ("scheduling_function", "book_everything"),
            ("booking_window", "-P1D"),
        ] {
            let e = Policy::from_preferences(&prefs(&[(k, v)])).unwrap_err();
            assert!(e.to_string().contains(k), "{e}");
        }
    }

    #[test]
    fn identity_controls() {
        let room = User::new("mailto:room@example.com").unwrap();
        let p = Policy::from_preferences(&prefs(&[(
            "scheduling_function",
            "same_domain_only\naccess_control deny mailto:eve@example.com allow *",
        )]))
        .unwrap();
        assert!(p.permits(&room, "mailto:bob@example.com"));
        assert!(!p.permits(&room, "mailto:eve@example.com"));
        assert!(!p.permits(&room, "mailto:bob@elsewhere.org"));
    }
}
