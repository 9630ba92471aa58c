//! Which Rust types a read-model field may have, and the column type of each.
//!
//! The map goes by the last segment of a type's path (a macro sees names, not types), so
//! it is kept small and exact: every type here round-trips through the JSON the SQL
//! exchanges (`serde_json` on the Rust side, `jsonb_populate_recordset` and `to_jsonb` on
//! the database side). `Option<T>` makes a column nullable and `Vec<T>` an array of a
//! scalar; the macro reads those wrappers itself.

use crate::column::Scalar;

/// The scalar types by the last segment of their Rust path.
const SCALARS: &[(&str, Scalar)] = &[
    ("String", Scalar::Text),
    ("str", Scalar::Text),
    ("bool", Scalar::Boolean),
    ("i16", Scalar::SmallInt),
    ("i32", Scalar::Integer),
    ("i64", Scalar::BigInt),
    ("u8", Scalar::Integer),
    ("u16", Scalar::Integer),
    ("u32", Scalar::BigInt),
    ("f32", Scalar::Real),
    ("f64", Scalar::Double),
    ("Uuid", Scalar::Uuid),
    ("DateTime", Scalar::Timestamptz),
    ("NaiveDate", Scalar::Date),
    ("NaiveDateTime", Scalar::Timestamp),
    ("Value", Scalar::Json),
];

/// The key types acci-core makes from an aggregate id (`KeyFromAggregateId`): a single
/// key of one of them defaults to the aggregate id.
const FROM_AGGREGATE_ID: &[&str] = &["String", "Uuid", "i16", "i32", "i64"];

/// The supported types, for the `help` of an unsupported one. The same table is in
/// `acci-core/src/docs/projection.md`.
pub const SUPPORTED: &str = "String → text, bool → boolean, i16 → smallint, i32 → integer, i64 → bigint, u8 and u16 → integer, u32 → bigint, f32 → real, f64 → double precision, Uuid → uuid, DateTime<Tz> → timestamptz, NaiveDate → date, NaiveDateTime → timestamp, serde_json::Value → jsonb, Option<T> → T with NULL, Vec<T> → T[] of one of these scalars";

/// The scalar a Rust type of this name is stored as: `"i64"` → [`Scalar::BigInt`].
pub fn scalar(last_segment: &str) -> Option<Scalar> {
    SCALARS
        .iter()
        .find(|(rust, _)| *rust == last_segment)
        .map(|(_, scalar)| *scalar)
}

/// Why a Rust type of this name has no column type, when there is more to say than
/// that it is not in the map.
pub fn unsupported_reason(last_segment: &str) -> Option<&'static str> {
    match last_segment {
        "u64" | "u128" | "i128" => Some("its values do not all fit in `bigint`"),
        "usize" | "isize" => Some("its size depends on the platform"),
        _ => None,
    }
}

/// Whether a single key of a Rust type of this name is made from the aggregate id.
pub fn key_from_aggregate_id(last_segment: &str) -> bool {
    FROM_AGGREGATE_ID.contains(&last_segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_from_an_aggregate_id_is_a_scalar() {
        for name in FROM_AGGREGATE_ID {
            let scalar = scalar(name).expect("a mapped type");
            assert!(!scalar.is_float() && scalar != Scalar::Json, "{name}");
        }
    }

    #[test]
    fn unsupported_types_are_not_mapped() {
        for name in ["u64", "u128", "i128", "usize", "isize"] {
            assert!(scalar(name).is_none() && unsupported_reason(name).is_some());
        }
    }
}
