//! Preferences, the list of users and of other participants.

use std::collections::BTreeMap;

use calstore::{Error, Other, PrefName, Result, User};

use super::PgStore;
use crate::objects::{key_from, query, write_on, On};
use crate::pool::Access;

impl PgStore {
    pub(super) async fn users_impl(&self) -> Result<Vec<User>> {
        let doing = "listing the users";
        // Every table that holds something of a user; UNION removes repeats.
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT store_user FROM objects UNION SELECT store_user FROM recurrences \
             UNION SELECT store_user FROM requests \
             UNION SELECT store_user FROM countered_objects \
             UNION SELECT store_user FROM countered_recurrences \
             UNION SELECT store_user FROM freebusy UNION SELECT store_user FROM freebusy_offers \
             UNION SELECT store_user FROM freebusy_other \
             UNION SELECT store_user FROM freebusy_providers \
             UNION SELECT store_user FROM freebusy_provider_datetimes \
             UNION SELECT store_user FROM preferences ORDER BY 1",
            &[],
            doing,
        )
        .await?;
        let mut users = rows
            .iter()
            .map(|r| key_from(r.get(0), User::stored, doing))
            .collect::<Result<Vec<_>>>()?;
        users.sort();
        Ok(users)
    }

    pub(super) async fn others_impl(&self, user: &User) -> Result<Vec<Other>> {
        let doing = format!("listing the other participants of user {user}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT DISTINCT other FROM freebusy_other WHERE store_user = $1 ORDER BY 1",
            &[&user.as_str()],
            &doing,
        )
        .await?;
        rows.iter()
            .map(|r| key_from(r.get(0), Other::new, &doing))
            .collect()
    }

    pub(super) async fn preferences_impl(&self, user: &User) -> Result<BTreeMap<PrefName, String>> {
        let doing = format!("reading the preferences of user {user}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT name, value FROM preferences WHERE store_user = $1",
            &[&user.as_str()],
            &doing,
        )
        .await?;
        rows.iter()
            .map(|r| Ok((key_from(r.get(0), PrefName::new, &doing)?, r.get(1))))
            .collect()
    }

    pub(super) async fn preference_impl(
        &self,
        user: &User,
        name: &PrefName,
    ) -> Result<Option<String>> {
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT value FROM preferences WHERE store_user = $1 AND name = $2",
            &[&user.as_str(), &name.as_str()],
            &format!("reading preference {name} of user {user}"),
        )
        .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    pub(super) async fn set_preference_impl(
        &self,
        on: On<'_, '_>,
        user: &User,
        name: &PrefName,
        value: Option<&str>,
    ) -> Result<()> {
        let doing = format!("setting preference {name} of user {user}");
        if self.pool.is_read_only() {
            return Err(Error::read_only(format!("{doing}: the store is read-only")));
        }
        match value {
            Some(v) if v.contains('\0') => Err(Error::invalid(format!(
                "{doing}: a value must not contain a NUL character"
            ))),
            Some(v) => {
                write_on(
                    &self.pool,
                    on,
                    "INSERT INTO preferences (store_user, name, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (store_user, name) DO UPDATE SET value = EXCLUDED.value",
                    &[&user.as_str(), &name.as_str(), &v],
                    &doing,
                )
                .await?;
                Ok(())
            }
            None => {
                write_on(
                    &self.pool,
                    on,
                    "DELETE FROM preferences WHERE store_user = $1 AND name = $2",
                    &[&user.as_str(), &name.as_str()],
                    &doing,
                )
                .await?;
                Ok(())
            }
        }
    }
}
