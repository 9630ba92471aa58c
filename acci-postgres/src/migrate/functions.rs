//! The store's SQL functions, one file each, applied again whenever their text changes.
//!
//! `migrate()` keeps the checksum of the text it applied for each function in
//! `event_store.schema_functions`. A function whose checksum is new or different runs
//! its file: `CREATE OR REPLACE FUNCTION`, then its own `REVOKE`/`GRANT`. Where
//! `CREATE OR REPLACE` cannot do it, because the function's signature changed, the old
//! function is dropped:
//!
//! - other argument types create a second function beside the old one; the old one is
//!   dropped right after;
//! - another return type (or other `OUT` parameters, or renamed arguments) is refused
//!   by PostgreSQL (SQLSTATE `42P13`); the file is then run again after the old
//!   function is dropped.
//!
//! All of it happens in `migrate()`'s transaction, so no session sees both or neither.
//! A function that another object depends on (a view, say) is not dropped: the
//! migration fails and says so.
//!
//! A file holds one function, named like the file. Removing a file does not drop its
//! function: a migration does that (and deletes its row in `event_store.schema_functions`).

use acci_core::StoreError;
use sqlx::PgConnection;

use super::{checksum, execute_script};
use crate::error::store_error;

/// One SQL function, embedded in the binary: `CREATE OR REPLACE FUNCTION` and the rights
/// on it.
#[derive(Debug, Clone, Copy)]
pub struct SqlFunction {
    /// The function's schema-qualified name, `event_store.append`, as its file is named.
    pub name: &'static str,
    /// The SQL: creates or replaces the function, then grants and revokes its rights.
    pub sql: &'static str,
}

macro_rules! function {
    ($name:literal) => {
        SqlFunction {
            name: $name,
            sql: include_str!(concat!("../../sql/functions/", $name, ".sql")),
        }
    };
}

/// Every SQL function of the store, applied in this order (a `LANGUAGE sql` function's
/// body is checked when it is created, so it comes after what it calls).
pub const FUNCTIONS: &[SqlFunction] = &[
    function!("event_store.require_tenant"),
    function!("event_store.require_documents"),
    function!("event_store.current_version"),
    function!("event_store.command_events"),
    function!("event_store.stream_lock_key"),
    function!("event_store.append"),
    function!("event_store.append_batch"),
    function!("event_store.stream_version"),
    function!("event_store.read_log"),
    function!("event_store.find_command"),
    function!("event_store.taken_event_ids"),
    function!("snapshots.save"),
    function!("snapshots.load"),
    function!("event_store.heartbeat"),
    function!("projections.log_lag"),
];

/// SQLSTATE `invalid_function_definition`: `CREATE OR REPLACE` refused to change a
/// function's return type, `OUT` parameters or argument names.
const INVALID_FUNCTION_DEFINITION: &str = "42P13";

/// Applies every function whose text is new or changed since it was last applied.
pub(super) async fn apply(
    conn: &mut PgConnection,
    functions: &[SqlFunction],
) -> Result<(), StoreError> {
    let applied: Vec<(String, String)> =
        sqlx::query_as("SELECT name, checksum FROM event_store.schema_functions")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| store_error(e, "reading the applied functions"))?;
    for function in functions {
        let checksum = checksum(function.sql);
        if applied
            .iter()
            .any(|(name, stored)| name == function.name && *stored == checksum)
        {
            continue;
        }
        let doing = format!("applying function {}", function.name);
        replace(conn, function, &doing).await?;
        sqlx::query(include_str!("../../sql/migrate/record_function.sql"))
            .bind(function.name)
            .bind(&checksum)
            .execute(&mut *conn)
            .await
            .map_err(|e| store_error(e, &doing))?;
        tracing::info!(name = function.name, "applied function");
    }
    Ok(())
}

/// Runs the function's file, dropping the function it replaces where its signature
/// changed.
async fn replace(
    conn: &mut PgConnection,
    function: &SqlFunction,
    doing: &str,
) -> Result<(), StoreError> {
    let (schema, name) = function
        .name
        .split_once('.')
        .ok_or_else(|| StoreError::Backend {
            message: format!(
                "function `{}` has no schema: name it `<schema>.<name>`",
                function.name
            ),
            retryable: false,
            source: None,
        })?;
    let before = overloads(conn, schema, name, doing).await?;
    run(conn, "SAVEPOINT acci_function", doing).await?;
    match execute_script(conn, function.sql).await {
        Ok(_) => {
            run(conn, "RELEASE SAVEPOINT acci_function", doing).await?;
            let after = overloads(conn, schema, name, doing).await?;
            // A new function beside the old ones: the argument types changed.
            if after.iter().any(|routine| !before.contains(routine)) {
                for (_, signature) in before.iter().filter(|routine| after.contains(routine)) {
                    drop_routine(conn, signature, doing).await?;
                }
            }
            Ok(())
        }
        Err(sqlx::Error::Database(error))
            if error.code().as_deref() == Some(INVALID_FUNCTION_DEFINITION) =>
        {
            run(conn, "ROLLBACK TO SAVEPOINT acci_function", doing).await?;
            for (_, signature) in &before {
                drop_routine(conn, signature, doing).await?;
            }
            execute_script(conn, function.sql)
                .await
                .map_err(|e| store_error(e, doing))
        }
        Err(error) => Err(store_error(error, doing)),
    }
}

/// The functions and procedures called `schema.name`: oid and signature.
async fn overloads(
    conn: &mut PgConnection,
    schema: &str,
    name: &str,
    doing: &str,
) -> Result<Vec<(i64, String)>, StoreError> {
    sqlx::query_as(include_str!("../../sql/migrate/function_overloads.sql"))
        .bind(schema)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| store_error(e, doing))
}

async fn drop_routine(
    conn: &mut PgConnection,
    signature: &str,
    doing: &str,
) -> Result<(), StoreError> {
    tracing::info!(signature, "dropping a function whose signature changed");
    run(conn, &format!("DROP ROUTINE {signature}"), doing).await
}

async fn run(conn: &mut PgConnection, sql: &str, doing: &str) -> Result<(), StoreError> {
    execute_script(conn, sql)
        .await
        .map_err(|e| store_error(e, doing))
}

#[cfg(test)]
mod tests {
    use super::FUNCTIONS;
    use crate::migrate::MIGRATIONS;

    #[test]
    fn each_file_creates_the_function_it_is_named_for() {
        for function in FUNCTIONS {
            let created = format!("CREATE OR REPLACE FUNCTION {}(", function.name);
            assert_eq!(
                function.sql.matches("CREATE OR REPLACE FUNCTION").count(),
                1,
                "{}: one function a file",
                function.name
            );
            assert!(
                function.sql.contains(&created),
                "{}: {created}",
                function.name
            );
        }
    }

    #[test]
    fn every_function_file_is_listed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sql/functions");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let mut listed: Vec<String> = FUNCTIONS
            .iter()
            .map(|f| format!("{}.sql", f.name))
            .collect();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn migrations_create_no_functions() {
        for migration in MIGRATIONS {
            let sql = migration.sql.to_uppercase();
            for statement in [
                "CREATE FUNCTION",
                "CREATE OR REPLACE FUNCTION",
                "ALTER FUNCTION",
            ] {
                assert!(
                    !sql.contains(statement),
                    "migration {} has `{statement}`; functions belong in sql/functions/",
                    migration.version
                );
            }
        }
    }
}
