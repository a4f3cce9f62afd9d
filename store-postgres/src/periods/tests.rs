//! The plans of the overlap statements as this module sends them: on a populated database, the
//! range read and the candidate read of every period table use its hash-keyed GiST index
//! (store-postgres/sql/0003), under custom and generic plans alike, and neither scans the table nor reads the
//! owner's primary-key range beside it. The delete of a whole-table replacement is a hash anti
//! join, whatever the planner estimates.
#![allow(clippy::unwrap_used)] // tests: a failed step should panic right there

use super::statements::{columns, delete_others_sql, delete_uids_sql, HASH_JOIN_ONLY};
use super::{near_sql, read_sql, PeriodTable, Target};
use super::{FREEBUSY, OFFERS, OTHER, QUOTA_FREEBUSY, USER_FREEBUSY};
use crate::connect_client;
use crate::harness::{server_or_skip, TestDatabase};

/// Every period table with the owner keys the test queries.
const TABLES: [(&PeriodTable, &[&str]); 5] = [
    (&FREEBUSY, &["owner-7"]),
    (&OFFERS, &["owner-7"]),
    (&OTHER, &["owner-7", "second-2"]),
    (&QUOTA_FREEBUSY, &["owner-7", "second-2"]),
    (&USER_FREEBUSY, &["owner-7", "second-2"]),
];

