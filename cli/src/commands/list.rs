//! `calstore list`: dumps one table as TAB-separated lines.

use anyhow::{Context, Result};
use calstore::Quota;

use crate::args::{Global, ListArgs};
use crate::{backend, dump, with_journal, with_store};

pub async fn run(global: &Global, args: &ListArgs) -> Result<u8> {
    let lines = if let Some(q) = &args.quota {
        let quota = Quota::new(q.as_str()).with_context(|| format!("--quota {q:?}"))?;
        let journal = backend::open_journal(global).await?;
        with_journal!(&journal, j => dump::journal_table(j, &quota, &args.table).await)?
    } else {
        let user = super::parse_user(args.user.as_deref().unwrap_or_default())?;
        let store = backend::open_store(global).await?;
        with_store!(&store, s => dump::store_table(s, &user, &args.table).await)?
    };
    let mut out = String::new();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    print!("{out}");
    Ok(crate::exit::OK)
}
