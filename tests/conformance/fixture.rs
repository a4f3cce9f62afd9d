//! One fixture per backend: a fresh, empty store and journal, plus read-only handles on the same
//! data and a way to snapshot everything stored (to prove read-only stores change nothing).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use calstore::{Journal, Store};

type Snapshot = Box<dyn Fn() -> Pin<Box<dyn Future<Output = String> + Send>> + Send + Sync>;

/// A fresh backend for one test.
pub struct Fixture<S, J> {
    pub store: S,
    pub journal: J,
    pub ro_store: S,
    pub ro_journal: J,
    snapshot: Snapshot,
    _guard: Box<dyn Any + Send + Sync>,
}

impl<S: Store + Clone + 'static, J: Journal + Clone + 'static> Fixture<S, J> {
    /// Everything stored, as text that changes whenever any byte or row does.
    pub async fn snapshot(&self) -> String {
        (self.snapshot)().await
    }
}

/// The file store in a temporary directory.
pub async fn file() -> Option<Fixture<calstore_file::FileStore, calstore_file::FileJournal>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().to_path_buf();
    let open = |read_only: bool| {
        let store = calstore_file::FileStore::open(calstore_file::FileStoreOptions {
            read_only,
            ..calstore_file::FileStoreOptions::new(root.join("store"), root.join("preferences"))
        })
        .expect("open file store");
        let journal = calstore_file::FileJournal::open(calstore_file::FileJournalOptions {
            read_only,
            ..calstore_file::FileJournalOptions::new(root.join("journal"))
        })
        .expect("open file journal");
        (store, journal)
    };
    let (store, journal) = open(false);
    let (ro_store, ro_journal) = open(true);
    let snap_root = root.clone();
    Some(Fixture {
        store,
        journal,
        ro_store,
        ro_journal,
        snapshot: Box::new(move || {
            let root = snap_root.clone();
            Box::pin(async move { tree_listing(&root) })
        }),
        _guard: Box::new(dir),
    })
}

/// Every path under `root` with its mode, modification time and contents.
pub fn tree_listing(root: &std::path::Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let mut out = String::new();
    let mut stack = vec![root.to_path_buf()];
    let mut entries = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let content = if meta.is_file() {
                std::fs::read(&path).unwrap_or_default()
            } else {
                Vec::new()
            };
            entries.push(format!(
                "{} mode={:o} mtime={}.{} size={} {:?}",
                path.display(),
                meta.mode(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.len(),
                String::from_utf8_lossy(&content)
            ));
        }
    }
    entries.sort();
    for e in entries {
        out.push_str(&e);
        out.push('\n');
    }
    out
}

/// The PostgreSQL store on a fresh database of the test server (private, or
/// `CALSTORE_TEST_PG_URL`); `None`, after a loud notice, where no server can be had outside CI.
pub async fn postgres() -> Option<Fixture<calstore_postgres::PgStore, calstore_postgres::PgJournal>>
{
    use calstore_postgres::{harness, PgJournal, PgOptions, PgStore};
    let server = harness::server_or_skip("conformance (postgres)")?;
    let db = server
        .fresh_database_async()
        .await
        .expect("a fresh test database");
    let url = db.url().to_owned();
    let open = |read_only: bool| {
        let mut options = PgOptions::new(&url);
        options.read_only = read_only;
        options
    };
    let store = PgStore::connect(&open(false)).await.expect("connect store");
    let journal = PgJournal::connect(&open(false))
        .await
        .expect("connect journal");
    let ro_store = PgStore::connect(&open(true))
        .await
        .expect("connect read-only store");
    let ro_journal = PgJournal::connect(&open(true))
        .await
        .expect("connect read-only journal");
    Some(Fixture {
        store,
        journal,
        ro_store,
        ro_journal,
        snapshot: Box::new(move || {
            let url = url.clone();
            Box::pin(async move {
                harness::snapshot(&url)
                    .await
                    .expect("snapshot of the database")
            })
        }),
        _guard: Box::new(db),
    })
}

/// The PostgreSQL store opened through a configuration file naming a primary and a streaming
/// standby (`calstore_postgres::Config` → `Instance`): every plain read of the cases is served
/// by the standby, every write by the primary. The cases read right after they write, as any
/// caller may; on an asynchronous standby such a read could miss the write, so the primary's
/// connection string asks for `synchronous_commit = remote_apply` (the standby is the test
/// primary's synchronous standby): a commit returns once the standby has applied it. `None`,
/// after a loud notice, where no server binaries exist outside CI.
pub async fn replicated(
) -> Option<Fixture<calstore_postgres::PgStore, calstore_postgres::PgJournal>> {
    use calstore_postgres::{harness, Config, Instance};
    let pair = harness::replicated_or_skip("conformance (replicated)")?;
    let db = pair
        .fresh_database()
        .await
        .expect("a fresh replicated test database");
    let url = db.primary_url().to_owned();
    let sep = if url.contains('?') { '&' } else { '?' };
    let text = format!(
        "[instances.conformance]\n\
         primary = \"{url}{sep}options=-c%20synchronous_commit%3Dremote_apply\"\n\
         replicas = [\"{}\"]\n",
        db.standby_url
    );
    let config = Config::parse(&text, "conformance.toml").expect("the fixture's configuration");
    let (name, instance) = config.select(Some("conformance")).expect("the instance");
    let rw = Instance::connect(name, instance).await.expect("connect");
    let mut read_only = instance.clone();
    read_only.store.primary.read_only = true;
    let ro = Instance::connect(name, &read_only)
        .await
        .expect("connect read-only");
    Some(Fixture {
        store: rw.store().clone(),
        journal: rw.journal().clone(),
        ro_store: ro.store().clone(),
        ro_journal: ro.journal().clone(),
        snapshot: Box::new(move || {
            let url = url.clone();
            Box::pin(async move {
                harness::snapshot(&url)
                    .await
                    .expect("snapshot of the database")
            })
        }),
        _guard: Box::new(db),
    })
}
