//! `calstore init`: creates the file store's roots (or installs the PostgreSQL schema).

use anyhow::Result;
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
    // Creates the missing directories and records where the journal and preferences are in a
    // new file store, so every later run finds the same ones.
    backend::open_store_creating(global).await?;
    backend::open_journal(global).await?;
    println!("initialised store {store}, journal {journal}, preferences {preferences}");
    for (part, location) in [
        ("store", &store),
        ("journal", &journal),
        ("preferences", &preferences),
    ] {
        println!("  {part:<12}{location}");
    }
    Ok(crate::exit::OK)
}
