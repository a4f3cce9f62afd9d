//! Turning PostgreSQL and pool errors into calstore errors with the kinds callers match on.

use calstore::{Error, ErrorKind};

/// Maps a failed statement to a calstore error. `target` names the server ("host … port …"),
/// `doing` says what calstore was doing ("writing freebusy of mailto:a@example.com").
pub(crate) fn query_error(err: &tokio_postgres::Error, target: &str, doing: &str) -> Error {
    if let Some(db) = err.as_db_error() {
        let code = db.code().code();
        let kind = kind_of_state(code);
        let mut message = format!("{doing}: {} (SQL state {code})", db.message());
        if kind == ErrorKind::Unavailable {
            message = format!(
                "{doing}: PostgreSQL at {target}: {} (SQL state {code})",
                db.message()
            );
        }
        if code == "42P01" || code == "42703" {
            // An undefined table or column almost always means a missing or old schema.
            message.push_str("; is the schema installed and up to date (calstore schema status)?");
        }
        return Error::new(kind, message);
    }
    if err.is_closed() || has_io_source(err) {
        return Error::new(
            ErrorKind::Unavailable,
            format!("{doing}: lost the connection to PostgreSQL at {target}: {err}"),
        );
    }
    Error::new(ErrorKind::Backend, format!("{doing}: {err}"))
}

/// Maps a failure to open a connection: always "unavailable", naming host, port and reason.
pub(crate) fn connect_error(err: &tokio_postgres::Error, target: &str) -> Error {
    let reason = match err.as_db_error() {
        Some(db) => format!("{} (SQL state {})", db.message(), db.code().code()),
        None => full_chain(err),
    };
    Error::new(
        ErrorKind::Unavailable,
        format!("cannot connect to PostgreSQL at {target}: {reason}"),
    )
}

/// Maps an error of the connection pool.
pub(crate) fn pool_error(err: deadpool_postgres::PoolError, target: &str) -> Error {
    use deadpool_postgres::PoolError;
    match err {
        PoolError::Backend(e) => connect_error(&e, target),
        PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => Error::new(
            ErrorKind::Locked,
            format!("no free connection to PostgreSQL at {target} in the pool before the timeout"),
        ),
        PoolError::Timeout(t) => Error::new(
            ErrorKind::Unavailable,
            format!("cannot connect to PostgreSQL at {target}: timed out ({t:?})"),
        ),
        PoolError::Closed => Error::new(
            ErrorKind::Unavailable,
            format!("the connection pool for PostgreSQL at {target} is closed"),
        ),
        other => Error::new(
            ErrorKind::Unavailable,
            format!("cannot connect to PostgreSQL at {target}: {other}"),
        ),
    }
}

/// The calstore error kind of an SQLSTATE.
pub(crate) fn kind_of_state(code: &str) -> ErrorKind {
    match code {
        // serialization_failure, deadlock_detected, unique_violation (a concurrent insert won).
        "40001" | "40P01" | "23505" => ErrorKind::Stale,
        // read_only_sql_transaction; insufficient_privilege (the reader role).
        "25006" | "42501" => ErrorKind::ReadOnly,
        // lock_not_available, query_canceled (statement or lock timeout).
        "55P03" | "57014" => ErrorKind::Locked,
        // admin/crash shutdown, cannot connect now, too many connections, no such database,
        // authentication failures.
        "57P01" | "57P02" | "57P03" | "53300" | "3D000" | "28000" | "28P01" => {
            ErrorKind::Unavailable
        }
        c if c.starts_with("08") => ErrorKind::Unavailable,
        // data exceptions (an instant out of range, a bad value) and check violations.
        c if c.starts_with("22") || c == "23514" => ErrorKind::InvalidInput,
        _ => ErrorKind::Backend,
    }
}

fn has_io_source(err: &tokio_postgres::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cur {
        if e.is::<std::io::Error>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The error with its causes, without repeating a cause the message already contains.
pub(crate) fn full_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_kinds() {
        assert_eq!(kind_of_state("40001"), ErrorKind::Stale);
        assert_eq!(kind_of_state("40P01"), ErrorKind::Stale);
        assert_eq!(kind_of_state("25006"), ErrorKind::ReadOnly);
        assert_eq!(kind_of_state("42501"), ErrorKind::ReadOnly);
        assert_eq!(kind_of_state("08006"), ErrorKind::Unavailable);
        assert_eq!(kind_of_state("22008"), ErrorKind::InvalidInput);
        assert_eq!(kind_of_state("XX000"), ErrorKind::Backend);
    }
}
