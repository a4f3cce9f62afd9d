//! `calstore schema install | upgrade | status`: the PostgreSQL schema (POSTGRES.md).

use anyhow::Result;
use calstore::config::Location;
use calstore_postgres::schema::{self, Roles};

use crate::args::{Global, RoleArgs, SchemaAction, SchemaArgs};
use crate::backend;

pub async fn run(global: &Global, args: &SchemaArgs) -> Result<u8> {
    let conninfo = postgres_location(global)?;
    match &args.action {
        SchemaAction::Install(roles) => install(&conninfo, global, roles, false).await,
        SchemaAction::Upgrade(roles) => install(&conninfo, global, roles, true).await,
        SchemaAction::Status => {
            let client = calstore_postgres::connect_client(&conninfo).await?;
            let status = schema::status(&client).await?;
            println!("{status}");
            Ok(if status.is_current() {
                crate::exit::OK
            } else {
                crate::exit::FAILURE
            })
        }
    }
}

/// The store's connection string; the schema commands only make sense for PostgreSQL.
pub fn postgres_location(global: &Global) -> Result<String> {
    match backend::locations(global)?.0 {
        Location::Postgres(c) => Ok(c),
        Location::File(p) => Err(crate::exit::exit(
            2,
            format!("the store {} is a directory; schema commands need a PostgreSQL store (--store postgresql://…)", p.display()),
        )),
    }
}

/// Installs (or upgrades) the schema and grants the roles; prints the report.
pub async fn install(
    conninfo: &str,
    global: &Global,
    roles: &RoleArgs,
    upgrade: bool,
) -> Result<u8> {
    if global.read_only {
        return Err(calstore::Error::read_only(
            "schema changes write; the store was opened read-only",
        )
        .into());
    }
    let roles = Roles {
        writer: roles.writer.clone(),
        reader: roles.reader.clone(),
    };
    let roles = (roles.writer.is_some() || roles.reader.is_some()).then_some(roles);
    let mut client = calstore_postgres::connect_client(conninfo).await?;
    let report = if upgrade {
        schema::upgrade(&mut client, roles.as_ref()).await?
    } else {
        schema::install(&mut client, roles.as_ref()).await?
    };
    println!("{report}");
    Ok(crate::exit::OK)
}
