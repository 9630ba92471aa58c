//! The statements of each `#[projection]` table, rendered once per read model from its
//! database-neutral description (`Projection::TABLE`) by `acci_schema::postgres`, the
//! renderer the macro's docs show; and keys as those statements take them.

use std::any::{TypeId, type_name};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use acci_core::Projection;
use acci_schema::postgres::TableSql;
use serde_json::Value;

/// The statements rendered so far, by read model, and which read model each table
/// belongs to.
#[derive(Default)]
struct Rendered {
    by_model: HashMap<TypeId, &'static TableSql>,
    /// Table name and version to the read model's type name.
    owners: HashMap<(&'static str, u32), &'static str>,
}

static RENDERED: OnceLock<RwLock<Rendered>> = OnceLock::new();

/// The statements of `P`'s table, rendered on first use and kept for the process (one
/// small set per read-model type).
///
/// Refuses a description without key columns (a hand-written `Projection` could have
/// one), and a second read model with the table name and the version of one already used
/// in this process: they would share one table and one checkpoint. Within one crate
/// `#[projection]` refuses that at compile time; this catches read models of two crates.
/// (Two versions of one read model may share the name: a rebuild runs the new one beside
/// the old.)
pub(crate) fn statements<P: Projection>() -> Result<&'static TableSql, String> {
    let rendered = RENDERED.get_or_init(RwLock::default);
    let id = TypeId::of::<P>();
    if let Some(sql) = rendered
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .by_model
        .get(&id)
    {
        return Ok(sql);
    }
    let table = P::TABLE;
    if table.key_columns().next().is_none() {
        return Err(format!("read model `{}` has no key column", table.name));
    }
    let mut rendered = rendered
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let model = type_name::<P>();
    let claim = (table.name, P::VERSION);
    match rendered.owners.get(&claim) {
        Some(owner) if *owner != model => {
            return Err(format!(
                "the read models `{owner}` and `{model}` both use the table `{}` at version {}: they would share its rows and its checkpoint; give one of them another `#[projection(table = \"…\")]`",
                table.name,
                P::VERSION
            ));
        }
        _ => {}
    }
    let sql: &'static TableSql = match rendered.by_model.get(&id) {
        Some(sql) => sql,
        None => Box::leak(Box::new(TableSql::render(table))),
    };
    rendered.by_model.insert(id, sql);
    rendered.owners.insert(claim, model);
    Ok(sql)
}

/// `key` as the JSON object of its key columns, which the statements take.
pub(crate) fn key_object<P: Projection>(key: &P::Key) -> Result<Value, String> {
    P::key_object(key).map_err(|e| format!("the key of `{}` did not serialize: {e}", P::NAME))
}
