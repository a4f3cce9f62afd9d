//! The worker's output: one TAB-separated line per event, written and flushed before the next
//! operation starts, so that the parent knows exactly what was acknowledged even when the worker
//! is killed with SIGKILL.
//!
//! ```text
//! ready
//! try      OP FIELD…           an operation is about to start (crash workload)
//! ack      OP FIELD…           the store said yes: this write must never be lost
//! refused  OP KIND FIELD…      the store said no with an error of KIND (busy, stale, read-only, …)
//! bad      OP DETAIL           the worker saw the store break its contract
//! error    OP KIND MESSAGE     an error the workload did not expect
//! done     OPS
//! ```

use std::io::Write;

use calstore::{Error, ErrorKind};

/// The short name of an error kind used in `refused` and `error` lines.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "not-found",
        ErrorKind::InvalidInput => "invalid-input",
        ErrorKind::Stale => "stale",
        ErrorKind::Busy => "busy",
        ErrorKind::VerificationFailed => "verification-failed",
        ErrorKind::ReadOnly => "read-only",
        ErrorKind::Locked => "locked",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Corrupt => "corrupt",
        _ => "backend",
    }
}

/// Writes the protocol lines to standard output.
#[derive(Debug, Default)]
pub struct Reporter {
    /// Lines written with `ack`.
    pub acked: u64,
    /// Lines written with `refused`.
    pub refused: u64,
}

fn clean(field: &str) -> String {
    field.replace(['\t', '\n', '\r'], " ")
}

impl Reporter {
    /// Writes one line of fields and flushes it; exits the process when standard output is gone
    /// (the parent stopped listening), since nothing it does could be accounted for any more.
    pub fn line(&mut self, fields: &[&str]) {
        let text = fields
            .iter()
            .map(|f| clean(f))
            .collect::<Vec<_>>()
            .join("\t");
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            std::process::exit(3);
        }
    }

    /// `try OP FIELD…`.
    pub fn attempt(&mut self, op: &str, fields: &[&str]) {
        let mut all = vec!["try", op];
        all.extend_from_slice(fields);
        self.line(&all);
    }

    /// `ack OP FIELD…`.
    pub fn ack(&mut self, op: &str, fields: &[&str]) {
        self.acked += 1;
        let mut all = vec!["ack", op];
        all.extend_from_slice(fields);
        self.line(&all);
    }

    /// `refused OP KIND FIELD…`.
    pub fn refused(&mut self, op: &str, err: &Error, fields: &[&str]) {
        self.refused += 1;
        let mut all = vec!["refused", op, kind_name(err.kind())];
        all.extend_from_slice(fields);
        self.line(&all);
    }

    /// `bad OP DETAIL`.
    pub fn bad(&mut self, op: &str, detail: &str) {
        self.line(&["bad", op, detail]);
    }

    /// `error OP KIND MESSAGE`.
    pub fn error(&mut self, op: &str, err: &Error) {
        self.line(&["error", op, kind_name(err.kind()), &err.chain()]);
    }
}
