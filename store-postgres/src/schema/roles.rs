//! The writer (DML only) and reader (SELECT only) roles of a calstore schema.

use calstore::{Error, Result};
use tokio_postgres::Transaction;

use crate::error::query_error;

/// Roles to create if missing and grant on the schema. Missing roles are created `NOLOGIN`:
/// they are privilege groups; an administrator grants them to login roles
/// (`GRANT calstore_writer TO agent`) or alters them to `LOGIN` with a password. An existing
/// role is only granted to, never altered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// For agents: SELECT, INSERT, UPDATE, DELETE on every table (only SELECT on
    /// `schema_migrations`), USAGE on the sequences; no DDL.
    pub writer: Option<String>,
    /// For web front ends and reports: SELECT only, so every write fails in the database.
    pub reader: Option<String>,
}

/// Quotes an SQL identifier.
///
/// # Errors
///
/// Invalid input for an empty name or one with a NUL character.
pub(crate) fn quote_ident(name: &str) -> Result<String> {
    if name.is_empty() || name.contains('\0') {
        return Err(Error::invalid(format!(
            "{name:?} is not a usable role name"
        )));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// Creates missing roles and grants; returns a sentence per role.
pub(crate) async fn grant(tx: &Transaction<'_>, roles: &Roles) -> Result<Vec<String>> {
    let err =
        |doing: String| move |e: tokio_postgres::Error| query_error(&e, "the database", &doing);
    let schema: String = tx
        .query_one("SELECT current_schema()", &[])
        .await
        .map_err(err("finding the current schema".into()))?
        .try_get(0)
        .map_err(|_| Error::invalid("no current schema: check search_path"))?;
    let schema = quote_ident(&schema)?;
    let mut done = Vec::new();
    if let Some(writer) = &roles.writer {
        let created = ensure_role(tx, writer).await?;
        let w = quote_ident(writer)?;
        let sql = format!(
            "GRANT USAGE ON SCHEMA {schema} TO {w};
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {w};
             REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM {w};
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {w};
             ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
                 GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {w};
             ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {w};"
        );
        tx.batch_execute(&sql)
            .await
            .map_err(err(format!("granting the writer role {writer:?}")))?;
        done.push(format!(
            "writer role {writer}{} may read and write rows",
            if created { " (created, NOLOGIN)" } else { "" }
        ));
    }
    if let Some(reader) = &roles.reader {
        let created = ensure_role(tx, reader).await?;
        let r = quote_ident(reader)?;
        let sql = format!(
            "GRANT USAGE ON SCHEMA {schema} TO {r};
             GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {r};
             GRANT SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {r};
             ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {r};
             ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON SEQUENCES TO {r};"
        );
        tx.batch_execute(&sql)
            .await
            .map_err(err(format!("granting the reader role {reader:?}")))?;
        let writable = writable_tables(tx, reader).await?;
        done.push(if writable.is_empty() {
            format!(
                "reader role {reader}{} may only read",
                if created { " (created, NOLOGIN)" } else { "" }
            )
        } else {
            format!(
                "WARNING: reader role {reader} may read, but it can also write: it may change {} tables ({}{}), as a superuser, a table owner, a member of a role that may write, or by a grant of its own; revoke that for a role that must only read",
                writable.len(),
                writable.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                if writable.len() > 3 { ", …" } else { "" }
            )
        });
    }
    Ok(done)
}

/// The tables of the current schema that `role` may change in any way (INSERT, UPDATE, DELETE
/// or TRUNCATE), through every way PostgreSQL gives a privilege: its own grants, the roles it
/// is a member of, ownership, superuser. What the reader role *can* do, not what was granted.
async fn writable_tables(tx: &Transaction<'_>, role: &str) -> Result<Vec<String>> {
    let rows = tx
        .query(
            "SELECT c.relname::text FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
                AND (has_table_privilege($1, c.oid, 'INSERT')
                  OR has_table_privilege($1, c.oid, 'UPDATE')
                  OR has_table_privilege($1, c.oid, 'DELETE')
                  OR has_table_privilege($1, c.oid, 'TRUNCATE'))
              ORDER BY 1",
            &[&role],
        )
        .await
        .map_err(|e| {
            query_error(
                &e,
                "the database",
                &format!("checking what the reader role {role:?} may change"),
            )
        })?;
    rows.iter()
        .map(|r| {
            r.try_get::<_, String>(0).map_err(|e| {
                Error::new(
                    calstore::ErrorKind::Backend,
                    format!("reading a table name: {e}"),
                )
            })
        })
        .collect()
}

/// Creates `name` as a NOLOGIN role unless it exists; returns whether it was created. Roles are
/// shared by every database of the server, so another installer may create it at the same
/// moment: a savepoint absorbs that race.
async fn ensure_role(tx: &Transaction<'_>, name: &str) -> Result<bool> {
    let err = |e: tokio_postgres::Error| {
        query_error(&e, "the database", &format!("creating the role {name:?}"))
    };
    let exists = tx
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
        .await
        .map_err(err)?
        .is_some();
    if exists {
        return Ok(false);
    }
    let sql = format!("CREATE ROLE {} NOLOGIN", quote_ident(name)?);
    let create = format!("SAVEPOINT calstore_role; {sql}; RELEASE SAVEPOINT calstore_role");
    match tx.batch_execute(&create).await {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.code().map(|c| c.code()), Some("42710" | "23505")) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT calstore_role")
                .await
                .map_err(err)?;
            Ok(false)
        }
        Err(e) => Err(err(e)),
    }
}
