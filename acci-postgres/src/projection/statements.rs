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
    rendered.claim(table.name, P::VERSION, type_name::<P>())?;
    let sql: &'static TableSql = rendered
        .by_model
        .entry(id)
        .or_insert_with(|| Box::leak(Box::new(TableSql::render(table))));
    Ok(sql)
}

impl Rendered {
    /// Records that `model` uses `table` at `version`, unless another read model does.
    fn claim(
        &mut self,
        table: &'static str,
        version: u32,
        model: &'static str,
    ) -> Result<(), String> {
        let owner = *self.owners.entry((table, version)).or_insert(model);
        if owner == model {
            return Ok(());
        }
        Err(format!(
            "the read models `{owner}` and `{model}` both use the table `{table}` at version {version}: they would share its rows and its checkpoint; give one of them another `#[projection(table = \"…\")]`"
        ))
    }
}

/// `key` as the JSON object of its key columns, which the statements take.
pub(crate) fn key_object<P: Projection>(key: &P::Key) -> Result<Value, String> {
    P::key_object(key).map_err(|e| format!("the key of `{}` did not serialize: {e}", P::NAME))
}

#[cfg(test)]
mod tests {
    use super::Rendered;

    #[test]
    fn a_table_belongs_to_one_read_model_per_version() {
        let mut rendered = Rendered::default();
        rendered.claim("user_view", 1, "a::UserView").unwrap();
        rendered.claim("user_view", 1, "a::UserView").unwrap();
        // The next version of the same read model, rebuilt beside the live one.
        rendered.claim("user_view", 2, "a::UserViewV2").unwrap();
        let error = rendered.claim("user_view", 1, "b::UserView").unwrap_err();
        assert!(
            error.starts_with("the read models `a::UserView` and `b::UserView` both use the table `user_view` at version 1"),
            "{error}"
        );
        rendered.claim("other_view", 1, "b::UserView").unwrap();
    }
}
