//! Exit codes (CLI.md) and the one-sentence error report.

use calstore::ErrorKind;

/// Success.
pub const OK: u8 = 0;
/// An operation failed.
pub const FAILURE: u8 = 1;
/// A usage error the parser cannot see: the arguments name something unusable (a store path
/// that is a file, roots that collide). Mistakes in the command line itself stay clap's 2.
pub const USAGE: u8 = 64;
/// Bad input data (an iCalendar file that does not parse, a corrupt line).
pub const DATA: u8 = 65;
/// An input file is missing, unreadable or a directory (EX_NOINPUT).
pub const NO_INPUT: u8 = 66;
/// The user named is not in the store (EX_NOUSER).
pub const NO_USER: u8 = 67;
/// The store or database is unavailable.
pub const UNAVAILABLE: u8 = 69;
/// The target of `copy` is not empty.
pub const CANT_CREATE: u8 = 73;
/// A booking refused because the slot or the quota is taken (busy): choose another time.
/// Outside the sysexits range on purpose: none of those means "the answer is no".
pub const BUSY: u8 = 3;
/// A check after the fact failed (a copy that differs from its source): not worth retrying.
pub const VERIFICATION_FAILED: u8 = 70;
/// A lock or a stale version that did not clear in time (try again).
pub const TEMPORARY: u8 = 75;

/// An error that carries its own exit code (for conditions that are not store errors).
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Builds an error with an explicit exit code.
pub fn exit(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Exit {
        code,
        message: message.into(),
    })
}

/// The exit code for a calstore error kind.
pub fn code_for(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::Corrupt => DATA,
        ErrorKind::Unavailable => UNAVAILABLE,
        ErrorKind::Locked | ErrorKind::Stale => TEMPORARY,
        ErrorKind::Busy => BUSY,
        ErrorKind::VerificationFailed => VERIFICATION_FAILED,
        _ => FAILURE,
    }
}

/// The exit code for any error: the first calstore error or explicit code in the chain decides.
pub fn code_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Exit>() {
            return e.code;
        }
        if let Some(e) = cause.downcast_ref::<calstore::Error>() {
            return code_for(e.kind());
        }
    }
    FAILURE
}

/// One clear sentence: the outermost context and the store error's message; with `verbose`, the
/// whole chain.
pub fn report(err: &anyhow::Error, verbose: bool) -> String {
    if verbose {
        return err
            .chain()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
    }
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        if cause.downcast_ref::<calstore::Error>().is_some()
            || cause.downcast_ref::<Exit>().is_some()
        {
            break;
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_stale_and_verification_have_their_own_codes() {
        assert_eq!(code_for(ErrorKind::Stale), TEMPORARY);
        assert_eq!(code_for(ErrorKind::Locked), TEMPORARY);
        assert_eq!(code_for(ErrorKind::Busy), BUSY);
        assert_eq!(code_for(ErrorKind::VerificationFailed), VERIFICATION_FAILED);
        let busy = anyhow::Error::new(calstore::Error::busy("room taken")).context("booking");
        assert_eq!(code_of(&busy), 3);
        let copy = anyhow::Error::new(calstore::Error::verification_failed("differs"));
        assert_eq!(code_of(&copy), 70);
    }
}
