//! Template and per-test databases, and snapshots of a database's rows.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::{block_on_thread, HarnessError, TestServer};
use crate::schema;
use crate::{PgJournal, PgOptions, PgPool, PgStore};

/// A database made for one test. On an external server it is dropped again when this is
/// dropped; a private server disappears whole at the end of the process.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its connection string.
    pub url: String,
    /// Its name.
    pub name: String,
    /// The maintenance connection string, when the database must be dropped.
    drop_via: Option<String>,
}

impl TestDatabase {
    /// Its connection string.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store and a journal on this database sharing one pool; `read_only` opens read-only
    /// sessions and refuses writes.
    ///
    /// # Errors
    ///
    /// As [`PgPool::connect`].
    pub async fn store_and_journal(
        &self,
        read_only: bool,
    ) -> calstore::Result<(PgStore, PgJournal)> {
        let mut options = PgOptions::new(&self.url);
        options.read_only = read_only;
        let pool = PgPool::connect(&options).await?;
        Ok((
            PgStore::from_pool(&pool, false),
            PgJournal::from_pool(&pool, false),
        ))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(admin) = self.drop_via.take() else {
            return;
        };
        let name = self.name.clone();
        let _ = block_on_thread(async move {
            let client = connect(&admin).await?;
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(&name));
            client.batch_execute(&sql).await.map_err(|e| fail(&e))
        });
    }
}

/// `conninfo` with its database replaced by `name`.
pub(crate) fn with_dbname(conninfo: &str, name: &str) -> String {
    let trimmed = conninfo.trim();
    if trimmed.starts_with("postgresql://") || trimmed.starts_with("postgres://") {
        if let Ok(mut url) = url::Url::parse(trimmed) {
            url.set_path(&format!("/{name}"));
            return url.to_string();
        }
    }
    // In a keyword string a later key wins.
    format!("{trimmed} dbname='{name}'")
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn fail(e: &tokio_postgres::Error) -> HarnessError {
    HarnessError::failed(crate::error::full_chain(e))
}

async fn connect(conninfo: &str) -> Result<Client, HarnessError> {
    crate::connect_client(conninfo)
        .await
        .map_err(|e| HarnessError::failed(e.chain()))
}

/// Runs `sql` on the maintenance database, retrying while another session still uses the
/// template or the database (SQLSTATE 55006): a closed connection ends on the server a moment
/// after the client lets go.
async fn retry_in_use(admin: &Client, sql: &str) -> Result<(), HarnessError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match admin.batch_execute(sql).await {
            Ok(()) => return Ok(()),
            Err(e) if e.code().map(|c| c.code()) == Some("55006") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(fail(&e)),
        }
    }
}

/// Creates database `name`, from `template` when given.
pub(crate) async fn create(
    server: &TestServer,
    name: String,
    template: Option<String>,
) -> Result<TestDatabase, HarnessError> {
    let admin = connect(server.admin_url()).await?;
    let sql = match &template {
        Some(t) => format!("CREATE DATABASE {} TEMPLATE {}", quote(&name), quote(t)),
        None => format!("CREATE DATABASE {}", quote(&name)),
    };
    retry_in_use(&admin, &sql).await?;
    Ok(TestDatabase {
        url: server.database_url(&name),
        drop_via: (!server.is_private()).then(|| server.admin_url().to_owned()),
        name,
    })
}

/// The template database with the current schema: built once per server under an advisory lock
/// (so concurrent test processes sharing an external server build it once), named after the
/// migrations' checksums so a changed schema gets a new template.
pub(crate) async fn ensure_template(server: &TestServer) -> Result<String, HarnessError> {
    let name = template_name();
    let admin = connect(server.admin_url()).await?;
    admin
        .execute(
            "SELECT pg_advisory_lock(hashtext('calstore test template'))",
            &[],
        )
        .await
        .map_err(|e| fail(&e))?;
    let result = build_template(server, &admin, &name).await;
    let _ = admin
        .execute(
            "SELECT pg_advisory_unlock(hashtext('calstore test template'))",
            &[],
        )
        .await;
    result.map(|()| name)
}

/// `calstore_tpl_v<latest>_<first 12 hex digits of the hash of every migration's checksum>`.
fn template_name() -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for m in schema::MIGRATIONS {
        hash.update(m.checksum().as_bytes());
    }
    let hex: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("calstore_tpl_v{}_{hex}", schema::latest_version())
}

async fn build_template(
    server: &TestServer,
    admin: &Client,
    name: &str,
) -> Result<(), HarnessError> {
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map_err(|e| fail(&e))?
        .is_some();
    if exists {
        return Ok(());
    }
    let building = format!("{name}_build_{}", std::process::id());
    retry_in_use(
        admin,
        &format!("DROP DATABASE IF EXISTS {}", quote(&building)),
    )
    .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {}", quote(&building)))
        .await
        .map_err(|e| fail(&e))?;
    {
        let mut client = connect(&server.database_url(&building)).await?;
        schema::install(&mut client, None)
            .await
            .map_err(|e| HarnessError::failed(format!("installing the schema: {}", e.chain())))?;
    }
    // Renamed only when complete, so no process ever copies a half-built template.
    retry_in_use(
        admin,
        &format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote(&building),
            quote(name)
        ),
    )
    .await
}

/// Every row of every table of the database at `url`, as text: changes whenever any row does.
///
/// # Errors
///
/// A failure when the database cannot be read.
pub async fn snapshot(url: &str) -> Result<String, HarnessError> {
    let client = connect(url).await?;
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| fail(&e))?;
    let mut out = String::new();
    for t in tables {
        let table: String = t.get(0);
        out.push_str(&format!("== {table}\n"));
        let rows = client
            .query(
                &format!("SELECT t::text FROM {} t ORDER BY 1", quote(&table)),
                &[],
            )
            .await
            .map_err(|e| fail(&e))?;
        for r in rows {
            out.push_str(&r.get::<_, String>(0));
            out.push('\n');
        }
    }
    Ok(out)
}
