//! The SQL of a read model's table, as `acci_core::projection::TableSpec` carries it.
//!
//! Every statement names the table unqualified (a runner points `search_path` at the live
//! schema or at a rebuild beside it) and quotes every identifier. Every value arrives as
//! one `jsonb` parameter: rows as objects keyed by column, keys as objects of the key
//! columns; `jsonb_populate_recordset` and `jsonb_to_recordset` turn them into typed rows
//! inside the database, so no statement depends on the number of rows.
//!
//! Rows are read back with `to_jsonb(r.*)`: the qualified whole-row reference, because a
//! bare `r` would name a column called `r` if the table had one.

/// One column, as the SQL needs it.
pub(crate) struct SqlColumn<'a> {
    pub(crate) name: &'a str,
    pub(crate) sql_type: &'a str,
    pub(crate) nullable: bool,
    pub(crate) key: bool,
    pub(crate) index: bool,
}

/// Every statement of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableSql {
    pub(crate) create_table: String,
    pub(crate) create_indexes: Vec<String>,
    pub(crate) select_by_keys: String,
    pub(crate) upsert: String,
    pub(crate) delete_by_keys: String,
    pub(crate) select_page: String,
    /// The indexed column and its finder.
    pub(crate) finders: Vec<(String, String)>,
}

/// The name of the index on `column`: `<table>_<column>_idx`.
pub(crate) fn index_name(table: &str, column: &str) -> String {
    format!("{table}_{column}_idx")
}

pub(crate) fn table_sql(table: &str, columns: &[SqlColumn<'_>]) -> TableSql {
    let t = quote_ident(table);
    let keys: Vec<&SqlColumn<'_>> = columns.iter().filter(|c| c.key).collect();
    let key_names = list(keys.iter().map(|c| quote_ident(c.name)));
    let key_record = record(&keys);
    let all_names = list(columns.iter().map(|c| quote_ident(c.name)));

    let definitions = columns.iter().map(|c| {
        let null = if c.nullable { "" } else { " NOT NULL" };
        format!("{} {}{null}", quote_ident(c.name), c.sql_type)
    });
    let create_table = format!(
        "CREATE TABLE IF NOT EXISTS {t} ({}, PRIMARY KEY ({key_names}))",
        list(definitions)
    );

    let indexed: Vec<&SqlColumn<'_>> = columns.iter().filter(|c| c.index).collect();
    let create_indexes = indexed
        .iter()
        .map(|c| {
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {t} ({})",
                quote_ident(&index_name(table, c.name)),
                quote_ident(c.name)
            )
        })
        .collect();

    let keys_in = format!(
        "({key_names}) IN (SELECT {key_names} FROM jsonb_to_recordset($1::jsonb) AS k({key_record}))"
    );
    let select_by_keys = format!("SELECT to_jsonb(r.*) FROM {t} r WHERE {keys_in}");
    let delete_by_keys = format!("DELETE FROM {t} WHERE {keys_in}");

    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !c.key)
        .map(|c| format!("{0} = EXCLUDED.{0}", quote_ident(c.name)))
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
        "SELECT to_jsonb(r.*) FROM {t} r WHERE $2::jsonb IS NULL OR ({key_names}) > (SELECT {key_names} FROM jsonb_to_record($2::jsonb) AS k({key_record})) ORDER BY {key_names} LIMIT $1"
    );

    let finders = indexed
        .iter()
        .map(|c| {
            let name = quote_ident(c.name);
            let sql = format!(
                "SELECT to_jsonb(r.*) FROM {t} r WHERE {name} = (SELECT {name} FROM jsonb_to_record($1::jsonb) AS v({name} {})) ORDER BY {key_names} LIMIT $2",
                c.sql_type
            );
            (c.name.to_owned(), sql)
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

/// `"k1" text, "k2" bigint`: the column definition list of `jsonb_to_record(set)`.
fn record(columns: &[&SqlColumn<'_>]) -> String {
    list(
        columns
            .iter()
            .map(|c| format!("{} {}", quote_ident(c.name), c.sql_type)),
    )
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// `"name"`. The names are checked to be `[a-z_][a-z0-9_]*` before they get here; the
/// doubling of `"` keeps the quoting right whatever a name holds.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
