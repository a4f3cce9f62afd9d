//! The storage side of an iMIP agent in a page: reads iTIP messages (a VCALENDAR with METHOD)
//! for one user and applies each through `calstore::agent`, printing what it changed.
//!
//! ```text
//! cargo run --example agent -- --store DIR --user mailto:alice@example.com examples/itip/*.ics
//! ```
//!
//! - REQUEST or PUBLISH that USER organises: recorded as USER's own ([`agent::record_event`]);
//! - REQUEST (or PUBLISH) from someone else: queued for USER's answer ([`agent::queue_request`]);
//! - CANCEL: cancels the event or the instances it names ([`agent::cancel`]);
//! - REPLY: records the attendee's answer ([`agent::record_reply`]);
//! - COUNTER: records the counter-proposal ([`agent::record_counter`]).
//!
//! The store is a file store at DIR (preferences beside it, in `DIR/../preferences`).

use std::error::Error;
use std::io::Write;

use calstore::object::{same_address, split_calendar};
use calstore::{agent, Step, User};
use calstore_file::FileStore;

type Failure = Box<dyn Error + Send + Sync>;

/// The METHOD of the VCALENDAR: the first `METHOD:` line before any component starts.
fn method_of(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim_end)
        .take_while(|l| {
            let l = l.to_ascii_uppercase();
            !l.starts_with("BEGIN:") || l == "BEGIN:VCALENDAR"
        })
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("METHOD")
                .then(|| value.trim().to_ascii_uppercase())
        })
}

/// Applies one message for `user`; returns what was done and the step.
async fn apply(store: &FileStore, user: &User, text: &str) -> Result<(String, Step), Failure> {
    let method = method_of(text).ok_or("the message has no METHOD: it is not an iTIP message")?;
    let first = split_calendar(text)?
        .into_iter()
        .next()
        .ok_or("the message holds no VEVENT")?;
    let organises = first
        .organizer()
        .is_some_and(|o| same_address(o, user.as_str()));
    let (what, step) = match method.as_str() {
        "REQUEST" | "PUBLISH" if organises => (
            "recorded as own",
            agent::record_event(store, user, text).await?,
        ),
        "REQUEST" | "PUBLISH" => (
            "queued for an answer",
            agent::queue_request(store, user, text).await?,
        ),
        "CANCEL" => ("cancelled", agent::cancel(store, user, text).await?),
        "REPLY" => (
            "recorded the reply",
            agent::record_reply(store, user, text).await?,
        ),
        "COUNTER" => (
            "recorded the counter-proposal",
            agent::record_counter(store, user, text).await?,
        ),
        other => return Err(format!("METHOD:{other} is not handled by this agent").into()),
    };
    Ok((format!("{method} {}: {what}", first.uid().as_str()), step))
}

/// The example's body: `--store DIR --user USER FILE…`, output to `out`.
pub async fn run(args: &[String], out: &mut impl Write) -> Result<(), Failure> {
    let (mut dir, mut user, mut files) = (None, None, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--store" => dir = it.next().cloned(),
            "--user" => user = it.next().cloned(),
            _ => files.push(a.clone()),
        }
    }
    let usage = "usage: agent --store DIR --user USER MESSAGE.ics…";
    let (Some(dir), Some(user)) = (dir, user) else {
        return Err(usage.into());
    };
    if files.is_empty() {
        return Err(usage.into());
    }
    let store = FileStore::open_dir(&dir)?;
    let user = User::new(user)?;
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let (done, step) = apply(&store, &user, &text)
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        writeln!(out, "{path}: {done}")?;
        for change in &step.changes {
            writeln!(out, "  {change}")?;
        }
    }
    Ok(())
}

#[allow(dead_code)] // the test includes this file and calls `run`
#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args, &mut std::io::stdout()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agent: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
