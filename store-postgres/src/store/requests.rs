//! The request queue: `requests`, ordered by position, unique per (uid, rid, method).

use calstore::id::parse_rid_text;
use calstore::{Error, QueueKind, Request, Result, Rid, Uid, User};
use deadpool_postgres::GenericClient;

use super::PgStore;
use crate::objects::{key_from, query, rid_param, run_on};
use crate::pool::{Access, PgPool};
use crate::versions::{self, STORE};

impl PgStore {
    pub(super) async fn requests_impl(&self, user: &User) -> Result<Vec<Request>> {
        let doing = format!("reading the request queue of user {user}");
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT object_uid, object_recurrenceid, request_type FROM requests \
             WHERE store_user = $1 ORDER BY position",
            &[&user.as_str()],
            &doing,
        )
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Request {
                    uid: key_from(row.get(0), Uid::new, &doing)?,
                    rid: parse_rid_text(row.get(1))
                        .map_err(|e| Error::corrupt(format!("{doing}: {}", e.message())))?,
                    method: QueueKind::parse(row.get(2))
                        .map_err(|e| Error::corrupt(format!("{doing}: {}", e.message())))?,
                })
            })
            .collect()
    }

    pub(super) async fn queue_request_impl(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: QueueKind,
    ) -> Result<bool> {
        let doing = format!("queueing a request for {uid} of user {user}");
        let client = self.pool.writer(&doing).await?;
        queue_on(&self.pool, &client, user, uid, rid, method).await
    }

    pub(super) async fn dequeue_request_impl(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<bool> {
        let rows = query(
            &self.pool,
            Access::Write,
            "DELETE FROM requests WHERE store_user = $1 AND object_uid = $2 \
             AND object_recurrenceid = $3 RETURNING 1",
            &[&user.as_str(), &uid.as_str(), &rid_param(rid)],
            &format!("dequeueing the requests for {uid} of user {user}"),
        )
        .await?;
        Ok(!rows.is_empty())
    }

    pub(super) async fn set_requests_impl(&self, user: &User, requests: &[Request]) -> Result<()> {
        let doing = format!("replacing the request queue of user {user}");
        // Repeated entries are kept once, at their first place.
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<&Request> = requests.iter().filter(|r| seen.insert(*r)).collect();
        let uids: Vec<&str> = unique.iter().map(|r| r.uid.as_str()).collect();
        let rids: Vec<&str> = unique.iter().map(|r| rid_param(r.rid.as_ref())).collect();
        let methods: Vec<&str> = unique.iter().map(|r| r.method.as_str()).collect();
        let pool = &self.pool;
        let mut client = pool.writer(&doing).await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pool.error(&e, &doing))?;
        versions::lock(pool, &tx, STORE, user.as_str()).await?;
        let delete = tx
            .prepare_cached("DELETE FROM requests WHERE store_user = $1")
            .await
            .map_err(|e| pool.error(&e, &doing))?;
        tx.execute(&delete, &[&user.as_str()])
            .await
            .map_err(|e| pool.error(&e, &doing))?;
        if !uids.is_empty() {
            // The sorted subquery feeds the identity column in queue order.
            let insert = tx
                .prepare_cached(
                    "INSERT INTO requests (store_user, object_uid, object_recurrenceid, \
                     request_type) SELECT $1::text, q.u, q.r, q.m FROM \
                     (SELECT u, r, m FROM unnest($2::text[], $3::text[], $4::text[]) \
                      WITH ORDINALITY AS x(u, r, m, n) ORDER BY n) AS q \
                     ON CONFLICT DO NOTHING",
                )
                .await
                .map_err(|e| pool.error(&e, &doing))?;
            tx.execute(&insert, &[&user.as_str(), &uids, &rids, &methods])
                .await
                .map_err(|e| pool.error(&e, &doing))?;
        }
        tx.commit().await.map_err(|e| pool.error(&e, &doing))
    }

    pub(super) async fn have_request_impl(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: Option<QueueKind>,
    ) -> Result<bool> {
        let rows = query(
            &self.pool,
            Access::Read,
            "SELECT EXISTS (SELECT 1 FROM requests WHERE store_user = $1 AND object_uid = $2 \
             AND object_recurrenceid = $3 AND ($4::text IS NULL OR request_type = $4))",
            &[
                &user.as_str(),
                &uid.as_str(),
                &rid_param(rid),
                &method.map(QueueKind::as_str),
            ],
            &format!("looking for a request for {uid} of user {user}"),
        )
        .await?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }
}

/// Queues a request through `client` (a pooled connection, or the agent step's transaction);
/// returns whether it was added. One statement: the unique rule makes two agents queueing the
/// same request leave one entry.
pub(super) async fn queue_on<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    user: &User,
    uid: &Uid,
    rid: Option<&Rid>,
    method: QueueKind,
) -> Result<bool> {
    let rows = run_on(
        pool,
        client,
        "INSERT INTO requests (store_user, object_uid, object_recurrenceid, request_type) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (store_user, object_uid, object_recurrenceid, \
         request_type) DO NOTHING RETURNING 1",
        &[
            &user.as_str(),
            &uid.as_str(),
            &rid_param(rid),
            &method.as_str(),
        ],
        &format!("queueing a request for {uid} of user {user}"),
    )
    .await?;
    Ok(!rows.is_empty())
}
