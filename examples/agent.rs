//! The storage side of an iMIP agent in a page: `calstore::agent::receive` in a loop. Each
//! argument is one delivered message — iCalendar text with METHOD, or a whole mail with a
//! text/calendar part — applied for one user; the decision is printed, item by item, with the
//! changes of its step, and the reply to send (a REFRESH's answer) is written beside the
//! message as `FILE.reply.ics`.
//!
//! ```text
//! cargo run --example agent -- --store DIR --user mailto:alice@example.com examples/itip/*.ics
//! ```
//!
//! `receive` reads METHOD and the user's role (organiser, attendee, not named), orders the
//! message against what is stored (SEQUENCE, then DTSTAMP), and applies it as one step; the
//! same messages in any order leave the same calendar. A stale step (another process changed
//! the event meanwhile) is applied again. The store is a file store at DIR (preferences beside
//! it, in `DIR/../preferences`).

use std::error::Error;
use std::io::Write;

use calstore::{agent, ErrorKind, User};
use calstore_file::FileStore;

type Failure = Box<dyn Error + Send + Sync>;

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
    let usage = "usage: agent --store DIR --user USER MESSAGE…";
    let (Some(dir), Some(user)) = (dir, user) else {
        return Err(usage.into());
    };
    if files.is_empty() {
        return Err(usage.into());
    }
    let store = FileStore::open_dir(&dir)?;
    let user = User::new(user)?;
    for path in &files {
        let message = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        let decision = loop {
            match agent::receive(&store, &user, &message).await {
                Err(e) if e.kind() == ErrorKind::Stale => continue,
                other => break other.map_err(|e| format!("{path}: {e}"))?,
            }
        };
        for item in &decision.items {
            writeln!(out, "{path}: {item}")?;
        }
        for change in &decision.step.changes {
            writeln!(out, "  {change}")?;
        }
        if let Some(reply) = &decision.reply {
            let to = format!("{path}.reply.ics");
            std::fs::write(&to, reply)?;
            writeln!(out, "  reply written to {to}")?;
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
