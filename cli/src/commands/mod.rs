//! One module per subcommand; `run` dispatches.

mod answer;
mod check;
mod copy;
mod deliver;
mod expire_quotas;
mod freebusy;
mod import;
mod init;
mod list;
mod make_freebusy;
mod preferences;
mod quota_freebusy;
mod schema;

use anyhow::{Context, Result};
use calstore::User;

use crate::args::{Cli, Command};

/// Runs the parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> Result<u8> {
    let g = &cli.global;
    match &cli.command {
        Command::Init => init::run(g).await,
        Command::Schema(a) => schema::run(g, a).await,
        Command::Import(a) => import::run(g, a).await,
        Command::Freebusy(a) => freebusy::run(g, a).await,
        Command::List(a) => list::run(g, a).await,
        Command::Check => check::run(g).await,
        Command::Preferences(a) => preferences::run(g, a).await,
        Command::MakeFreebusy(a) => make_freebusy::run(g, a).await,
        Command::ExpireQuotas(a) => expire_quotas::run(g, a).await,
        Command::Copy(a) => copy::run(g, a).await,
        Command::Deliver(a) => deliver::run(g, a).await,
        Command::Answer(a) => answer::run(g, a).await,
    }
}

/// Parses a `--user` value.
pub fn parse_user(value: &str) -> Result<User> {
    User::new(value).with_context(|| format!("--user {value:?}"))
}

/// Parses an instant given as RFC 3339 or iCalendar UTC.
pub fn parse_instant(value: &str, what: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    calstore::period::parse_instant(value).with_context(|| what.to_owned())
}
