//! The database-neutral description of a read model's table.

/// The logical type of a column's values (one element, for an array column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// Text (`String`).
    Text,
    /// `true` or `false`.
    Boolean,
    /// A 16-bit integer.
    SmallInt,
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    BigInt,
    /// A 32-bit float.
    Real,
    /// A 64-bit float.
    Double,
    /// A UUID.
    Uuid,
    /// An instant, with its time zone (`DateTime<Tz>`).
    Timestamptz,
    /// A calendar date.
    Date,
    /// A date and time without a time zone.
    Timestamp,
    /// Any JSON value.
    Json,
}

impl Scalar {
    /// Every scalar, in declaration order.
    pub const ALL: &'static [Scalar] = &[
        Scalar::Text,
        Scalar::Boolean,
        Scalar::SmallInt,
        Scalar::Integer,
        Scalar::BigInt,
        Scalar::Real,
        Scalar::Double,
        Scalar::Uuid,
        Scalar::Timestamptz,
        Scalar::Date,
        Scalar::Timestamp,
        Scalar::Json,
    ];

    /// The variant's name, as code that builds the value names it: `"BigInt"`.
    pub const fn variant(self) -> &'static str {
        match self {
            Scalar::Text => "Text",
            Scalar::Boolean => "Boolean",
            Scalar::SmallInt => "SmallInt",
            Scalar::Integer => "Integer",
            Scalar::BigInt => "BigInt",
            Scalar::Real => "Real",
            Scalar::Double => "Double",
            Scalar::Uuid => "Uuid",
            Scalar::Timestamptz => "Timestamptz",
            Scalar::Date => "Date",
            Scalar::Timestamp => "Timestamp",
            Scalar::Json => "Json",
        }
    }

    /// Whether values of this type are floating-point numbers (no total order, no key).
    pub const fn is_float(self) -> bool {
        matches!(self, Scalar::Real | Scalar::Double)
    }
}

/// A column's type: one scalar, or an array of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ColumnType {
    /// The type of the value, or of each element of an array.
    pub scalar: Scalar,
    /// Whether the column holds an array of `scalar`.
    pub array: bool,
}

impl ColumnType {
    /// One value of `scalar`.
    pub const fn scalar(scalar: Scalar) -> Self {
        Self {
            scalar,
            array: false,
        }
    }

    /// An array of `scalar`.
    pub const fn array(scalar: Scalar) -> Self {
        Self {
            scalar,
            array: true,
        }
    }
}

/// One column of a read model's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Column<'a> {
    /// The Rust field it stores.
    pub field: &'a str,
    /// The column's name (the field's name unless renamed), also its key in the row's
    /// JSON.
    pub column: &'a str,
    /// The type of its values.
    pub ty: ColumnType,
    /// Whether it takes NULL (an `Option` field, or a JSON value).
    pub nullable: bool,
    /// Whether it is part of the primary key.
    pub key: bool,
    /// Whether it has an index of its own (and a finder).
    pub index: bool,
}

/// The name of the tenant column of a [`Scope::Tenant`] table: first column, first in
/// the primary key, written by the runner from the event's tenant, never a field.
pub const TENANT_COLUMN: &str = "tenant_id";

/// Whose rows a read model's table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One tenant's rows per key: the table has a [`TENANT_COLUMN`] first in its key, and
    /// a reader sees only the rows of its tenant. The default.
    Tenant,
    /// Rows shared by every tenant (`#[projection(global)]`): no tenant column, the key
    /// as written, every reader sees every row. Events of all tenants with the same key
    /// change the same row.
    Global,
}

/// A read model's table: its name, its scope and its columns, in field order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table<'a> {
    /// The table's name, unqualified.
    pub name: &'a str,
    /// Whether its rows belong to tenants ([`Scope::Tenant`]) or to everyone.
    pub scope: Scope,
    /// The columns of the Rust fields, in field order; the key columns among them in key
    /// order. The tenant column of a [`Scope::Tenant`] table is not among them.
    pub columns: &'a [Column<'a>],
}

impl<'a> Table<'a> {
    /// Whether its rows belong to tenants (it has a [`TENANT_COLUMN`]).
    pub fn is_tenant_scoped(&self) -> bool {
        self.scope == Scope::Tenant
    }

    /// The key columns, in declaration order.
    pub fn key_columns(&self) -> impl Iterator<Item = &'a Column<'a>> + 'a {
        self.columns.iter().filter(|c| c.key)
    }

    /// The columns with an index of their own, in field order.
    pub fn indexed_columns(&self) -> impl Iterator<Item = &'a Column<'a>> + 'a {
        self.columns.iter().filter(|c| c.index)
    }

    /// The column named `column`.
    pub fn column(&self, column: &str) -> Option<&'a Column<'a>> {
        self.columns.iter().find(|c| c.column == column)
    }

    /// Whether `column` has an index of its own, so rows can be found by it.
    pub fn is_indexed(&self, column: &str) -> bool {
        self.column(column).is_some_and(|c| c.index)
    }
}
