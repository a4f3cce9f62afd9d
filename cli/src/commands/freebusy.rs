//! `calstore freebusy`: prints one table's periods overlapping a range, as tsv, json or ical.

use anyhow::{Context, Result};
use calstore::{Other, Store, Table};
use chrono::{DateTime, Utc};

use crate::args::{Format, FreebusyArgs, Global};
use crate::{backend, output, with_store};

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
    let periods = with_store!(&store, s => read(s, &user, &table, start, end).await)?;
    let range = start.zip(end);
    let text = match args.format {
        Format::Tsv => output::tsv(&periods, false),
        Format::Json => output::json(&periods),
        Format::Ical => output::ical(&user, &periods, range, Utc::now()),
    };
    print!("{text}");
    Ok(crate::exit::OK)
}

async fn read<S: Store>(
    store: &S,
    user: &calstore::User,
    table: &Table,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Result<Vec<calstore::Period>> {
    let periods = match (start, end) {
        (None, None) => store.freebusy(user, table).await?.value,
        (s, e) => {
            let s = s.unwrap_or(DateTime::<Utc>::MIN_UTC);
            let e = e.unwrap_or(DateTime::<Utc>::MAX_UTC);
            store.freebusy_in(user, table, s, e).await?.value
        }
    };
    Ok(periods)
}
