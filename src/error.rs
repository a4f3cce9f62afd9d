//! The one error type of calstore, with kinds that callers match on.

use std::fmt;

/// What went wrong, in the terms a caller acts on (STORE.md, "Errors and guarantees").
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The object, table or setting asked for does not exist.
    NotFound,
    /// The input was refused: a bad identifier, malformed iCalendar, a key mismatch, a bad value.
    InvalidInput,
    /// A versioned write found the data changed since it was read (or the database aborted a
    /// transaction that collided with another): read again and retry.
    Stale,
    /// A booking was refused because the slot or the quota is taken: retrying the same request
    /// will not help, choose another time (or resource).
    Busy,
    /// A check after the fact found the data not as it should be (for example a copy that
    /// differs from its source): nothing to retry, look at the data.
    VerificationFailed,
    /// The store was opened read-only and a write was attempted.
    ReadOnly,
    /// A lock could not be taken before the timeout ran out.
    Locked,
    /// The backend (a directory, a database server) could not be reached or used.
    Unavailable,
    /// Stored data does not parse: a corrupt line, a damaged object.
    Corrupt,
    /// Any other failure of the backend (an I/O error, an unexpected database error).
    Backend,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Stale => "stale version",
            ErrorKind::Busy => "busy",
            ErrorKind::VerificationFailed => "verification failed",
            ErrorKind::ReadOnly => "read-only",
            ErrorKind::Locked => "locked",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Corrupt => "corrupt data",
            ErrorKind::Backend => "backend error",
        })
    }
}

/// A calstore error: a kind, a sentence naming what failed and where, and an optional cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The result type of calstore.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message naming what failed.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind a caller can match on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the cause.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the message with more context (for example the user or the file).
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::Stale`].
    pub fn stale(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Stale, message)
    }

    /// Shorthand for [`ErrorKind::Busy`].
    pub fn busy(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Busy, message)
    }

    /// Shorthand for [`ErrorKind::VerificationFailed`].
    pub fn verification_failed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::VerificationFailed, message)
    }

    /// Shorthand for [`ErrorKind::ReadOnly`].
    pub fn read_only(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::ReadOnly, message)
    }

    /// Shorthand for [`ErrorKind::Corrupt`].
    pub fn corrupt(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Corrupt, message)
    }

    /// The full chain of messages, outermost first, separated by ": ".
    pub fn chain(&self) -> String {
        let mut out = self.message.clone();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        while let Some(e) = cur {
            out.push_str(": ");
            out.push_str(&e.to_string());
            cur = e.source();
        }
        out
    }
}
