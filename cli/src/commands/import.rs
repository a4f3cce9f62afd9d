//! `calstore import`: stores every VEVENT of iCalendar files under a user and updates the user's
//! free/busy as the agent would. A file whose components are VAVAILABILITY (no VEVENT) is stored
//! as the user's `availability` (`calstore::agent::resource::set_availability`, which writes its
//! BUSY-UNAVAILABLE rows); of several such files the last is kept.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::time::Instant;

use anyhow::{Context, Result};
use calstore::import::Importer;
use calstore::object::{split_calendar, split_families, EventObject};
use calstore::refresh::{self, Overrides};
use calstore::{Store, Uid, User};
use chrono::Utc;

use crate::args::{Global, ImportArgs};
use crate::backend;

pub async fn run(global: &Global, args: &ImportArgs) -> Result<u8> {
    let user = super::parse_user(&args.user)?;
    let overrides = Overrides {
        tz: args
            .tz
            .as_deref()
            .map(refresh::parse_tz)
            .transpose()
            .context("--tz")?,
        window_days: args
            .window_days
            .map(|n| refresh::parse_window_days(&n.to_string()))
            .transpose()
            .context("--window-days")?,
        needs_action: args.needs_action,
    };
    // Parse every file before storing anything: with --strict a file that fails stores nothing;
    // without, an event family that cannot be read is reported and left out.
    let mut files: Vec<(String, Vec<EventObject>)> = Vec::new();
    let mut availability: Option<(String, String)> = None;
    let mut left_out = 0usize;
    for path in &args.files {
        let name = path.display().to_string();
        let bytes = if name == "-" {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .context("cannot read standard input")?;
            b
        } else {
            std::fs::read(path).map_err(|e| super::no_input(&name, &e))?
        };
        // Not UTF-8 is bad data (exit 65), not a failure of the run.
        let text = String::from_utf8(bytes).map_err(|e| {
            crate::exit::exit(
                crate::exit::DATA,
                format!(
                    "{name}: not UTF-8 text (invalid byte at offset {}); iCalendar is UTF-8",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        if calstore::object::availability::is_availability_calendar(&text) {
            // Read now, so that a bad file stores nothing.
            calstore::object::availability::parse(&text).with_context(|| name.clone())?;
            availability = Some((name, text));
            continue;
        }
        if args.strict {
            let objects = split_calendar(&text).with_context(|| name.clone())?;
            files.push((name, objects));
            continue;
        }
        let split = split_families(&text).with_context(|| name.clone())?;
        for w in &split.warnings {
            eprintln!("{name}: line {}: warning: {}", w.line, w.message);
        }
        for obj in &split.objects {
            for w in obj.warnings() {
                eprintln!(
                    "{name}: line {}: uid {:?}: warning: {}",
                    w.line,
                    obj.uid().as_str(),
                    w.message
                );
            }
        }
        for r in &split.rejected {
            left_out += 1;
            let uid = r
                .uid
                .as_deref()
                .map_or_else(|| "(none)".to_owned(), |u| format!("{u:?}"));
            let message = r.error.message();
            let message = message
                .strip_prefix(&format!("line {}: ", r.line))
                .unwrap_or(message);
            eprintln!("{name}: line {}: uid {uid}: left out: {message}", r.line);
        }
        files.push((name, split.objects));
    }
    // Import creates a missing file store (and records its layout).
    let store = backend::open_store_creating(global).await?;
    let code = if files.is_empty() && availability.is_some() {
        crate::exit::OK
    } else {
        import(&store, &user, &files, &overrides).await?
    };
    if let Some((name, text)) = availability {
        // --tz and --window-days become the user's preferences as for events: the rows are
        // placed with them.
        refresh::import_settings(&store, &user, &overrides).await?;
        calstore::agent::resource::set_availability(&store, &user, Some(&text))
            .await
            .with_context(|| format!("{name}: storing the availability of {user}"))?;
        println!("{name}: stored as the availability of {user}");
    }
    if left_out > 0 {
        return Err(crate::exit::exit(
            crate::exit::DATA,
            format!("{left_out} event families could not be read and were left out (listed above); every other event is stored"),
        ));
    }
    Ok(code)
}

async fn import<S: Store>(
    store: &S,
    user: &User,
    files: &[(String, Vec<EventObject>)],
    overrides: &Overrides,
) -> Result<u8> {
    let started = Instant::now();
    // --tz and --window-days become the user's preferences when unset (refresh::import_settings).
    let settings = refresh::import_settings(store, user, overrides).await?;
    let total: usize = files.iter().map(|(_, o)| o.len()).sum();
    let bar = crate::progress::bar(total as u64, "importing");
    // Objects with their periods in batches, each one unit (calstore::import says why).
    let mut importer = Importer::new(store, user.clone(), settings.expand_options(Utc::now()));
    let mut origin: BTreeMap<Uid, &str> = BTreeMap::new();
    for (name, file_objects) in files {
        for obj in file_objects {
            if let Err(e) = importer.put(obj).await {
                // The objects stored before this one keep their periods, as when each was
                // written at once: the failure is reported either way.
                if let Err(f) = importer.flush().await {
                    tracing::warn!("storing the objects given so far with their free/busy: {f}");
                }
                return Err(anyhow::Error::new(e)
                    .context(format!("{name}: storing uid {:?}", obj.uid().as_str())));
            }
            origin.entry(obj.uid().clone()).or_insert(name);
            bar.inc(1);
        }
    }
    let done = importer
        .finish()
        .await
        .context("storing the last batch of objects with their free/busy")?;
    bar.finish_and_clear();
    // Every other event's periods are written; the first that would not expand fails the run.
    if let Some((uid, e)) = done.failed.into_iter().next() {
        let name = origin.get(&uid).copied().unwrap_or("?");
        return Err(
            anyhow::Error::new(e).context(format!("{name}: free/busy of uid {:?}", uid.as_str()))
        );
    }
    println!(
        "imported {} objects from {} files for {user}: {} periods in {:.2} s",
        done.objects,
        files.len(),
        done.periods,
        started.elapsed().as_secs_f64()
    );
    Ok(crate::exit::OK)
}
