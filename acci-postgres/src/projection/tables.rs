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
/// rebuild and swap them). Runs inside the caller's transaction.
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
    conn.execute("RESET search_path")
        .await
        .map_err(|e| store_error(e, &doing))?;
    Ok(())
}
