//! Check: read every object, row and line of a store and journal and report what is corrupt or
//! could not be listed, with its place. Nothing is skipped silently: an entry the listings leave
//! out ([`Store::unlisted_users`], [`Journal::unlisted_quotas`]) is a problem too.

use calstore::object::EventObject;
use calstore::{Journal, Store, Table, User};

use crate::{dump, AnyJournal, AnyStore};

/// What was read and what was wrong.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// How many items (objects, tables, files) were read.
    pub checked: usize,
    /// One line per problem, naming the place.
    pub problems: Vec<String>,
    /// One line per stored object that a producer wrote leniently (docs/compatibility.md), naming
    /// the place, the line and what was read how. Not a problem: the object reads sensibly.
    pub warnings: Vec<String>,
}

impl Findings {
    /// Counts one read; keeps its error as a problem.
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

    /// Parses a stored object's text for its key; keeps a failure as a problem and what was read
    /// leniently as warnings.
    fn object(
        &mut self,
        place: impl Fn() -> String,
        text: &str,
        uid: &calstore::Uid,
        rid: Option<&calstore::Rid>,
    ) {
        if let Some(obj) = self.note(&place, EventObject::parse_for_key(text, uid, rid)) {
            for w in obj.warnings() {
                self.warnings.push(format!("{}: {w}", place()));
            }
        }
    }

    /// Whether nothing was wrong.
    pub fn sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads everything of `store` and `journal` (and, for the file backends, every line-based
/// file, see [`calstore_file::FileStore::check_lines`]) and reports what is wrong.
pub async fn check(store: &AnyStore, journal: &AnyJournal) -> Findings {
    let mut f = Findings::default();
    check_store(store, &mut f).await;
    check_journal(journal, &mut f).await;
    if let AnyStore::File(s) = store {
        let (checked, problems) = s.check_lines();
        f.checked += checked;
        f.problems.extend(problems);
    }
    if let AnyJournal::File(j) = journal {
        let (checked, problems) = j.check_lines();
        f.checked += checked;
        f.problems.extend(problems);
    }
    f
}

/// The store part of [`check`], for any backend.
pub async fn check_store<S: Store>(store: &S, f: &mut Findings) {
    if let Some(unlisted) = f.note(|| "users".to_owned(), store.unlisted_users().await) {
        f.problems
            .extend(unlisted.iter().map(|e| e.message().to_owned()));
    }
    let Some(users) = f.note(|| "users".to_owned(), store.users().await) else {
        return;
    };
    for user in &users {
        check_user(store, user, f).await;
    }
}

async fn check_user<S: Store>(store: &S, user: &User, f: &mut Findings) {
    let Some(list) = f.note(|| format!("{user}: objects"), store.list_events(user).await) else {
        return;
    };
    let parents: Vec<_> = list.active.iter().chain(&list.cancelled).cloned().collect();
    for uid in &parents {
        let place = || format!("{user}: object {:?}", uid.as_str());
        match f.note(place, store.get_event(user, uid, None).await) {
            Some(Some(e)) => {
                f.object(place, &e.text, uid, None);
            }
            Some(None) => f
                .problems
                .push(format!("{}: listed but not found", place())),
            None => {}
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
        match f.note(place, store.get_event(user, uid, Some(rid)).await) {
            Some(Some(e)) => {
                f.object(place, &e.text, uid, Some(rid));
            }
            Some(None) => f
                .problems
                .push(format!("{}: listed but not found", place())),
            None => {}
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
                f.object(place, &text, &uid, rid.as_ref());
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

/// The journal part of [`check`], for any backend.
pub async fn check_journal<J: Journal>(journal: &J, f: &mut Findings) {
    if let Some(unlisted) = f.note(|| "quotas".to_owned(), journal.unlisted_quotas().await) {
        f.problems
            .extend(unlisted.iter().map(|e| e.message().to_owned()));
    }
    let Some(quotas) = f.note(|| "quotas".to_owned(), journal.quotas().await) else {
        return;
    };
    for quota in &quotas {
        for table in dump::JOURNAL_TABLES {
            f.note(
                || format!("quota {quota}: {table}"),
                dump::journal_table(journal, quota, table).await,
            );
        }
        let Some(list) = f.note(
            || format!("quota {quota}: objects"),
            journal.list_events(quota).await,
        ) else {
            continue;
        };
        for uid in &list.active {
            let place = || format!("quota {quota}: object {:?}", uid.as_str());
            if let Some(Some(e)) = f.note(place, journal.get_event(quota, uid, None).await) {
                f.object(place, &e.text, uid, None);
            }
        }
    }
}
