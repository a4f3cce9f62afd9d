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
mod merge_user;
mod preferences;
mod quota;
mod quota_freebusy;
mod schema;

use anyhow::{Context, Result};
use calstore::id::normalise_address;
use calstore::{Store, User};

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
        Command::Quota(a) => quota::run(g, a).await,
        Command::Copy(a) => copy::run(g, a).await,
        Command::MergeUser(a) => merge_user::run(g, a).await,
        Command::Deliver(a) => deliver::run(g, a).await,
        Command::Answer(a) => answer::run(g, a).await,
    }
}

/// Parses a `--user` value.
pub fn parse_user(value: &str) -> Result<User> {
    User::new(value).with_context(|| format!("--user {value:?}"))
}

/// Fails with EX_NOUSER (67) unless the store knows `user`: a query for a name it does not
/// hold would otherwise answer "free". Names another spelling the store holds, if any.
pub async fn known_user<S: Store>(store: &S, user: &User) -> Result<()> {
    let users = store.users().await?;
    // An entry the listing could not read (a link, a stray file) may be this user: the read
    // itself then reports it, rather than a confident "unknown".
    if users.contains(user) || !store.unlisted_users().await?.is_empty() {
        return Ok(());
    }
    let spelled: Vec<&str> = users
        .iter()
        .filter(|u| normalise_address(u.as_str()) == user.as_str())
        .map(User::as_str)
        .collect();
    let hint = if spelled.is_empty() {
        "users appear with `import`, `preferences --user U NAME VALUE` or an agent's first write"
            .to_owned()
    } else {
        format!(
            "the store holds it spelled {}; `calstore check` lists such spellings",
            spelled.join(", ")
        )
    };
    Err(crate::exit::exit(
        crate::exit::NO_USER,
        format!("unknown user {user}: the store holds no data for it ({hint})"),
    ))
}

/// A missing, unreadable or directory input file: EX_NOINPUT (66), naming the file.
pub fn no_input(name: &str, e: &std::io::Error) -> anyhow::Error {
    let why = if std::path::Path::new(name).is_dir() {
        "is a directory, not a file".to_owned()
    } else if e.kind() == std::io::ErrorKind::NotFound {
        "does not exist".to_owned()
    } else {
        format!("cannot be read: {e}")
    };
    crate::exit::exit(crate::exit::NO_INPUT, format!("input file {name} {why}"))
}

/// Fails with EX_NOUSER (67) unless the journal knows `quota`.
pub async fn known_quota<J: calstore::Journal>(journal: &J, quota: &calstore::Quota) -> Result<()> {
    if journal.quotas().await?.contains(quota) {
        Ok(())
    } else {
        Err(crate::exit::exit(
            crate::exit::NO_USER,
            format!("unknown quota {quota}: the journal holds no data for it"),
        ))
    }
}

/// Parses an instant given as RFC 3339 or iCalendar UTC.
pub fn parse_instant(value: &str, what: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    calstore::period::parse_instant(value).with_context(|| what.to_owned())
}
