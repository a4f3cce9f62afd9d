//! `calstore freebusy`: prints one table's periods overlapping a range, as tsv, json or ical.
//! The query is `calstore::query::freebusy` (events without end expanded on demand past the
//! window); a horizon it cannot vouch past is stated in the ical output and on the terminal.

use anyhow::{Context, Result};
use calstore::{Other, Table};
use chrono::Utc;

use crate::args::{Format, FreebusyArgs, Global};
use crate::{backend, output};

pub async fn run(global: &Global, args: &FreebusyArgs) -> Result<u8> {
    let user = super::parse_user(&args.user)?;
    let table = match (&args.other, args.offers) {
        (Some(o), _) => {
            Table::Other(Other::new(o.as_str()).with_context(|| format!("--other {o:?}"))?)
        }
        (None, true) => Table::Offers,
        (None, false) => Table::FreeBusy,
    };
    let start = args
        .start
        .as_deref()
        .map(|s| super::parse_instant(s, "--start"))
        .transpose()?;
    let end = args
        .end
        .as_deref()
        .map(|s| super::parse_instant(s, "--end"))
        .transpose()?;
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            return Err(
                calstore::Error::invalid(format!("--end {} is before --start {}", e, s)).into(),
            );
        }
    }
    let store = backend::open_store(global).await?;
    super::known_user(&store, &user).await?;
    let now = Utc::now();
    let answer = calstore::query::freebusy(&store, &user, &table, start, end, now).await?;
    let range = start.zip(end);
    let text = match args.format {
        Format::Tsv => output::tsv(&answer.periods, false),
        Format::Json => output::json(&answer.periods),
        // The user's availability is in the answer (BUSY-UNAVAILABLE rows, computed past the
        // table's horizon by the query), so the VFREEBUSY writes it with the other periods.
        Format::Ical => {
            calstore::query::vfreebusy(&user, &answer.periods, range, answer.horizon, now)
        }
    };
    print!("{text}");
    if let Some(note) = answer.expansion_note(&user) {
        eprintln!("calstore: note: {note}");
    }
    if let Some(warning) = answer.horizon_warning(&user) {
        eprintln!("calstore: warning: {warning}");
        // A range the answer cannot cover is not a complete answer.
        if !answer.failed.is_empty() {
            return Ok(crate::exit::DATA);
        }
    }
    Ok(crate::exit::OK)
}
