//! iCalendar durations (RFC 5545 §3.3.6), as used by DURATION properties and quota limits.

use chrono::Duration;

use crate::error::{Error, Result};

/// Parses an iCalendar duration such as `PT10H`, `P1D`, `-PT15M` or `P2W`.
///
/// # Errors
///
/// Invalid input when the text is not a duration.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::invalid(format!(
            "{text:?} is not an iCalendar duration (e.g. PT10H, P1D, P2W)"
        ))
    };
    let s = text.trim();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let s = s.strip_prefix(['P', 'p']).ok_or_else(bad)?;
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::zero();
    let mut in_time = false;
    let mut number = String::new();
    let mut seen_unit = false;
    for c in s.chars() {
        match c.to_ascii_uppercase() {
            'T' if !in_time && number.is_empty() => in_time = true,
            d if d.is_ascii_digit() => number.push(d),
            unit => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                number.clear();
                let part = match (unit, in_time) {
                    ('W', false) => Duration::try_weeks(n),
                    ('D', false) => Duration::try_days(n),
                    ('H', true) => Duration::try_hours(n),
                    ('M', true) => Duration::try_minutes(n),
                    ('S', true) => Duration::try_seconds(n),
                    _ => None,
                }
                .ok_or_else(bad)?;
                total = total.checked_add(&part).ok_or_else(bad)?;
                seen_unit = true;
            }
        }
    }
    if !number.is_empty() || !seen_unit {
        return Err(bad());
    }
    Ok(if negative { -total } else { total })
}

/// Formats a duration as iCalendar text (`PT10H`, `P1DT2H`, `PT0S`).
pub fn format_duration(d: Duration) -> String {
    let mut out = String::new();
    let mut secs = d.num_seconds();
    if secs < 0 {
        out.push('-');
        secs = -secs;
    }
    out.push('P');
    let days = secs / 86_400;
    secs %= 86_400;
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if secs > 0 || days == 0 {
        out.push('T');
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 || (h == 0 && m == 0) {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("PT10H").unwrap(), Duration::hours(10));
        assert_eq!(
            parse_duration("P1DT2H30M").unwrap(),
            Duration::minutes(26 * 60 + 30)
        );
        assert_eq!(parse_duration("P2W").unwrap(), Duration::weeks(2));
        assert_eq!(parse_duration("-PT15M").unwrap(), Duration::minutes(-15));
        for bad in ["", "P", "PT", "10H", "PT10", "P1H", "PT1D", "PTXH"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::hours(10)), "PT10H");
        assert_eq!(
            format_duration(Duration::minutes(26 * 60 + 30)),
            "P1DT2H30M"
        );
        assert_eq!(format_duration(Duration::zero()), "PT0S");
    }
}
