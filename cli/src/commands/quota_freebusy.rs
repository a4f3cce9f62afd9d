//! `make-freebusy --quotas`: the arguments and printing of `calstore::refresh::regenerate_quota`
//! (the windows-and-providers regeneration of the journal's reservations without end), after
//! `calstore::agent::resource::recover` has settled the bookings a crash interrupted.

use anyhow::Result;
use calstore::agent::resource;
use calstore::refresh::{regenerate_quota, QuotaOptions};
use calstore::{Journal, Store};
use chrono::{DateTime, Utc};

use super::make_freebusy::{quota_names, Totals};
use crate::args::MakeFreebusyArgs;

pub async fn run<S: Store, J: Journal>(
    store: Option<&S>,
    journal: &J,
    args: &MakeFreebusyArgs,
    now: DateTime<Utc>,
) -> Result<Totals> {
    let quotas = if args.all {
        journal.quotas().await?
    } else {
        let named = quota_names(args)?;
        for q in &named {
            super::known_quota(journal, q).await?;
        }
        named
    };
    let options = QuotaOptions {
        window_days: args.window_days,
        reset: args.reset,
        dry_run: args.dry_run,
    };
    let mut totals = Totals::default();
    for quota in &quotas {
        totals.owners += 1;
        if let (Some(store), false) = (store, args.dry_run) {
            match resource::recover(store, journal, quota).await {
                Ok(r) if r.redone.len() + r.released.len() > 0 => eprintln!(
                    "calstore: quota {quota}: settled {} interrupted booking(s): {} redone, {} given back",
                    r.redone.len() + r.released.len(),
                    r.redone.len(),
                    r.released.len()
                ),
                Ok(_) => {}
                Err(e) => {
                    totals.failed += 1;
                    eprintln!("calstore: quota {quota}: settling interrupted bookings: {e}");
                }
            }
        }
        match regenerate_quota(journal, quota, &options, now).await {
            Ok(report) => {
                totals.events += report.events;
                totals.periods += report.periods;
                totals.skipped += report.skipped.len();
                for (uid, reason) in &report.skipped {
                    eprintln!(
                        "calstore: quota {quota}: uid {:?} skipped: {reason}",
                        uid.as_str()
                    );
                }
                if args.dry_run {
                    let mut out = String::new();
                    for p in &report.table {
                        out.push_str(&format!(
                            "{}\t{}\n",
                            calstore::period::escape_field(quota.as_str()),
                            p.to_line(true)
                        ));
                    }
                    print!("{out}");
                }
            }
            Err(e) => {
                totals.failed += 1;
                eprintln!("calstore: quota {quota}: {e}");
            }
        }
    }
    Ok(totals)
}
