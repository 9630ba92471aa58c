//! Every statement of one read-model table.
//!
//! Each names the table unqualified (a runner points `search_path` at the live schema or
//! at a rebuild beside it) and quotes every identifier. Every value arrives as one
//! `jsonb` parameter: rows as objects keyed by column, keys as objects of the key
//! columns; `jsonb_populate_recordset` and `jsonb_to_recordset` turn them into typed rows
//! inside the database, so no statement depends on the number of rows.
//!
//! Rows are read back with `to_jsonb(r.*)`: the qualified whole-row reference, because a
//! bare `r` would name a column called `r` if the table had one.

use super::{column_type, index_name, quote_ident};
use crate::column::{Column, ColumnType, Scalar, TENANT_COLUMN, Table};

/// The statements of one table, rendered from its [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSql {
    /// `CREATE TABLE IF NOT EXISTS …` with the primary key.
    pub create_table: String,
    /// `CREATE INDEX IF NOT EXISTS …`, one per indexed column.
    pub create_indexes: Vec<String>,
    /// Rows whose key is in `$1`, a JSON array of key objects (with the tenant, in a
    /// tenant-scoped table); each row as `to_jsonb`.
    pub select_by_keys: String,
    /// Inserts or updates the rows of `$1`, a JSON array of row objects.
    pub upsert: String,
    /// Deletes the rows whose key is in `$1`, a JSON array of key objects.
    pub delete_by_keys: String,
    /// Up to `$1` rows in key order, after the key object `$2` (NULL: from the start; the
    /// key without the tenant), of the tenant `$3` in a tenant-scoped table.
    pub select_page: String,
    /// Per indexed column, in field order: the column and the rows whose column equals
    /// `$1`'s (`{"column": value}`), up to `$2`, in key order, of the tenant `$3` in a
    /// tenant-scoped table.
    pub finders: Vec<(String, String)>,
}

impl TableSql {
    /// Renders every statement of `table`.
    ///
    /// A [`Scope::Tenant`](crate::column::Scope::Tenant) table gets the [`TENANT_COLUMN`] first, first in its primary key
    /// and first in each index; its key objects and rows carry the tenant under that name
    /// (so `select_by_keys`, `upsert` and `delete_by_keys` take it inside `$1`), and
    /// `select_page` and the finders take it as `$3` and read only that tenant's rows.
    pub fn render(table: &Table<'_>) -> Self {
        let t = quote_ident(table.name);
        let scoped = table.is_tenant_scoped();
        let tenant_column = Column {
            field: TENANT_COLUMN,
            column: TENANT_COLUMN,
            ty: ColumnType::scalar(Scalar::Text),
            nullable: false,
            key: true,
            index: false,
        };
        let tenant: Vec<&Column<'_>> = if scoped { vec![&tenant_column] } else { vec![] };
        let own_keys: Vec<&Column<'_>> = table.key_columns().collect();
        let keys: Vec<&Column<'_>> = tenant
            .iter()
            .copied()
            .chain(own_keys.iter().copied())
            .collect();
        let columns: Vec<&Column<'_>> =
            tenant.iter().copied().chain(table.columns.iter()).collect();
        let key_names = list(keys.iter().map(|c| quote_ident(c.column)));
        let own_key_names = list(own_keys.iter().map(|c| quote_ident(c.column)));
        let key_record = record(&keys);
        let own_key_record = record(&own_keys);
        let all_names = list(columns.iter().map(|c| quote_ident(c.column)));
        let tenant_filter = if scoped {
            format!("{} = $3 AND ", quote_ident(TENANT_COLUMN))
        } else {
            String::new()
        };
        let tenant_prefix = if scoped {
            format!("{}, ", quote_ident(TENANT_COLUMN))
        } else {
            String::new()
        };

        let definitions = columns.iter().map(|c| {
            let null = if c.nullable { "" } else { " NOT NULL" };
            format!("{} {}{null}", quote_ident(c.column), column_type(c.ty))
        });
        let create_table = format!(
            "CREATE TABLE IF NOT EXISTS {t} ({}, PRIMARY KEY ({key_names}))",
            list(definitions)
        );

        let create_indexes = table
            .indexed_columns()
            .map(|c| {
                format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {t} ({tenant_prefix}{})",
                    quote_ident(&index_name(table.name, c.column)),
                    quote_ident(c.column)
                )
            })
            .collect();

        let keys_in = format!(
            "({key_names}) IN (SELECT {key_names} FROM jsonb_to_recordset($1::jsonb) AS k({key_record}))"
        );
        let select_by_keys = format!("SELECT to_jsonb(r.*) FROM {t} r WHERE {keys_in}");
        let delete_by_keys = format!("DELETE FROM {t} WHERE {keys_in}");

        let updates: Vec<String> = table
            .columns
            .iter()
            .filter(|c| !c.key)
            .map(|c| format!("{0} = EXCLUDED.{0}", quote_ident(c.column)))
            .collect();
        let on_conflict = if updates.is_empty() {
            "DO NOTHING".to_owned()
        } else {
            format!("DO UPDATE SET {}", updates.join(", "))
        };
        let upsert = format!(
            "INSERT INTO {t} ({all_names}) SELECT {all_names} FROM jsonb_populate_recordset(NULL::{t}, $1::jsonb) ON CONFLICT ({key_names}) {on_conflict}"
        );

        let select_page = format!(
            "SELECT to_jsonb(r.*) FROM {t} r WHERE {tenant_filter}($2::jsonb IS NULL OR ({own_key_names}) > (SELECT {own_key_names} FROM jsonb_to_record($2::jsonb) AS k({own_key_record}))) ORDER BY {own_key_names} LIMIT $1"
        );

        let finders = table
            .indexed_columns()
            .map(|c| {
                let name = quote_ident(c.column);
                let sql = format!(
                    "SELECT to_jsonb(r.*) FROM {t} r WHERE {tenant_filter}{name} = (SELECT {name} FROM jsonb_to_record($1::jsonb) AS v({name} {})) ORDER BY {own_key_names} LIMIT $2",
                    column_type(c.ty)
                );
                (c.column.to_owned(), sql)
            })
            .collect();

        TableSql {
            create_table,
            create_indexes,
            select_by_keys,
            upsert,
            delete_by_keys,
            select_page,
            finders,
        }
    }

    /// The finder of `column`, if it is indexed.
    pub fn finder(&self, column: &str) -> Option<&str> {
        self.finders
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, sql)| sql.as_str())
    }
}

/// `"k1" text, "k2" bigint`: the column definition list of `jsonb_to_record(set)`.
fn record(columns: &[&Column<'_>]) -> String {
    list(
        columns
            .iter()
            .map(|c| format!("{} {}", quote_ident(c.column), column_type(c.ty))),
    )
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}
