//! The users a store holds under a spelling [`User::new`] would not make: a store written
//! before user keys were normalised (or by another program) may hold `MAILTO:Alice@Example.com`
//! beside `mailto:alice@example.com`, and every query for one spelling misses the other's data.

use std::collections::BTreeMap;

use calstore::id::normalise_address;
use calstore::{Result, Store, User};

/// One problem line per address the store holds under a spelling that is not its normal one:
/// two or more spellings of one user, or a single spelling no command can name.
///
/// # Errors
///
/// The errors of listing the users.
pub async fn user_spellings<S: Store>(store: &S) -> Result<Vec<String>> {
    let mut by_address: BTreeMap<String, Vec<User>> = BTreeMap::new();
    for user in store.users().await? {
        by_address
            .entry(normalise_address(user.as_str()))
            .or_default()
            .push(user);
    }
    let mut problems = Vec::new();
    for (normal, spellings) in by_address {
        if spellings.iter().all(User::is_normal) {
            continue;
        }
        let names: Vec<&str> = spellings.iter().map(User::as_str).collect();
        problems.push(if names.len() > 1 {
            format!(
                "user {normal}: the store holds {} spellings of it ({}); queries for one miss the data of the others; merge with `calstore merge-user --from SPELLING`",
                names.len(),
                names.join(", ")
            )
        } else {
            format!(
                "user {normal}: the store holds it spelled {}, which no command names; merge with `calstore merge-user --from {}`",
                names[0], names[0]
            )
        });
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use calstore::{PrefName, Store};

    #[tokio::test]
    async fn two_spellings_of_one_user_are_reported() {
        let store = calstore::memory::MemoryStore::new();
        let tz = PrefName::new("TZID").unwrap();
        let normal = User::new("mailto:alice@example.com").unwrap();
        store
            .set_preference(&normal, &tz, Some("UTC"))
            .await
            .unwrap();
        assert!(user_spellings(&store).await.unwrap().is_empty());
        let other = User::stored("MAILTO:Alice@Example.com").unwrap();
        store
            .set_preference(&other, &tz, Some("UTC"))
            .await
            .unwrap();
        let problems = user_spellings(&store).await.unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("2 spellings"), "{}", problems[0]);
    }
}
