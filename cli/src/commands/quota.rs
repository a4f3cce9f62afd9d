//! `calstore quota --quota Q set-limits|set-groups|set-delegates …`: replaces one configuration
//! table of a quota group through the `Journal` trait, on whichever backend the options open.
//! Values are validated by the library (`calstore::journal::*_from`) before the journal opens,
//! so a bad one writes nothing.

use anyhow::Result;
use calstore::journal::{delegates_from, groups_from, limits_from};
use calstore::{Journal, Quota};

use crate::args::{Global, QuotaAction, QuotaArgs};
use crate::backend;

/// Splits `KEY=VALUE` arguments; one without `=` is a usage error (64).
fn pairs<'a>(args: &'a [String], form: &str) -> Result<Vec<(&'a str, &'a str)>> {
    args.iter()
        .map(|a| {
            a.split_once('=').ok_or_else(|| {
                crate::exit::exit(
                    crate::exit::USAGE,
                    format!("{a:?} is not of the form {form}"),
                )
            })
        })
        .collect()
}

/// A value the library refuses (bad duration, user or group): bad input data (65).
fn data(e: calstore::Error) -> anyhow::Error {
    crate::exit::exit(crate::exit::DATA, e.message().to_owned())
}

pub async fn run(global: &Global, args: &QuotaArgs) -> Result<u8> {
    let quota = Quota::new(args.quota.as_str())
        .map_err(|e| crate::exit::exit(crate::exit::USAGE, format!("--quota: {}", e.message())))?;
    // Everything is read before the journal opens: a bad value never touches it.
    let change = match &args.action {
        QuotaAction::SetLimits { limits } => {
            Change::Limits(limits_from(pairs(limits, "GROUP=DURATION")?).map_err(data)?)
        }
        QuotaAction::SetGroups { groups } => {
            Change::Groups(groups_from(pairs(groups, "USER=GROUP")?).map_err(data)?)
        }
        QuotaAction::SetDelegates { delegates } => {
            Change::Delegates(delegates_from(delegates.iter().map(String::as_str)).map_err(data)?)
        }
    };
    let journal = backend::open_journal(global).await?;
    // The journal's errors name the quota and table themselves.
    write(&journal, &quota, &change).await?;
    Ok(crate::exit::OK)
}

enum Change {
    Limits(calstore::Limits),
    Groups(std::collections::BTreeMap<calstore::User, calstore::Group>),
    Delegates(Vec<calstore::User>),
}

async fn write<J: Journal>(journal: &J, quota: &Quota, change: &Change) -> Result<()> {
    let (table, n) = match change {
        Change::Limits(l) => {
            journal.set_limits(quota, l, None).await?;
            ("limits", l.len())
        }
        Change::Groups(g) => {
            journal.set_groups(quota, g).await?;
            ("groups", g.len())
        }
        Change::Delegates(d) => {
            journal.set_delegates(quota, d).await?;
            ("delegates", d.len())
        }
    };
    println!("quota {quota}: {table} replaced, {n} entries");
    Ok(())
}
