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
        Format::Ical => {
            let text =
                calstore::query::vfreebusy(&user, &answer.periods, range, answer.horizon, now);
            // A VAVAILABILITY (the user's `availability`) adds BUSY-UNAVAILABLE outside its
            // available times, within the range asked.
            match (range, table == calstore::Table::FreeBusy) {
                (Some((s, e)), true) => {
                    let tz = calstore::refresh::settings(
                        &store,
                        &user,
                        &calstore::refresh::Overrides::default(),
                    )
                    .await?
                    .tz;
                    let spans: Vec<_> =
                        calstore::agent::resource::unavailable(&store, &user, s, e, tz)
                            .await?
                            .into_iter()
                            .map(|p| (p.start, p.end))
                            .collect();
                    calstore::object::availability::with_unavailable(&text, &spans)
                }
                _ => text,
            }
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
