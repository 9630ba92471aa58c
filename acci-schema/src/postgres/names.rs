//! Identifiers: what PostgreSQL accepts as a read model's table or column name, how
//! they are quoted, and how indexes are named.

/// PostgreSQL keeps identifiers to 63 bytes (`NAMEDATALEN - 1`) and cuts longer ones.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Columns every table has; a column of one of these names cannot be created.
pub const SYSTEM_COLUMNS: &[&str] = &["tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"];

/// What an identifier names, for the rules that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierKind {
    /// A table: must not start with `pg_`.
    Table,
    /// A column: must not be a system column.
    Column,
}

/// `"name"`: the identifier quoted. Names are checked with [`identifier_problem`] before
/// they get here; doubling `"` keeps the quoting right whatever a name holds.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The name of the index on `column`: `<table>_<column>_idx`.
pub fn index_name(table: &str, column: &str) -> String {
    format!("{table}_{column}_idx")
}

/// What is wrong with a table or column name, as the end of a sentence that starts with
/// the name (`"contains `;` and ` `, …"`), or `None` for a good name: lower-case ASCII
/// letters, digits and `_`, not starting with a digit, at most 63 bytes, not `pg_…` for
/// a table, not a system column for a column.
pub fn identifier_problem(name: &str, kind: IdentifierKind) -> Option<String> {
    let mut foreign: Vec<char> = Vec::new();
    for c in name.chars() {
        let allowed = c.is_ascii_alphanumeric() || c == '_';
        if !allowed && !foreign.contains(&c) {
            foreign.push(c);
        }
    }
    Some(if name.is_empty() {
        "is empty".to_owned()
    } else if !foreign.is_empty() {
        let shown: Vec<String> = foreign
            .iter()
            .map(|c| match c {
                ' ' => "a space".to_owned(),
                c => format!("`{}`", c.escape_debug()),
            })
            .collect();
        format!(
            "contains {}, but a name may hold only lower-case ASCII letters, digits and `_`",
            and_list(&shown)
        )
    } else if name.len() > MAX_IDENTIFIER_BYTES {
        format!(
            "is {} bytes long; PostgreSQL keeps {MAX_IDENTIFIER_BYTES}",
            name.len()
        )
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        "has upper-case letters, which PostgreSQL folds to lower case unless quoted".to_owned()
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        "starts with a digit".to_owned()
    } else if kind == IdentifierKind::Table && name.starts_with("pg_") {
        "starts with `pg_`, which PostgreSQL keeps for its own catalogs".to_owned()
    } else if kind == IdentifierKind::Column && SYSTEM_COLUMNS.contains(&name) {
        "is the name of a system column every PostgreSQL table has".to_owned()
    } else {
        return None;
    })
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
