//! `calstore check`: reads every object, row and line and reports what is corrupt, with its place.

use anyhow::Result;
use calstore::object::EventObject;
use calstore::{Journal, Store, Table, User};

use crate::args::Global;
use crate::{backend, dump, with_journal, with_store};

/// What was read and what was wrong.
#[derive(Default)]
struct Findings {
    checked: usize,
    problems: Vec<String>,
}

impl Findings {
    fn note<T>(&mut self, place: impl FnOnce() -> String, r: calstore::Result<T>) -> Option<T> {
        self.checked += 1;
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(format!("{}: {}", place(), e.message()));
                None
            }
        }
    }
}

pub async fn run(global: &Global) -> Result<u8> {
    let store = backend::open_store(global).await?;
    let journal = backend::open_journal(global).await?;
    let mut f = Findings::default();
    with_store!(&store, s => check_store(s, &mut f).await)?;
    with_journal!(&journal, j => check_journal(j, &mut f).await)?;
    check_file_lines(&store, &journal, &mut f);
    for p in &f.problems {
        eprintln!("{p}");
    }
    // Not a problem: nothing reads them; the cron job removes them (docs/operations.md).
    let left = backend::leftovers(Some(&store), Some(&journal), false).await?;
    if left.files > 0 {
        println!(
            "note: {} temporary files ({} bytes) left by interrupted writes; `make-freebusy --all` removes them",
            left.files, left.bytes
        );
    }
    if f.problems.is_empty() {
        println!("checked {} items: all sound", f.checked);
        Ok(crate::exit::OK)
    } else {
        println!("checked {} items: {} problems", f.checked, f.problems.len());
        Ok(crate::exit::DATA)
    }
}

/// The file store's line-based files end with a line break (see `check_lines`).
fn check_file_lines(store: &backend::AnyStore, journal: &backend::AnyJournal, f: &mut Findings) {
    let mut roots = Vec::new();
    if let backend::AnyStore::File(s) = store {
        roots.push((s.root().to_path_buf(), false));
    }
    if let backend::AnyJournal::File(j) = journal {
        roots.push((j.root().to_path_buf(), true));
    }
    for (root, is_journal) in roots {
        let (checked, problems) = super::check_lines::check_root(&root, is_journal);
        f.checked += checked;
        f.problems.extend(problems);
    }
}

async fn check_store<S: Store>(store: &S, f: &mut Findings) -> Result<()> {
    let users = store.users().await?;
    for user in &users {
        check_user(store, user, f).await;
    }
    Ok(())
}

async fn check_user<S: Store>(store: &S, user: &User, f: &mut Findings) {
    let Some(list) = f.note(|| format!("{user}: objects"), store.list_events(user).await) else {
        return;
    };
    let parents: Vec<_> = list.active.iter().chain(&list.cancelled).cloned().collect();
    for uid in &parents {
        let place = || format!("{user}: object {:?}", uid.as_str());
        if let Some(Some(e)) = f.note(place, store.get_event(user, uid, None).await) {
            f.note(place, EventObject::parse_for_key(&e.text, uid, None));
        }
    }
    for (uid, rid) in list
        .active_instances
        .iter()
        .chain(&list.cancelled_instances)
    {
        let place = || format!("{user}: recurrence {:?} {rid}", uid.as_str());
        if !parents.contains(uid) {
            f.problems
                .push(format!("{}: orphan recurrence, no parent object", place()));
        }
        if let Some(Some(e)) = f.note(place, store.get_event(user, uid, Some(rid)).await) {
            f.note(place, EventObject::parse_for_key(&e.text, uid, Some(rid)));
        }
    }
    f.note(|| format!("{user}: requests"), store.requests(user).await);
    if let Some(counters) = f.note(|| format!("{user}: counters"), store.counters(user).await) {
        for (uid, rid, other) in counters {
            let place = || format!("{user}: counter {:?} from {other}", uid.as_str());
            if let Some(Some(text)) = f.note(
                place,
                store.get_counter(user, &other, &uid, rid.as_ref()).await,
            ) {
                f.note(place, EventObject::parse_for_key(&text, &uid, rid.as_ref()));
            }
        }
    }
    let mut tables = vec![Table::FreeBusy, Table::Offers];
    if let Some(others) = f.note(
        || format!("{user}: freebusy-other"),
        store.others(user).await,
    ) {
        tables.extend(others.into_iter().map(Table::Other));
    }
    for t in &tables {
        f.note(|| format!("{user}: {t}"), store.freebusy(user, t).await);
    }
    f.note(
        || format!("{user}: freebusy-providers"),
        store.providers(user).await,
    );
    f.note(
        || format!("{user}: preferences"),
        store.preferences(user).await,
    );
    // Objects without periods (a killed import) and periods of cancelled objects.
    f.checked += 1;
    match calstore::refresh::audit(store, user, chrono::Utc::now()).await {
        Ok(audit) => {
            for finding in audit.findings {
                f.problems.push(format!("{user}: {finding}"));
            }
        }
        // A damaged table or list: reported above with its place.
        Err(e) if e.kind() == calstore::ErrorKind::Corrupt => {}
        Err(e) => f
            .problems
            .push(format!("{user}: freebusy against objects: {}", e.message())),
    }
}

async fn check_journal<J: Journal>(journal: &J, f: &mut Findings) -> Result<()> {
    let quotas = journal.quotas().await?;
    for quota in &quotas {
        for table in dump::JOURNAL_TABLES {
            let r = dump::journal_table(journal, quota, table).await;
            f.checked += 1;
            if let Err(e) = r {
                f.problems.push(format!("quota {quota}: {table}: {e}"));
            }
        }
        if let Ok(list) = journal.list_events(quota).await {
            for uid in &list.active {
                if let Ok(Some(e)) = journal.get_event(quota, uid, None).await {
                    f.note(
                        || format!("quota {quota}: object {:?}", uid.as_str()),
                        EventObject::parse_for_key(&e.text, uid, None),
                    );
                }
            }
        }
    }
    Ok(())
}
