//! A store wrapper that times every trait call, so a scenario can say which store function its
//! time goes to (the "measured reason" of a missed target) without a profiler: calstore's
//! [`Probe`](calstore::conformance::wrap::Probe), which names a one-write step by the method that
//! writes it, and the tally's text and JSON forms.

use std::time::Duration;

use serde_json::{json, Value};

/// Calls and time per store method.
pub use calstore::conformance::wrap::Tally;

/// `S` with every call timed (the workspace's one call-counting wrapper). Clones share the
/// tally.
pub use calstore::conformance::wrap::Probe as Timed;

/// The tally as text, biggest first: `replace_uid_periods 61% (1000 calls, 2.10 ms each), …`,
/// shares taken of `total`.
pub fn describe(tally: &Tally, total: Duration) -> String {
    let mut rows: Vec<_> = tally.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1 .1));
    rows.iter()
        .take(5)
        .map(|(name, (n, d))| {
            format!(
                "{name} {:.0}% ({n} calls, {:.3} ms each)",
                100.0 * d.as_secs_f64() / total.as_secs_f64().max(1e-9),
                d.as_secs_f64() * 1e3 / (*n).max(1) as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tally as JSON.
pub fn to_json(tally: &Tally) -> Value {
    tally
        .iter()
        .map(|(k, (n, d))| {
            (
                k.to_string(),
                json!({"calls": n, "ms": d.as_secs_f64() * 1e3}),
            )
        })
        .collect()
}