fn target<'a>(table: &'static PeriodTable, keys: &[&'a str]) -> Target<'a> {
    Target {
        table,
        keys: keys.to_vec(),
        version_name: "t".into(),
    }
}

/// The owner keys as SQL literals, for `EXECUTE` and `EXPLAIN`.
fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fresh database on the shared test server and a client on it (`None` after the harness's
/// skip notice). The database lives as long as the first half of the pair.
async fn fresh(test: &str) -> Option<(TestDatabase, tokio_postgres::Client)> {
    let server = server_or_skip(test)?;
    let db = server.fresh_database_async().await.unwrap();
    let client = connect_client(&db.url).await.unwrap();
    Some((db, client))
}

/// 40 owners of 250 periods each and one heavy owner of 10,000 (the one queried below, so
/// that reading its primary-key range would cost far more than the index), one every 37
/// minutes from 2026.
fn populate(table: &PeriodTable) -> String {
    let owner = |o: &str| match table.keys.len() {
        1 => format!("'owner-' || {o}"),
        _ => format!("'owner-' || {o}, 'second-' || ({o} % 5)"),
    };
    let insert = |owners: String, rows: u32| {
        format!(
            "INSERT INTO {t} ({keys}, \"start\", \"end\", object_uid) \
             SELECT {owners}, \
                    timestamptz '2026-01-01 00:00Z' + i * interval '37 minutes', \
                    timestamptz '2026-01-01 00:00Z' + i * interval '37 minutes' + interval '1 hour', \
                    'e' || i FROM generate_series(1, 40) o, generate_series(1, {rows}) i \
             ORDER BY random();",
            t = table.name,
            keys = table.keys.join(", "),
        )
    };
    // The heavy owner is owner 7 again under another series (uids differ by the 'h').
    let heavy = insert(owner("7"), 10_000)
        .replace("generate_series(1, 40) o, ", "")
        .replace("'e' || i", "'h' || i");
    format!("{}{heavy}ANALYZE {};", insert(owner("o"), 250), table.name)
}

/// The plan of a prepared statement, one line per element.
async fn plan(client: &tokio_postgres::Client, mode: &str, execute: &str) -> Vec<String> {
    client
        .batch_execute(&format!("SET plan_cache_mode = {mode}"))
        .await
        .unwrap();
    client
        .query(&format!("EXPLAIN {execute}"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn assert_uses_index(plan: &[String], table: &PeriodTable, what: &str) {
    let index = format!("{}_hash_overlap", table.name);
    let pkey = format!("{}_pkey", table.name);
    let words: Vec<&str> = plan.iter().flat_map(|l| l.split_whitespace()).collect();
    assert!(words.contains(&index.as_str()), "{what}: {plan:#?}");
    assert!(!words.contains(&pkey.as_str()), "{what}: {plan:#?}");
    let seq = format!("Seq Scan on {}", table.name);
    assert!(!plan.iter().any(|l| l.contains(&seq)), "{what}: {plan:#?}");
}

#[tokio::test]
async fn overlap_statements_use_the_hash_keyed_gist_index() {
    let Some((_db, client)) = fresh("overlap_statements_use_the_hash_keyed_gist_index").await
    else {
        return;
    };
    for (i, (table, keys)) in TABLES.into_iter().enumerate() {
        client.batch_execute(&populate(table)).await.unwrap();
        let t = target(table, keys);
        let owner_args = quoted(keys);
        client
            .batch_execute(&format!(
                "PREPARE r{i} AS {}; PREPARE n{i} AS {};",
                read_sql(&t, true),
                near_sql(&t)
            ))
            .await
            .unwrap();
        let read =
            format!("EXECUTE r{i}({owner_args}, 't', '2026-03-01 00:00Z', '2026-03-01 05:00Z')");
        let near = format!(
            "EXECUTE n{i}({owner_args}, \
             ARRAY['2026-03-01 00:00Z', '2026-04-01 00:00Z']::timestamptz[], \
             ARRAY['2026-03-01 05:00Z', '2026-04-01 05:00Z']::timestamptz[])"
        );
        for mode in ["force_custom_plan", "force_generic_plan"] {
            for (what, execute) in [("range read", &read), ("candidate read", &near)] {
                let p = plan(&client, mode, execute).await;
                assert_uses_index(&p, table, &format!("{} {what} ({mode})", table.name));
            }
        }
    }
}

#[test]
fn overlap_statements_name_the_hash_and_the_exact_owner() {
    let t = Target {
        table: &OTHER,
        keys: vec!["mailto:a@example.com", "mailto:b@example.com"],
        version_name: "freebusy-other/mailto:b@example.com".into(),
    };
    let pred = "hashtext(p.store_user || p.other) = hashtext($1::text || $2::text) \
                AND texteq(p.store_user, $1::text) AND texteq(p.other, $2::text)";
    assert!(read_sql(&t, true).contains(pred), "{}", read_sql(&t, true));
    assert!(near_sql(&t).contains(pred), "{}", near_sql(&t));
    // The whole table is read by the primary key, in order.
    let whole = read_sql(&t, false);
    assert!(
        whole.contains("p.store_user = $1 AND p.other = $2") && !whole.contains("hashtext"),
        "{whole}"
    );
}

#[tokio::test]
async fn replacing_a_whole_table_deletes_with_a_hash_anti_join() {
    let Some((_db, client)) = fresh("replacing_a_whole_table_deletes_with_a_hash_anti_join").await
    else {
        return;
    };
    for (i, (table, keys)) in TABLES.into_iter().enumerate() {
        client.batch_execute(&populate(table)).await.unwrap();
        let t = target(table, keys);
        let sql = delete_others_sql(&t);
        client
            .batch_execute(&format!("PREPARE d{i} AS {sql}"))
            .await
            .unwrap();
        let arrays = columns(&t)
            .iter()
            .map(|(_, ty, _)| match *ty {
                "timestamptz[]" => "ARRAY['2026-03-01 00:00Z', '2026-04-01 00:00Z']::timestamptz[]",
                _ => "ARRAY['OPAQUE', 'OPAQUE']",
            })
            .collect::<Vec<_>>()
            .join(", ");
        // The heavy owner (10,000 rows) and one the statistics do not know (estimated at one
        // row, which without HASH_JOIN_ONLY makes a nested loop over the arrays).
        let nobody: Vec<&str> = keys.iter().map(|_| "nobody").collect();
        for owner in [keys, &nobody[..]] {
            let owner_args = quoted(owner);
            for mode in ["force_custom_plan", "force_generic_plan"] {
                client
                    .batch_execute(&format!("BEGIN; {HASH_JOIN_ONLY}"))
                    .await
                    .unwrap();
                let p = plan(
                    &client,
                    mode,
                    &format!("EXECUTE d{i}({owner_args}, {arrays})"),
                )
                .await;
                client.batch_execute("ROLLBACK").await.unwrap();
                let what = format!("{} delete for {owner:?} ({mode})", table.name);
                assert!(
                    p.iter().any(|l| l.contains("Hash Anti Join")),
                    "{what}: {p:#?}"
                );
                assert!(
                    !p.iter()
                        .any(|l| l.contains("Nested Loop") || l.contains("Merge")),
                    "{what}: {p:#?}"
                );
            }
        }
    }
}

#[test]
fn the_delete_of_a_replacement_compares_every_column() {
    for (table, keys) in TABLES {
        let t = target(table, keys);
        let sql = delete_others_sql(&t);
        for column in t.columns("").split(", ") {
            let nullable = ["summary", "organiser", "expires", "attendee"].contains(&column);
            let test = if nullable {
                format!("p.{column} IS NOT DISTINCT FROM u.{column}")
            } else {
                format!("p.{column} = u.{column}")
            };
            assert!(sql.contains(&test), "{test} in {sql}");
        }
        assert_eq!(
            sql.contains("attendee"),
            table.attendee,
            "{}: {sql}",
            table.name
        );
    }
}

#[tokio::test]
async fn deleting_uids_reads_the_event_index() {
    let Some((_db, client)) = fresh("deleting_uids_reads_the_event_index").await else {
        return;
    };
    for (table, keys) in TABLES {
        client.batch_execute(&populate(table)).await.unwrap();
        let t = target(table, keys);
        let owner_args = quoted(keys);
        // One uid (a replacement) and 50 of the heavy owner's 10,000. (For an import's batch of
        // 1,000 uids of this 20,000-row table the planner rightly prefers one sequential scan
        // with a hashed array test: the cost is then shared by the 1,000 events.)
        for n in [1, 50] {
            let uids = (1..=n)
                .map(|i| format!("'h{}'", i * 7))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = delete_uids_sql(&t).replace(
                &format!("${}::text[]", keys.len() + 1),
                &format!("ARRAY[{uids}]"),
            );
            let sql = keys.iter().enumerate().rev().fold(sql, |s, (i, k)| {
                s.replace(&format!("${}", i + 1), &format!("'{k}'"))
            });
            let p = plan(&client, "auto", &sql).await;
            let what = format!("{} delete of {n} uid(s) of {owner_args}", table.name);
            let index = format!("{}_event", table.name);
            assert!(p.iter().any(|l| l.contains(&index)), "{what}: {p:#?}");
            assert!(!p.iter().any(|l| l.contains("Seq Scan")), "{what}: {p:#?}");
        }
    }
}
