//! Row keys as the generated SQL takes them: JSON objects of the key columns.

use acci_core::Projection;
use acci_core::projection::TableSpec;
use serde_json::{Map, Value};

/// `{"k1": v1, "k2": v2}` for a key: a single value for one key column, a tuple (an array
/// in JSON) for several.
pub(crate) fn key_object<P: Projection>(key: &P::Key) -> Result<Value, String> {
    let value = serde_json::to_value(key)
        .map_err(|e| format!("the key of `{}` did not serialize: {e}", P::NAME))?;
    let columns: Vec<&str> = P::TABLE.key_columns().map(|c| c.column).collect();
    let mut object = Map::with_capacity(columns.len());
    match (columns.as_slice(), value) {
        ([single], value) => {
            object.insert((*single).to_owned(), value);
        }
        (many, Value::Array(values)) if many.len() == values.len() => {
            for (column, value) in many.iter().zip(values) {
                object.insert((*column).to_owned(), value);
            }
        }
        (_, other) => {
            return Err(format!(
                "the key of `{}` has not the shape of its key columns: {other}",
                P::NAME
            ));
        }
    }
    Ok(Value::Object(object))
}

/// Checks a table description's key columns exist (a hand-written `Projection` could get
/// it wrong).
pub(crate) fn check_table(table: &TableSpec) -> Result<(), String> {
    if table.key_columns().next().is_none() {
        return Err(format!("read model `{}` has no key column", table.table));
    }
    Ok(())
}
