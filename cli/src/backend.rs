//! Opening the store and journal named by the global options and the configuration file:
//! argument handling only. Where everything is and how it opens is `calstore_any::Plan`;
//! [`AnyStore`] and [`AnyJournal`] implement `Store` and `Journal` themselves.

use anyhow::{Context, Result};
use calstore::config::Location;
use calstore_any::Plan;
pub use calstore_any::{AnyJournal, AnyStore};

use crate::args::Global;

/// A configuration problem is bad usage (exit 2), stated as the library words it (file, key,
/// reason).
fn usage(e: calstore::Error) -> anyhow::Error {
    crate::exit::exit(2, e.message().to_owned())
}

/// Reads the configuration file (if any) and decides every location (`--store`/`CALSTORE_STORE`
/// and `--journal`/`CALSTORE_JOURNAL` override the configured instance; see
/// [`Plan::resolve`]).
pub fn plan(global: &Global) -> Result<Plan> {
    let parse = |value: &Option<String>, option: &'static str| -> Result<Option<Location>> {
        value
            .as_deref()
            .map(|s| Location::parse(s).context(option))
            .transpose()
    };
    let locations = calstore_any::Locations {
        store: parse(&global.store, "--store")?,
        journal: parse(&global.journal, "--journal")?,
        preferences: parse(&global.preferences, "--preferences")?,
        config: global.config.clone(),
        instance: global.instance.clone(),
    };
    Plan::resolve(&locations).map_err(usage)
}

/// The three locations the options name, with the defaults of CLI.md.
pub fn locations(global: &Global) -> Result<(Location, Location, Location)> {
    let plan = plan(global)?;
    Ok((plan.store, plan.journal, plan.preferences))
}

/// A problem with the paths named (colliding roots, a store that is a file) is a usage error
/// (64); anything else keeps its own code (a missing store is unavailable, 69).
fn paths(e: calstore::Error) -> anyhow::Error {
    if e.kind() == calstore::ErrorKind::InvalidInput {
        crate::exit::exit(crate::exit::USAGE, e.message().to_owned())
    } else {
        e.into()
    }
}

/// The plan of an existing store: its roots apart, and a file store's root there.
fn existing(global: &Global) -> Result<Plan> {
    let plan = plan(global)?;
    plan.check_apart().map_err(paths)?;
    plan.require_store().map_err(paths)?;
    if let Some(problem) = plan.unrecorded_layout_problem() {
        return Err(crate::exit::exit(crate::exit::USAGE, problem));
    }
    Ok(plan)
}

/// Opens the store, which must exist (`no store at …; run calstore init`, exit 69).
pub async fn open_store(global: &Global) -> Result<AnyStore> {
    let plan = existing(global)?;
    if let Some(problem) = plan.preferences_mismatch() {
        return Err(crate::exit::exit(2, problem));
    }
    Ok(plan.open_store(global.read_only).await?)
}

/// Opens the store, creating a file store's missing roots and recording its layout first
/// (`init` and `import`; read-only, it must exist).
pub async fn open_store_creating(global: &Global) -> Result<AnyStore> {
    let plan = plan(global)?;
    if global.read_only {
        return open_store(global).await;
    }
    if let Some(problem) = plan.preferences_mismatch() {
        return Err(crate::exit::exit(2, problem));
    }
    plan.create_file_roots().map_err(paths)?;
    Ok(plan.open_store(false).await?)
}

/// Opens the journal of an existing store.
pub async fn open_journal(global: &Global) -> Result<AnyJournal> {
    Ok(existing(global)?.open_journal(global.read_only).await?)
}

/// The temporary files that killed writes left under the file roots (see
/// [`calstore_any::leftovers`]).
///
/// # Errors
///
/// Listing or removing a file failed, or `remove` on a read-only store.
pub async fn leftovers(
    store: Option<&AnyStore>,
    journal: Option<&AnyJournal>,
    remove: bool,
) -> calstore::Result<calstore_file::Leftovers> {
    calstore_any::leftovers(store, journal, remove).await
}
