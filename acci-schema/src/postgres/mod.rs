//! The PostgreSQL side of the column model: type names, identifier rules and quoting,
//! index names, and every statement of a table ([`TableSql`]).

mod names;
mod statements;
#[cfg(test)]
mod tests;

pub use names::{
    IdentifierKind, MAX_IDENTIFIER_BYTES, SYSTEM_COLUMNS, identifier_problem, index_name,
    quote_ident,
};
pub use statements::TableSql;

use crate::column::{ColumnType, Scalar};

/// The PostgreSQL type of a scalar: `bigint`, `timestamptz`.
pub const fn scalar_type(scalar: Scalar) -> &'static str {
    match scalar {
        Scalar::Text => "text",
        Scalar::Boolean => "boolean",
        Scalar::SmallInt => "smallint",
        Scalar::Integer => "integer",
        Scalar::BigInt => "bigint",
        Scalar::Real => "real",
        Scalar::Double => "double precision",
        Scalar::Uuid => "uuid",
        Scalar::Timestamptz => "timestamptz",
        Scalar::Date => "date",
        Scalar::Timestamp => "timestamp",
        Scalar::Json => "jsonb",
    }
}

/// The PostgreSQL type of a column: `text`, `bigint[]`, `jsonb`.
pub fn column_type(ty: ColumnType) -> String {
    let scalar = scalar_type(ty.scalar);
    if ty.array {
        format!("{scalar}[]")
    } else {
        scalar.to_owned()
    }
}
