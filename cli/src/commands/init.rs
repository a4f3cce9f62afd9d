//! `calstore init`: creates the file store's roots (or installs the PostgreSQL schema).

use anyhow::{Context, Result};
use calstore::config::Location;

use crate::args::Global;
use crate::backend;

pub async fn run(global: &Global) -> Result<u8> {
    if global.read_only {
        return Err(
            calstore::Error::read_only("init writes; the store was opened read-only").into(),
        );
    }
    let (store, journal, preferences) = backend::locations(global)?;
    if let Location::Postgres(conninfo) = &store {
        let roles = crate::args::RoleArgs {
            writer: None,
            reader: None,
        };
        super::schema::install(conninfo, global, &roles, false).await?;
    }
    if let (Location::Postgres(j), false) = (&journal, journal == store) {
        let roles = crate::args::RoleArgs {
            writer: None,
            reader: None,
        };
        super::schema::install(j, global, &roles, false).await?;
    }
    for location in [&store, &journal, &preferences] {
        if let Location::File(dir) = location {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    // Opening checks the roots are usable.
    backend::open_store(global).await?;
    backend::open_journal(global).await?;
    println!("initialised store {store}, journal {journal}, preferences {preferences}");
    Ok(crate::exit::OK)
}
