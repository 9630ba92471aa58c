//! Creating a read model's tables: in the live schema, or in a rebuild's beside it.

use acci_core::StoreError;
use sqlx::{Executor, PgConnection};

use super::model::RunnerModel;
use crate::error::store_error;

/// Where a rebuild fills its table.
pub(crate) const REBUILD_SCHEMA: &str = "read_models_rebuild";
/// Where the replaced table goes for the moment of the swap.
pub(crate) const RETIRED_SCHEMA: &str = "read_models_retired";

pub(crate) use acci_schema::postgres::quote_ident as quoted;

/// Creates the model's tables and indexes in `schema` if missing, readable by `acci_app`
/// and owned by the runners' group (so a standby logged in as another role can write,
/// rebuild and swap them), its tenant-scoped tables under row-level security. Runs inside
/// the caller's transaction.
pub(crate) async fn create_tables<M: RunnerModel>(
    model: &M,
    conn: &mut PgConnection,
    schema: &str,
) -> Result<(), StoreError> {
    let doing = format!("creating the tables of `{}` in {schema}", model.name());
    conn.execute(format!("SET LOCAL search_path = {schema}").as_str())
        .await
        .map_err(|e| store_error(e, &doing))?;
    model.create(conn).await?;
    for table in model.tables() {
        let table = quoted(table);
        for statement in [
            format!("GRANT SELECT ON {table} TO {}", crate::APP_ROLE),
            format!("ALTER TABLE {table} OWNER TO {}", crate::ALL_TENANTS_ROLE),
        ] {
            conn.execute(statement.as_str())
                .await
                .map_err(|e| store_error(e, &doing))?;
        }
    }
    for table in model.tenant_tables() {
        secure_rows(conn, table, &doing).await?;
    }
    conn.execute("RESET search_path")
        .await
        .map_err(|e| store_error(e, &doing))?;
    Ok(())
}

/// Puts `table` (in the schema `search_path` points at) under row-level security, once:
/// `acci_app` reads the rows of the session's tenant (`acci.tenant_id`), the runners'
/// group every row (it owns the table, which bypasses the policies anyway; the policy
/// says so should the table ever be forced under them). A rebuild's table gets the same
/// and keeps them through the swap.
async fn secure_rows(conn: &mut PgConnection, table: &str, doing: &str) -> Result<(), StoreError> {
    let secured: Option<bool> =
        sqlx::query_scalar("SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass($1)")
            .bind(quoted(table))
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| store_error(e, doing))?;
    if secured == Some(true) {
        return Ok(());
    }
    let table = quoted(table);
    let tenant = quoted(acci_core::projection::TENANT_COLUMN);
    for statement in [
        format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"),
        format!("DROP POLICY IF EXISTS tenant_rows ON {table}"),
        format!(
            "CREATE POLICY tenant_rows ON {table} FOR SELECT TO {} USING ({tenant} = current_setting('acci.tenant_id', true))",
            crate::APP_ROLE
        ),
        format!("DROP POLICY IF EXISTS runners ON {table}"),
        format!(
            "CREATE POLICY runners ON {table} TO {} USING (true) WITH CHECK (true)",
            crate::ALL_TENANTS_ROLE
        ),
    ] {
        conn.execute(statement.as_str())
            .await
            .map_err(|e| store_error(e, doing))?;
    }
    Ok(())
}
