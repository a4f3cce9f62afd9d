//! Tables as TAB-separated lines: what `list` prints and `copy` compares. Built only from trait
//! calls, so both backends print the same bytes for the same content.

use calstore::id::rid_text;
use calstore::period::{escape_field as esc, format_instant};
use calstore::{Error, Result};
use calstore::{EventStatus, Journal, Quota, Store, Table, UsageTable, User};

/// The store tables `list --user` knows.
pub const STORE_TABLES: [&str; 9] = [
    "objects",
    "recurrences",
    "requests",
    "counters",
    "freebusy",
    "freebusy-offers",
    "freebusy-other",
    "freebusy-providers",
    "preferences",
];

/// The journal tables `list --quota` knows.
pub const JOURNAL_TABLES: [&str; 7] = [
    "limits",
    "groups",
    "delegates",
    "freebusy",
    "journal",
    "freebusy-providers",
    "objects",
];

fn status(s: EventStatus) -> &'static str {
    match s {
        EventStatus::Active => "active",
        EventStatus::Cancelled => "cancelled",
    }
}

fn providers_lines(p: &calstore::Providers) -> Vec<String> {
    let mut out = vec![p.window_end.map(format_instant).unwrap_or_default()];
    out.extend(
        p.events
            .iter()
            .map(|(u, r)| format!("{}\t{}", esc(u.as_str()), rid_text(r.as_ref()))),
    );
    out
}

/// The lines of one store table of one user (one of [`STORE_TABLES`]).
///
/// # Errors
///
/// Invalid input for an unknown table; the errors of the reads.
pub async fn store_table<S: Store>(store: &S, user: &User, table: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match table {
        "objects" => {
            let list = store.list_events(user).await?;
            let mut uids: Vec<_> = list.active.iter().chain(&list.cancelled).collect();
            uids.sort();
            for uid in uids {
                if let Some(e) = store.get_event(user, uid, None).await? {
                    out.push(format!(
                        "{}\t{}\t{}",
                        esc(uid.as_str()),
                        status(e.status),
                        esc(&e.text)
                    ));
                }
            }
        }
        "recurrences" => {
            let list = store.list_events(user).await?;
            let mut keys: Vec<_> = list
                .active_instances
                .iter()
                .chain(&list.cancelled_instances)
                .collect();
            keys.sort();
            for (uid, rid) in keys {
                if let Some(e) = store.get_event(user, uid, Some(rid)).await? {
                    out.push(format!(
                        "{}\t{}\t{}\t{}",
                        esc(uid.as_str()),
                        rid,
                        status(e.status),
                        esc(&e.text)
                    ));
                }
            }
        }
        "requests" => {
            for r in store.requests(user).await? {
                out.push(format!(
                    "{}\t{}\t{}",
                    esc(r.uid.as_str()),
                    rid_text(r.rid.as_ref()),
                    r.method.as_str()
                ));
            }
        }
        "counters" => {
            for (uid, rid, other) in store.counters(user).await? {
                let text = store
                    .get_counter(user, &other, &uid, rid.as_ref())
                    .await?
                    .unwrap_or_default();
                out.push(format!(
                    "{}\t{}\t{}\t{}",
                    esc(uid.as_str()),
                    rid_text(rid.as_ref()),
                    esc(other.as_str()),
                    esc(&text)
                ));
            }
        }
        "freebusy" | "freebusy-offers" => {
            let t = if table == "freebusy" {
                Table::FreeBusy
            } else {
                Table::Offers
            };
            out.extend(
                store
                    .freebusy(user, &t)
                    .await?
                    .value
                    .iter()
                    .map(|p| p.to_line(false)),
            );
        }
        "freebusy-other" => {
            for other in store.others(user).await? {
                let rows = store
                    .freebusy(user, &Table::Other(other.clone()))
                    .await?
                    .value;
                out.extend(
                    rows.iter()
                        .map(|p| format!("{}\t{}", esc(other.as_str()), p.to_line(false))),
                );
            }
        }
        "freebusy-providers" => out.extend(providers_lines(&store.providers(user).await?.value)),
        "preferences" => {
            for (n, v) in store.preferences(user).await? {
                out.push(format!("{}\t{}", esc(n.as_str()), esc(&v)));
            }
        }
        other => {
            return Err(Error::invalid(format!(
                "unknown table {other:?}; one of: {}",
                STORE_TABLES.join(", ")
            )))
        }
    }
    Ok(out)
}

/// The lines of one journal table of one quota (one of [`JOURNAL_TABLES`]).
///
/// # Errors
///
/// Invalid input for an unknown table; the errors of the reads.
pub async fn journal_table<J: Journal>(
    journal: &J,
    quota: &Quota,
    table: &str,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match table {
        "limits" => out.extend(
            journal
                .limits(quota)
                .await?
                .value
                .iter()
                .map(|(g, d)| format!("{}\t{}", esc(g.as_str()), esc(d))),
        ),
        "groups" => out.extend(
            journal
                .groups(quota)
                .await?
                .iter()
                .map(|(u, g)| format!("{}\t{}", esc(u.as_str()), esc(g.as_str()))),
        ),
        "delegates" => out.extend(
            journal
                .delegates(quota)
                .await?
                .iter()
                .map(|u| esc(u.as_str())),
        ),
        "freebusy" | "journal" => {
            for t in journal.usage_tables(quota).await? {
                let name = match (&t, table) {
                    (UsageTable::User(u), "freebusy") => u.as_str().to_owned(),
                    (UsageTable::Journal(g), "journal") => g.as_str().to_owned(),
                    _ => continue,
                };
                let rows = journal.usage(quota, &t).await?.value;
                out.extend(
                    rows.iter()
                        .map(|p| format!("{}\t{}", esc(&name), p.to_line(true))),
                );
            }
        }
        "freebusy-providers" => out.extend(providers_lines(&journal.providers(quota).await?.value)),
        "objects" => {
            let list = journal.list_events(quota).await?;
            let mut keys: Vec<(calstore::Uid, Option<calstore::Rid>)> =
                list.active.into_iter().map(|u| (u, None)).collect();
            keys.extend(list.active_instances.into_iter().map(|(u, r)| (u, Some(r))));
            keys.sort();
            for (uid, rid) in keys {
                if let Some(e) = journal.get_event(quota, &uid, rid.as_ref()).await? {
                    out.push(format!(
                        "{}\t{}\t{}",
                        esc(uid.as_str()),
                        rid_text(rid.as_ref()),
                        esc(&e.text)
                    ));
                }
            }
        }
        other => {
            return Err(Error::invalid(format!(
                "unknown journal table {other:?}; one of: {}",
                JOURNAL_TABLES.join(", ")
            )))
        }
    }
    Ok(out)
}
