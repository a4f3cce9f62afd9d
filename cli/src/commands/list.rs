//! `calstore list`: dumps one table as TAB-separated lines (`calstore_any::dump`).

use anyhow::{Context, Result};
use calstore::Quota;
use calstore_any::dump;

use crate::args::{Global, ListArgs};
use crate::backend;

pub async fn run(global: &Global, args: &ListArgs) -> Result<u8> {
    let lines = if let Some(q) = &args.quota {
        let quota = Quota::new(q.as_str()).with_context(|| format!("--quota {q:?}"))?;
        let journal = backend::open_journal(global).await?;
        super::known_quota(&journal, &quota).await?;
        dump::journal_table(&journal, &quota, &args.table).await?
    } else {
        let user = super::parse_user(args.user.as_deref().unwrap_or_default())?;
        let store = backend::open_store(global).await?;
        super::known_user(&store, &user).await?;
        dump::store_table(&store, &user, &args.table).await?
    };
    let mut out = String::new();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    print!("{out}");
    Ok(crate::exit::OK)
}
