//! `calstore make-freebusy`: the cron job's arguments, progress and printing. The work is
//! `calstore::refresh::regenerate_users` (a few users at a time, in tokio tasks here, results in
//! user order) and `calstore::refresh::regenerate_quota`. A corrupt object is reported and
//! skipped without stopping the others. `--all` also removes the temporary files killed writes
//! left in a file store.

use std::time::Instant;

use anyhow::{Context, Result};
use calstore::refresh::{self, CronOptions, Overrides};
use calstore::User;
use calstore::{Journal, Quota, Store};
use calstore_any::publish::publish;
use calstore_file::Leftovers;
use chrono::{DateTime, Utc};

use crate::args::{Global, MakeFreebusyArgs};
use crate::backend;

/// Totals for the summary line.
#[derive(Default)]
pub struct Totals {
    pub owners: usize,
    pub events: usize,
    pub periods: usize,
    /// `freebusy-other` tables (what organisers know of attendees) extended or rebuilt.
    pub others: usize,
    pub skipped: usize,
    pub failed: usize,
}

pub async fn run(global: &Global, args: &MakeFreebusyArgs) -> Result<u8> {
    if !args.all && args.names.is_empty() {
        return Err(crate::exit::exit(
            2,
            "name the users (or quotas) to regenerate, or --all",
        ));
    }
    if let Some(n) = args.window_days {
        refresh::parse_window_days(&n.to_string()).context("--window-days")?;
    }
    let started = Instant::now();
    let now = Utc::now();
    let (totals, swept) = if args.quotas {
        let journal = backend::open_journal(global).await?;
        // The store settles bookings a crash interrupted (resource::recover) before the
        // quotas are regenerated; without one, they are regenerated as they are.
        let store = backend::open_store(global).await.ok();
        let totals = super::quota_freebusy::run(store.as_ref(), &journal, args, now).await?;
        (totals, sweep(args, None, Some(&journal)).await)
    } else {
        let store = backend::open_store(global).await?;
        // Resources give back the quota of occurrences the extension overbooked.
        let journal = backend::open_journal(global).await.ok();
        let totals = users(store.clone(), journal.as_ref(), args, now).await?;
        (totals, sweep(args, Some(&store), None).await)
    };
    let what = if args.quotas { "quotas" } else { "users" };
    println!(
        "make-freebusy: {} {what}, {} events, {} periods{}{}{}{} in {:.2} s",
        totals.owners,
        totals.events,
        totals.periods,
        if totals.others > 0 {
            format!(", {} attendee tables updated", totals.others)
        } else {
            String::new()
        },
        if totals.skipped > 0 {
            format!(", {} objects skipped", totals.skipped)
        } else {
            String::new()
        },
        if totals.failed > 0 {
            format!(", {} {what} failed", totals.failed)
        } else {
            String::new()
        },
        if swept.files > 0 {
            format!(
                ", {} leftover temporary files removed ({} bytes)",
                swept.files, swept.bytes
            )
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    Ok(if totals.failed > 0 {
        crate::exit::FAILURE
    } else if totals.skipped > 0 {
        crate::exit::DATA
    } else {
        crate::exit::OK
    })
}

/// The cron form (`--all`, not `--dry-run`, writable) also removes what killed writes left in a
/// file store or journal, as the maintenance job that runs anyway (docs/operations.md). A failure
/// there is reported and does not fail the regeneration, which is done.
async fn sweep(
    args: &MakeFreebusyArgs,
    store: Option<&backend::AnyStore>,
    journal: Option<&backend::AnyJournal>,
) -> Leftovers {
    let read_only =
        store.is_some_and(|s| s.is_read_only()) || journal.is_some_and(|j| j.is_read_only());
    if !args.all || args.dry_run || read_only {
        return Leftovers::default();
    }
    backend::leftovers(store, journal, true)
        .await
        .unwrap_or_else(|e| {
            eprintln!(
                "calstore: removing leftover temporary files: {}",
                e.message()
            );
            Leftovers::default()
        })
}

async fn users<S: Store + Clone + 'static>(
    store: S,
    journal: Option<&backend::AnyJournal>,
    args: &MakeFreebusyArgs,
    now: DateTime<Utc>,
) -> Result<Totals> {
    let names = if args.all {
        None
    } else {
        let named = args
            .names
            .iter()
            .map(|u| super::parse_user(u))
            .collect::<Result<Vec<_>>>()?;
        // Regenerating a name the store does not hold would create that user.
        for user in &named {
            super::known_user(&store, user).await?;
        }
        Some(named)
    };
    let refresh::CronUsers { users, unlisted } = refresh::cron_users(&store, names).await?;
    // An entry of the store the listing cannot read as a user is reported and fails the run:
    // never skipped silently (issue 13 item 5).
    for e in &unlisted {
        eprintln!("calstore: {}", e.message());
    }
    let options = CronOptions {
        overrides: Overrides {
            tz: None,
            window_days: args.window_days,
            needs_action: args.needs_action,
        },
        reset: args.reset,
        dry_run: args.dry_run,
        jobs: usize::from(args.jobs),
        now,
    };
    let checked: Vec<User> = users.clone();
    let bar = crate::progress::bar(users.len() as u64, "make-freebusy");
    let mut totals = Totals {
        failed: unlisted.len(),
        ..Totals::default()
    };
    // Tasks, so that both cores work (calstore::refresh::regenerate_users).
    let spawn = |job: refresh::UserJob| async move {
        tokio::spawn(job).await.unwrap_or_else(|e| {
            Err(calstore::Error::new(
                calstore::ErrorKind::Backend,
                format!("the task failed: {e}"),
            ))
        })
    };
    refresh::regenerate_users(&store, users, &options, spawn, |user, result| {
        bar.inc(1);
        totals.owners += 1;
        match result {
            Ok(report) => {
                totals.events += report.events;
                totals.periods += report.periods;
                totals.others += report.others;
                for (uid, reason) in &report.skipped {
                    bar.suspend(|| {
                        eprintln!("calstore: {user}: uid {:?} skipped: {reason}", uid.as_str())
                    });
                }
                totals.skipped += report.skipped.len();
                if args.dry_run {
                    let mut out = String::new();
                    for p in &report.table {
                        out.push_str(&format!(
                            "{}\t{}\n",
                            calstore::period::escape_field(user.as_str()),
                            p.to_line(false)
                        ));
                    }
                    print!("{out}");
                } else if let Some(dir) = &args.publish {
                    // One user's refused or failed publication (a link planted in the web
                    // root) must not stop the others: reported, and the run fails (exit 1).
                    let text = calstore::query::vfreebusy(user, &report.table, None, None, now);
                    if let Err(e) = publish(dir, user, &text, args.publish_mode) {
                        totals.failed += 1;
                        bar.suspend(|| eprintln!("calstore: {user}: {}", e.message()));
                    }
                }
            }
            Err(e) => {
                // One user's failure (a corrupt table, a lock that did not come) must not stop the others.
                totals.failed += 1;
                bar.suspend(|| eprintln!("calstore: {user}: {}", e.message()));
            }
        }
        Ok::<(), anyhow::Error>(())
    })
    .await?;
    bar.finish_and_clear();
    if !args.dry_run {
        overbooked(&store, journal, &checked, args, now, &mut totals).await?;
    }
    Ok(totals)
}

/// Resources whose extended standing bookings now meet beyond their capacity: the later
/// booking's occurrence is settled by the resource's policy
/// (`calstore::agent::resource::settle_extension`: declined, or left for a person), each
/// settled occurrence printed, and the REPLYs written to `--replies DIR` (without it they are
/// counted as skipped, so the run exits 65: a declined occurrence is never silent). What is
/// still beyond the capacity is reported and counted as skipped, never held silently.
async fn overbooked<S: Store>(
    store: &S,
    journal: Option<&backend::AnyJournal>,
    users: &[User],
    args: &MakeFreebusyArgs,
    now: DateTime<Utc>,
    totals: &mut Totals,
) -> Result<()> {
    use calstore::agent::resource;
    for user in users {
        let Some(policy) = resource::Policy::read(store, user).await? else {
            continue;
        };
        let settled = match journal {
            Some(j) => resource::settle_extension(store, j, user, now).await?,
            // Without the journal a quota cannot be given back: reported below, not settled.
            None if policy.quota.is_some() => resource::Settlement::default(),
            None => {
                let none = calstore::memory::MemoryJournal::new();
                resource::settle_extension(store, &none, user, now).await?
            }
        };
        for item in &settled.decision.items {
            eprintln!("calstore: {user}: beyond the capacity when extended: {item}");
        }
        match &args.replies {
            Some(dir) => {
                for reply in &settled.replies {
                    let path = dir.join(reply_file(user, &reply.uid));
                    std::fs::create_dir_all(dir)
                        .and_then(|()| std::fs::write(&path, &reply.text))
                        .with_context(|| format!("writing the reply to {}", path.display()))?;
                    eprintln!(
                        "calstore: {user}: reply to {} written to {}",
                        reply.organiser,
                        path.display()
                    );
                }
            }
            None if !settled.replies.is_empty() => {
                totals.skipped += settled.replies.len();
                eprintln!(
                    "calstore: {user}: {} reply(ies) to send, not written: give --replies DIR",
                    settled.replies.len()
                );
            }
            None => {}
        }
        let over = resource::overbooked(store, user, &policy).await?;
        if !over.is_empty() {
            totals.skipped += over.len();
            let first = &over[0];
            eprintln!(
                "calstore: {user}: {} booking period(s) beyond the capacity of {}, first {} (uid {:?})",
                over.len(),
                policy.capacity,
                first.to_line(false),
                first.uid.as_str()
            );
        }
    }
    Ok(())
}

/// The file name of a REPLY: the resource and the booking's UID, every character that is not
/// a letter, a digit, `.`, `-`, `_` or `@` as `_`.
fn reply_file(user: &User, uid: &calstore::Uid) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}.ics", safe(user.as_str()), safe(uid.as_str()))
}

/// Parses quota names.
pub fn quota_names(args: &MakeFreebusyArgs) -> Result<Vec<Quota>> {
    args.names
        .iter()
        .map(|q| Quota::new(q.as_str()).with_context(|| format!("quota {q:?}")))
        .collect()
}
