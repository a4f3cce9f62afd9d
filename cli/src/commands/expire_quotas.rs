//! `calstore expire-quotas`: drops usage that ended before an instant, atomically per quota.

use anyhow::{Context, Result};
use calstore::{Journal, Quota};
use chrono::Utc;

use crate::args::{ExpireQuotasArgs, Global};
use crate::backend;

pub async fn run(global: &Global, args: &ExpireQuotasArgs) -> Result<u8> {
    let before = match &args.before {
        Some(t) => super::parse_instant(t, "--before")?,
        None => Utc::now(),
    };
    let named = args
        .quotas
        .iter()
        .map(|q| Quota::new(q.as_str()).with_context(|| format!("quota {q:?}")))
        .collect::<Result<Vec<_>>>()?;
    if !args.all && named.is_empty() {
        return Err(crate::exit::exit(2, "name the quotas to expire, or --all"));
    }
    let journal = backend::open_journal(global).await?;
    expire(&journal, args.all, named, before).await
}

async fn expire<J: Journal>(
    journal: &J,
    all: bool,
    named: Vec<Quota>,
    before: chrono::DateTime<Utc>,
) -> Result<u8> {
    let quotas = if all {
        journal.quotas().await?
    } else {
        for q in &named {
            super::known_quota(journal, q).await?;
        }
        named
    };
    let mut removed = 0;
    for q in &quotas {
        removed += journal
            .expire(q, before)
            .await
            .with_context(|| format!("quota {q}"))?;
    }
    println!(
        "expire-quotas: {} quotas, {removed} periods ended by {} removed",
        quotas.len(),
        calstore::period::format_instant(before)
    );
    Ok(crate::exit::OK)
}
