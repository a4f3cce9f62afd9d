//! `calstore preferences`: lists, prints or sets a user's settings.

use anyhow::{Context, Result};
use calstore::refresh::{parse_tz, parse_window_days};
use calstore::{PrefName, Store};

use crate::args::{Global, PreferencesArgs};
use crate::backend;

use calstore::agent::resource::AVAILABILITY;

pub async fn run(global: &Global, args: &PreferencesArgs) -> Result<u8> {
    let user = super::parse_user(&args.user)?;
    let name = args
        .name
        .as_deref()
        .map(PrefName::new)
        .transpose()
        .context("preference name")?;
    if let (Some(n), Some(v)) = (&name, &args.value) {
        // Validate the settings calstore reads; keep others untouched.
        match n.as_str() {
            "TZID" => drop(parse_tz(v)?),
            "window_size" => drop(parse_window_days(v)?),
            "freebusy_offers" => drop(calstore::agent::parse_offer_hold(v)?),
            _ => {}
        }
    }
    let store = backend::open_store(global).await?;
    // Setting a preference may introduce a user; reading or removing one needs a known user.
    if args.value.is_none() {
        super::known_user(&store, &user).await?;
    }
    apply(&store, &user, name.as_ref(), args).await
}

async fn apply<S: Store>(
    store: &S,
    user: &calstore::User,
    name: Option<&PrefName>,
    args: &PreferencesArgs,
) -> Result<u8> {
    match (name, &args.value) {
        (None, _) => {
            for (n, v) in store.preferences(user).await? {
                println!(
                    "{}\t{}",
                    calstore::period::escape_field(n.as_str()),
                    calstore::period::escape_field(&v)
                );
            }
        }
        // The availability is also rows of the user's table: set through the library, which
        // rewrites them.
        (Some(n), None) if args.unset && n.as_str() == AVAILABILITY => {
            calstore::agent::resource::set_availability(store, user, None).await?
        }
        (Some(n), None) if args.unset => store.set_preference(user, n, None).await?,
        (Some(n), None) => match store.preference(user, n).await? {
            Some(v) => println!("{v}"),
            None => {
                return Err(
                    calstore::Error::not_found(format!("{user} has no preference {n}")).into(),
                )
            }
        },
        (Some(n), Some(v)) if n.as_str() == AVAILABILITY => {
            calstore::agent::resource::set_availability(store, user, Some(v)).await?
        }
        (Some(n), Some(v)) => store.set_preference(user, n, Some(v)).await?,
    }
    Ok(crate::exit::OK)
}
