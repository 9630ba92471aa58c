//! The read-model column model of ACCI, in one place.
//!
//! A `#[projection]` read model is one table: its [`Table`] names it and lists its
//! [`Column`]s (name, [`ColumnType`], nullability, key membership, index), with no
//! database in it. `acci-macros` builds the model from the struct, checks it and writes
//! it into the generated code; `acci-core` re-exports it as the description every
//! `Projection` carries; the [`postgres`] module renders it as SQL, both for the macro
//! (the statements in the generated docs, the snapshots) and for `acci-postgres`, which
//! runs them.
//!
//! The crate is a plain library (no proc macro, no dependencies), as `sqlx-macros-core`
//! is to `sqlx-macros`, so the model is unit tested and shared without copies.

mod column;
pub mod postgres;
pub mod rust_types;

pub use column::{Column, ColumnType, Scalar, Scope, TENANT_COLUMN, Table};
