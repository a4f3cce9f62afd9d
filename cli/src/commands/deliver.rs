//! `calstore deliver`: applies one scheduling message (an .ics or a whole mail, from a file or
//! standard input) with `calstore::agent::receive`, prints the decision record, and writes the
//! reply to send when there is one.

use std::io::Read;

use anyhow::{Context, Result};
use calstore::agent::{self, Action, Decision};
use calstore::ErrorKind;

use crate::args::{DeliverArgs, DeliverFormat, Global};
use crate::{backend, exit, output};

/// How many times a step that a concurrent step made stale is applied again.
pub(super) const STALE_RETRIES: usize = 20;

pub async fn run(global: &Global, args: &DeliverArgs) -> Result<u8> {
    let user = super::parse_user(&args.user)?;
    let message = match args.file.as_deref() {
        None | Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading the message from standard input")?;
            buf
        }
        Some(path) => std::fs::read(path).with_context(|| format!("reading {path}"))?,
    };
    let store = backend::open_store(global).await?;
    // The journal holds the quotas of resources: a user with resource settings, or named as a
    // resource by the message, is booked by its policy (`--resource` forces it, and requires
    // the journal); without a journal, a resource's policy must not name a quota.
    let journal = if args.resource {
        Some(backend::open_journal(global).await?)
    } else {
        backend::open_journal(global).await.ok()
    };
    let mut tries = 0;
    let decision = loop {
        let applied = match &journal {
            Some(j) => agent::resource::receive(&store, j, &user, &message, args.resource).await,
            None => {
                let policy = agent::resource::Policy::read(&store, &user).await?;
                if let Some(q) = policy.and_then(|p| p.quota) {
                    anyhow::bail!(
                        "{user} checks quota {q}, but the journal could not be opened; \
                         give --resource to see why"
                    );
                }
                let none = calstore::memory::MemoryJournal::new();
                agent::resource::receive(&store, &none, &user, &message, false).await
            }
        };
        match applied {
            Err(e) if e.kind() == ErrorKind::Stale && tries < STALE_RETRIES => tries += 1,
            other => break other?,
        }
    };
    finish(&decision, args.format, args.reply.as_deref())
}

/// Prints the decision, writes the reply, and gives the exit code: 0 unless an item was
/// refused (65: the message cannot be applied, the decision says why).
pub(super) fn finish(
    decision: &Decision,
    format: DeliverFormat,
    reply: Option<&str>,
) -> Result<u8> {
    match format {
        DeliverFormat::Text => println!("{decision}"),
        DeliverFormat::Json => println!("{}", json(decision)),
    }
    if let (Some(path), Some(text)) = (reply, decision.reply.as_deref()) {
        std::fs::write(path, text).with_context(|| format!("writing the reply to {path}"))?;
    }
    if decision.items.iter().any(|i| i.action == Action::Refused) {
        return Ok(exit::DATA);
    }
    Ok(exit::OK)
}

fn json(d: &Decision) -> String {
    let items: Vec<serde_json::Value> = d
        .items
        .iter()
        .map(|i| {
            serde_json::json!({
                "uid": i.uid.as_str(),
                "rid": i.rid.as_ref().map(|r| r.as_str()),
                "action": i.action.code(),
                "reason": i.reason.code(),
                "detail": i.reason.detail(),
            })
        })
        .collect();
    let periods = |ps: &[calstore::Period]| -> serde_json::Value {
        serde_json::from_str(&output::json(ps)).unwrap_or(serde_json::Value::Null)
    };
    serde_json::to_string_pretty(&serde_json::json!({
        "items": items,
        "added": periods(&d.added),
        "removed": periods(&d.removed),
        "reply": d.reply.is_some(),
        "changes": d.step.changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
    .unwrap_or_default()
}
