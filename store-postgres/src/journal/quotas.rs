//! Quotas, limits, groups, delegates, the list of usage tables, reservation within a limit and
//! expiry.

use std::collections::BTreeMap;

use calstore::duration::parse_duration;
use calstore::{Error, Group, Limits, Period, Quota, Result, UsageTable, User, Version, Versioned};
use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

use super::PgJournal;
use crate::objects::{key_from, query};
use crate::periods::{self, Op};
use crate::pool::Access;
use crate::versions::{self, JOURNAL};

impl PgJournal {
    pub(super) async fn quotas_impl(&self) -> Result<Vec<Quota>> {
        let doing = "listing the quotas";
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT quota FROM quota_limits UNION SELECT quota FROM user_groups \
             UNION SELECT quota FROM quota_delegates UNION SELECT quota FROM quota_freebusy \
             UNION SELECT quota FROM user_freebusy UNION SELECT quota FROM journal_objects \
             UNION SELECT quota FROM journal_recurrences \
             UNION SELECT quota FROM journal_freebusy_providers \
             UNION SELECT quota FROM journal_freebusy_provider_datetimes ORDER BY 1",
            &[],
            doing,
        )
        .await?;
        let mut quotas = rows
            .iter()
            .map(|r| key_from(r.get(0), Quota::new, doing))
            .collect::<Result<Vec<_>>>()?;
        quotas.sort();
        Ok(quotas)
    }

    pub(super) async fn limits_impl(&self, quota: &Quota) -> Result<Versioned<Limits>> {
        let doing = format!("reading the limits of quota {quota}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT (SELECT coalesce(max(version), 0) FROM journal_versions \
                     WHERE quota = $1 AND table_name = 'limits'), \
                    ARRAY(SELECT user_group FROM quota_limits WHERE quota = $1 ORDER BY 1), \
                    ARRAY(SELECT quota_limit FROM quota_limits WHERE quota = $1 \
                          ORDER BY user_group)",
            &[&quota.as_str()],
            &doing,
        )
        .await?;
        let row = rows
            .first()
            .ok_or_else(|| Error::corrupt(format!("{doing}: no row")))?;
        let groups: Vec<String> = row.get(1);
        let values: Vec<String> = row.get(2);
        let mut limits = Limits::new();
        for (g, v) in groups.into_iter().zip(values) {
            limits.insert(key_from(g, Group::new, &doing)?, v);
        }
        Ok(Versioned {
            value: limits,
            version: versions::version_of(row.get(0)),
        })
    }

    pub(super) async fn set_limits_impl(
        &self,
        quota: &Quota,
        limits: &Limits,
        expect: Option<Version>,
    ) -> Result<Version> {
        let doing = format!("writing the limits of quota {quota}");
        for (group, value) in limits {
            parse_duration(value).map_err(|e| e.context(format!("{doing}: limit of {group}")))?;
        }
        let groups: Vec<&str> = limits.keys().map(Group::as_str).collect();
        let values: Vec<&str> = limits.values().map(String::as_str).collect();
        self.replace_rows(
            quota,
            &doing,
            Some(("limits", expect)),
            "DELETE FROM quota_limits WHERE quota = $1",
            "INSERT INTO quota_limits (quota, user_group, quota_limit) \
             SELECT $1::text, u.* FROM unnest($2::text[], $3::text[]) AS u",
            &[&groups, &values],
        )
        .await
    }

    pub(super) async fn groups_impl(&self, quota: &Quota) -> Result<BTreeMap<User, Group>> {
        let doing = format!("reading the groups of quota {quota}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT store_user, user_group FROM user_groups WHERE quota = $1",
            &[&quota.as_str()],
            &doing,
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    key_from(r.get(0), User::new, &doing)?,
                    key_from(r.get(1), Group::new, &doing)?,
                ))
            })
            .collect()
    }

    pub(super) async fn set_groups_impl(
        &self,
        quota: &Quota,
        groups: &BTreeMap<User, Group>,
    ) -> Result<()> {
        let users: Vec<&str> = groups.keys().map(User::as_str).collect();
        let names: Vec<&str> = groups.values().map(Group::as_str).collect();
        self.replace_rows(
            quota,
            &format!("writing the groups of quota {quota}"),
            None,
            "DELETE FROM user_groups WHERE quota = $1",
            "INSERT INTO user_groups (quota, store_user, user_group) \
             SELECT $1::text, u.* FROM unnest($2::text[], $3::text[]) AS u",
            &[&users, &names],
        )
        .await
        .map(|_| ())
    }

    pub(super) async fn delegates_impl(&self, quota: &Quota) -> Result<Vec<User>> {
        let doing = format!("reading the delegates of quota {quota}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT store_user FROM quota_delegates WHERE quota = $1 ORDER BY 1",
            &[&quota.as_str()],
            &doing,
        )
        .await?;
        let mut users = rows
            .iter()
            .map(|r| key_from(r.get(0), User::new, &doing))
            .collect::<Result<Vec<_>>>()?;
        users.sort();
        Ok(users)
    }

    pub(super) async fn set_delegates_impl(&self, quota: &Quota, delegates: &[User]) -> Result<()> {
        let mut users: Vec<&str> = delegates.iter().map(User::as_str).collect();
        users.sort_unstable();
        users.dedup();
        self.replace_rows(
            quota,
            &format!("writing the delegates of quota {quota}"),
            None,
            "DELETE FROM quota_delegates WHERE quota = $1",
            "INSERT INTO quota_delegates (quota, store_user) \
             SELECT $1::text, u.* FROM unnest($2::text[]) AS u",
            &[&users],
        )
        .await
        .map(|_| ())
    }

    pub(super) async fn usage_tables_impl(&self, quota: &Quota) -> Result<Vec<UsageTable>> {
        let doing = format!("listing the usage tables of quota {quota}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT 0, store_user FROM (SELECT DISTINCT store_user FROM user_freebusy \
                                        WHERE quota = $1) u \
             UNION ALL \
             SELECT 1, user_group FROM (SELECT DISTINCT user_group FROM quota_freebusy \
                                        WHERE quota = $1) g \
             ORDER BY 1, 2",
            &[&quota.as_str()],
            &doing,
        )
        .await?;
        let mut tables = rows
            .iter()
            .map(|r| {
                let name: String = r.get(1);
                Ok(if r.get::<_, i32>(0) == 0 {
                    UsageTable::User(key_from(name, User::stored, &doing)?)
                } else {
                    UsageTable::Journal(key_from(name, Group::new, &doing)?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tables.sort();
        Ok(tables)
    }

    pub(super) async fn reserve_within_limit_impl(
        &self,
        quota: &Quota,
        group: &Group,
        periods: Vec<Period>,
    ) -> Result<Version> {
        let table = UsageTable::Journal(group.clone());
        let t = super::target(quota, &table);
        periods::write(&self.pool, &t, None, Op::WithinLimit { periods }).await
    }

    pub(super) async fn expire_impl(&self, quota: &Quota, before: DateTime<Utc>) -> Result<usize> {
        let doing = format!("expiring the usage of quota {quota}");
        let pool = &self.pool;
        let mut client = pool.writer(&doing).await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pool.error(&e, &doing))?;
        versions::lock(pool, &tx, JOURNAL, quota.as_str()).await?;
        // Version names are those of UsageTable's Display: freebusy/<user>, journal/<group>.
        let stmt = tx
            .prepare_cached(
                "WITH j AS (DELETE FROM quota_freebusy WHERE quota = $1 AND \"end\" <= $2 \
                            RETURNING 'journal/' || user_group AS t), \
                      u AS (DELETE FROM user_freebusy WHERE quota = $1 AND \"end\" <= $2 \
                            RETURNING 'freebusy/' || store_user AS t) \
                 SELECT t, count(*) FROM (SELECT t FROM j UNION ALL SELECT t FROM u) x \
                 GROUP BY t ORDER BY t",
            )
            .await
            .map_err(|e| pool.error(&e, &doing))?;
        let rows = tx
            .query(&stmt, &[&quota.as_str(), &before])
            .await
            .map_err(|e| pool.error(&e, &doing))?;
        let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let removed: i64 = rows.iter().map(|r| r.get::<_, i64>(1)).sum();
        versions::bump_all(pool, &tx, JOURNAL, quota.as_str(), &names).await?;
        tx.commit().await.map_err(|e| pool.error(&e, &doing))?;
        Ok(usize::try_from(removed).unwrap_or(0))
    }

    /// Replaces a quota's rows in one transaction under its lock: `delete` with `$1` = quota,
    /// then `insert` with `$1` = quota and `params` after it (skipped when the first array is
    /// empty). With `versioned`, bumps that table's version, checking the expected one.
    async fn replace_rows(
        &self,
        quota: &Quota,
        doing: &str,
        versioned: Option<(&str, Option<Version>)>,
        delete: &str,
        insert: &str,
        params: &[&Vec<&str>],
    ) -> Result<Version> {
        let pool = &self.pool;
        let mut client = pool.writer(doing).await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pool.error(&e, doing))?;
        versions::lock(pool, &tx, JOURNAL, quota.as_str()).await?;
        let version = match versioned {
            Some((name, expect)) => {
                versions::bump(pool, &tx, JOURNAL, quota.as_str(), name, expect).await?
            }
            None => Version(0),
        };
        let q = quota.as_str();
        let stmt = tx
            .prepare_cached(delete)
            .await
            .map_err(|e| pool.error(&e, doing))?;
        tx.execute(&stmt, &[&q])
            .await
            .map_err(|e| pool.error(&e, doing))?;
        if params.first().is_some_and(|p| !p.is_empty()) {
            let mut all: Vec<&(dyn ToSql + Sync)> = vec![&q];
            all.extend(params.iter().map(|p| *p as &(dyn ToSql + Sync)));
            let stmt = tx
                .prepare_cached(insert)
                .await
                .map_err(|e| pool.error(&e, doing))?;
            tx.execute(&stmt, &all)
                .await
                .map_err(|e| pool.error(&e, doing))?;
        }
        tx.commit().await.map_err(|e| pool.error(&e, doing))?;
        Ok(version)
    }
}
