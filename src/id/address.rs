//! The one spelling of a calendar address: user keys ([`User::new`](crate::User::new)) and
//! ORGANIZER/ATTENDEE matching ([`same_address`](crate::object::same_address)) use the same rule,
//! so an agent that takes a recipient from a mail header files it under the same user as a
//! query for any other spelling finds.

/// The one spelling of a calendar address, used for user keys ([`User::new`](crate::User::new))
/// and for matching ORGANIZER/ATTENDEE addresses alike
/// ([`same_address`](crate::object::same_address)): a `mailto:` address (any case of the scheme)
/// is lower-cased whole, as mail systems treat addresses case-insensitively in practice; a bare
/// `user@host` is read as `mailto:`; any other URI scheme (RFC 3986: a letter, then letters,
/// digits, `+`, `-`, `.`) is lower-cased and the rest kept exactly (an `http:` path is
/// case-sensitive). Blanks around an address are dropped. Anything that is no address (no
/// scheme, no `@`) is kept exactly as given, blanks and all: such keys are stored faithfully.
///
/// ```
/// use calstore::id::normalise_address;
/// assert_eq!(normalise_address("MAILTO:Alice@Example.com"), "mailto:alice@example.com");
/// assert_eq!(normalise_address(" alice@example.com "), "mailto:alice@example.com");
/// assert_eq!(normalise_address("HTTP://x/A"), "http://x/A");
/// assert_eq!(normalise_address(" room 1 "), " room 1 ");
/// ```
pub fn normalise_address(address: &str) -> String {
    let s = address.trim();
    match s.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mailto") => {
            format!("mailto:{}", rest.trim().to_lowercase())
        }
        Some((scheme, rest)) if is_scheme(scheme) => {
            format!("{}:{rest}", scheme.to_ascii_lowercase())
        }
        _ if s.contains('@') => format!("mailto:{}", s.to_lowercase()),
        _ => address.to_owned(),
    }
}

/// Whether `s` is a URI scheme (RFC 3986 §3.1): `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// [`normalise_address`] for an owned value, keeping the allocation when nothing changes.
pub(super) fn address_key(value: String) -> String {
    let normal = normalise_address(&value);
    if normal == value {
        value
    } else {
        normal
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::id::User;

    #[test]
    fn every_spelling_of_a_user_is_one_key() {
        for spelling in [
            "mailto:alice@example.com",
            "MAILTO:Alice@Example.com",
            "alice@example.com",
            " Mailto:ALICE@example.COM ",
        ] {
            let user = User::new(spelling).unwrap();
            assert_eq!(user.as_str(), "mailto:alice@example.com", "{spelling:?}");
            assert!(user.is_normal());
            assert!(crate::object::same_address(spelling, user.as_str()));
        }
        // Other schemes keep their case-sensitive rest; names without a scheme stay as given.
        assert_eq!(User::new("HTTP://x/A").unwrap().as_str(), "http://x/A");
        assert_eq!(User::new("room-1").unwrap().as_str(), "room-1");
        // Keys read back from a store keep the spelling found there.
        let stored = User::stored("MAILTO:Alice@Example.com").unwrap();
        assert_eq!(stored.as_str(), "MAILTO:Alice@Example.com");
        assert!(!stored.is_normal());
        assert_eq!(
            User::from_file_name("MAILTO:Alice@Example.com").unwrap(),
            stored
        );
    }

    #[test]
    fn keys_that_are_no_address_are_kept_exactly() {
        for key in [
            " spaces ",
            "new\nline\r\n",
            "quote'\"; DROP TABLE objects; --",
            "a b:C",
        ] {
            assert_eq!(User::new(key).unwrap().as_str(), key);
        }
    }
}
