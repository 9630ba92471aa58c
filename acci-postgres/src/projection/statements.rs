//! The statements of each `#[projection]` table, rendered once per read model from its
//! database-neutral description (`Projection::TABLE`) by `acci_schema::postgres`, the
//! renderer the macro's docs show; and keys as those statements take them.

use std::any::{TypeId, type_name};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use acci_core::projection::TENANT_COLUMN;
use acci_core::{Projection, TenantId};
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
    if table.is_tenant_scoped() && table.column(TENANT_COLUMN).is_some() {
        return Err(format!(
            "read model `{}` is tenant-scoped and has a column `{TENANT_COLUMN}` of its own; the tenant column is the runner's: rename the column, or make the table `Scope::Global`",
            table.name
        ));
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

/// `key` as the JSON object of its key columns, which the statements take: with the
/// row's tenant under [`TENANT_COLUMN`] in a tenant-scoped table (`tenant` is `None` in a
/// global one).
pub(crate) fn key_object<P: Projection>(
    tenant: Option<&TenantId>,
    key: &P::Key,
) -> Result<Value, String> {
    let key = P::key_object(key)
        .map_err(|e| format!("the key of `{}` did not serialize: {e}", P::NAME))?;
    with_tenant::<P>(tenant, key, "key")
}

/// `row` as the JSON object the upsert takes: with its tenant in a tenant-scoped table.
pub(crate) fn row_object<P: Projection>(
    tenant: Option<&TenantId>,
    row: &P,
) -> Result<Value, String> {
    let row = serde_json::to_value(row).map_err(|e| format!("a row of `{}`: {e}", P::NAME))?;
    with_tenant::<P>(tenant, row, "row")
}

/// A row as read back (`to_jsonb`): its tenant, taken out of it, and the row itself.
pub(crate) fn split_row<P: Projection>(json: Value) -> Result<(Option<TenantId>, P), String> {
    let mismatch = |e: &dyn std::fmt::Display| {
        format!("a row of `{}` does not match its struct: {e}", P::NAME)
    };
    let mut json = json;
    let tenant = match json.as_object_mut() {
        Some(object) if P::TABLE.is_tenant_scoped() => {
            let tenant = object
                .remove(TENANT_COLUMN)
                .and_then(|t| t.as_str().map(TenantId::new))
                .ok_or_else(|| mismatch(&"its tenant column is missing"))?
                .map_err(|e| mismatch(&e))?;
            Some(tenant)
        }
        _ => None,
    };
    let row = serde_json::from_value(json).map_err(|e| mismatch(&e))?;
    Ok((tenant, row))
}

fn with_tenant<P: Projection>(
    tenant: Option<&TenantId>,
    mut object: Value,
    what: &str,
) -> Result<Value, String> {
    match (tenant, object.as_object_mut()) {
        (None, _) if !P::TABLE.is_tenant_scoped() => Ok(object),
        (Some(tenant), Some(map)) if P::TABLE.is_tenant_scoped() => {
            map.insert(TENANT_COLUMN.to_owned(), Value::from(tenant.as_str()));
            Ok(object)
        }
        _ => Err(format!(
            "a {what} of `{}` {}",
            P::NAME,
            if P::TABLE.is_tenant_scoped() {
                "needs its tenant, and is not an object to put it in"
            } else {
                "is global and takes no tenant"
            }
        )),
    }
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
