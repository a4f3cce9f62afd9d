//! Counter-proposals: `countered_objects` (parents) and `countered_recurrences` (instances),
//! keyed by (user, uid, rid, other).

use calstore::object::EventObject;
use calstore::{Error, Other, Result, Rid, Uid, User};

use super::PgStore;
use crate::objects::{key_from, query, write_on, On};
use crate::pool::Access;

fn what(uid: &Uid, rid: Option<&Rid>, user: &User) -> String {
    match rid {
        None => format!("event {uid} of user {user}"),
        Some(r) => format!("instance {r} of event {uid} of user {user}"),
    }
}

impl PgStore {
    pub(super) async fn put_counter_impl(
        &self,
        on: On<'_, '_>,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        let doing = format!(
            "storing the counter-proposal of {other} for {}",
            what(uid, rid, user)
        );
        if self.pool.is_read_only() {
            return Err(Error::read_only(format!("{doing}: the store is read-only")));
        }
        // The same objects as the file store, whose counters go through `parse_for_key`.
        calstore::object::refuse_nul(text).map_err(|e| e.context(&doing))?;
        let parsed = EventObject::parse(text).map_err(|e| e.context(&doing))?;
        if parsed.uid() != uid {
            return Err(Error::invalid(format!(
                "{doing}: the proposal's UID {:?} is not {:?}",
                parsed.uid().as_str(),
                uid.as_str()
            )));
        }
        let (u, o) = (uid.as_str(), other.as_str());
        match rid {
            None => {
                write_on(
                    &self.pool,
                    on,
                    "INSERT INTO countered_objects (store_user, other, object_uid, object_text, \
                     updated_at) VALUES ($1, $2, $3, $4, now()) \
                     ON CONFLICT (store_user, object_uid, other) DO UPDATE \
                     SET object_text = EXCLUDED.object_text, updated_at = now()",
                    &[&user.as_str(), &o, &u, &text],
                    &doing,
                )
                .await?;
            }
            Some(r) => {
                write_on(
                    &self.pool,
                    on,
                    "INSERT INTO countered_recurrences (store_user, other, object_uid, \
                     object_recurrenceid, object_text, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, now()) \
                     ON CONFLICT (store_user, object_uid, object_recurrenceid, other) DO UPDATE \
                     SET object_text = EXCLUDED.object_text, updated_at = now()",
                    &[&user.as_str(), &o, &u, &r.as_str(), &text],
                    &doing,
                )
                .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn get_counter_impl(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<String>> {
        let doing = format!(
            "reading the counter-proposal of {other} for {}",
            what(uid, rid, user)
        );
        let (u, o) = (uid.as_str(), other.as_str());
        let rows = match rid {
            None => {
                query(
                    &self.pool,
                    Access::Read,
                    "SELECT object_text FROM countered_objects WHERE store_user = $1 \
                     AND object_uid = $2 AND other = $3",
                    &[&user.as_str(), &u, &o],
                    &doing,
                )
                .await?
            }
            Some(r) => {
                query(
                    &self.pool,
                    Access::Read,
                    "SELECT object_text FROM countered_recurrences WHERE store_user = $1 \
                     AND object_uid = $2 AND object_recurrenceid = $3 AND other = $4",
                    &[&user.as_str(), &u, &r.as_str(), &o],
                    &doing,
                )
                .await?
            }
        };
        Ok(rows.first().map(|r| r.get(0)))
    }

    pub(super) async fn counter_proposers_impl(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Vec<Other>> {
        let doing = format!("listing the counter-proposals for {}", what(uid, rid, user));
        let u = uid.as_str();
        let rows = match rid {
            None => {
                query(
                    &self.pool,
                    Access::Read,
                    "SELECT other FROM countered_objects WHERE store_user = $1 \
                     AND object_uid = $2 ORDER BY other",
                    &[&user.as_str(), &u],
                    &doing,
                )
                .await?
            }
            Some(r) => {
                query(
                    &self.pool,
                    Access::Read,
                    "SELECT other FROM countered_recurrences WHERE store_user = $1 \
                     AND object_uid = $2 AND object_recurrenceid = $3 ORDER BY other",
                    &[&user.as_str(), &u, &r.as_str()],
                    &doing,
                )
                .await?
            }
        };
        rows.iter()
            .map(|r| key_from(r.get(0), Other::new, &doing))
            .collect()
    }

    pub(super) async fn counter_rids_impl(&self, user: &User, uid: &Uid) -> Result<Vec<Rid>> {
        let doing = format!("listing the countered instances of event {uid} of user {user}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT DISTINCT object_recurrenceid FROM countered_recurrences \
             WHERE store_user = $1 AND object_uid = $2 ORDER BY 1",
            &[&user.as_str(), &uid.as_str()],
            &doing,
        )
        .await?;
        rows.iter()
            .map(|r| key_from(r.get(0), Rid::new, &doing))
            .collect()
    }

    pub(super) async fn counters_impl(
        &self,
        user: &User,
    ) -> Result<Vec<(Uid, Option<Rid>, Other)>> {
        let doing = format!("listing the counter-proposals of user {user}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT object_uid, '' AS object_recurrenceid, other FROM countered_objects \
             WHERE store_user = $1 \
             UNION ALL SELECT object_uid, object_recurrenceid, other FROM countered_recurrences \
             WHERE store_user = $1 ORDER BY 1, 2, 3",
            &[&user.as_str()],
            &doing,
        )
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                let rid: String = r.get(1);
                Ok((
                    key_from(r.get(0), Uid::new, &doing)?,
                    if rid.is_empty() {
                        None
                    } else {
                        Some(key_from(rid, Rid::new, &doing)?)
                    },
                    key_from(r.get(2), Other::new, &doing)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    pub(super) async fn remove_counter_impl(
        &self,
        on: On<'_, '_>,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<bool> {
        let doing = format!(
            "removing the counter-proposal of {other} for {}",
            what(uid, rid, user)
        );
        let (u, o) = (uid.as_str(), other.as_str());
        // Only this one proposal: for a parent, the instances' proposals stay.
        let rows =
            match rid {
                None => {
                    write_on(
                        &self.pool,
                        on,
                        "DELETE FROM countered_objects WHERE store_user = $1 AND object_uid = $2 \
                     AND other = $3 RETURNING 1",
                        &[&user.as_str(), &u, &o],
                        &doing,
                    )
                    .await?
                }
                Some(r) => write_on(
                    &self.pool,
                    on,
                    "DELETE FROM countered_recurrences WHERE store_user = $1 AND object_uid = $2 \
                     AND object_recurrenceid = $3 AND other = $4 RETURNING 1",
                    &[&user.as_str(), &u, &r.as_str(), &o],
                    &doing,
                )
                .await?,
            };
        Ok(!rows.is_empty())
    }

    pub(super) async fn remove_counters_impl(
        &self,
        on: On<'_, '_>,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> Result<usize> {
        let doing = format!(
            "removing the counter-proposals for {}",
            what(uid, rid, user)
        );
        let u = uid.as_str();
        let only = only.map(Other::as_str);
        let rows = match rid {
            // The parent's proposals go with those of every instance.
            None => {
                write_on(
                    &self.pool,
                    on,
                    "WITH p AS (DELETE FROM countered_objects WHERE store_user = $1 \
                       AND object_uid = $2 AND ($3::text IS NULL OR other = $3) RETURNING 1), \
                     i AS (DELETE FROM countered_recurrences WHERE store_user = $1 \
                       AND object_uid = $2 AND ($3::text IS NULL OR other = $3) RETURNING 1) \
                     SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM i)",
                    &[&user.as_str(), &u, &only],
                    &doing,
                )
                .await?
            }
            Some(r) => {
                write_on(
                    &self.pool,
                    on,
                    "WITH i AS (DELETE FROM countered_recurrences WHERE store_user = $1 \
                       AND object_uid = $2 AND object_recurrenceid = $4 \
                       AND ($3::text IS NULL OR other = $3) RETURNING 1) \
                     SELECT count(*) FROM i",
                    &[&user.as_str(), &u, &only, &r.as_str()],
                    &doing,
                )
                .await?
            }
        };
        let n: i64 = rows.first().map_or(0, |r| r.get(0));
        Ok(usize::try_from(n).unwrap_or(0))
    }
}
