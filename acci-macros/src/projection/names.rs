//! The names `#[projection]` gives: the table's, the columns' (the rules are
//! `acci_schema::postgres::identifier_problem`), and the event enum's.

use acci_schema::postgres::{
    IdentifierKind, MAX_IDENTIFIER_BYTES, SYSTEM_COLUMNS, identifier_problem,
};
use syn::ext::IdentExt;

use super::parse::ProjectionArgs;
use crate::common::{Ctxt, ListedEvent};

pub(super) const COLUMN_RULE: &str = "a column name is lower-case ASCII letters, digits and `_`, starts with a letter or `_`, is not a system column (`ctid`, `xmin`, …) and is at most 63 bytes";

/// The name of the event enum: `event_enum = …` or `<Struct>Event`. A name that is the
/// struct's own or a listed event's is reported (declared beside them, it would clash),
/// and replaced by a hidden one so the clash is not reported a second time.
pub(super) fn event_enum(
    cx: &Ctxt,
    given: Option<syn::Ident>,
    ident: &syn::Ident,
    events: &[ListedEvent],
) -> syn::Ident {
    let clash = |name: &syn::Ident| {
        if name == ident {
            Some(format!("the read model `{ident}` itself"))
        } else {
            events
                .iter()
                .find(|e| e.path.segments.last().is_some_and(|s| s.ident == *name))
                .map(|e| format!("the listed event `{}`", crate::common::path_text(&e.path)))
        }
    };
    match given {
        Some(name) => {
            if let Some(other) = clash(&name) {
                cx.error_at(
                    &name,
                    format!("`event_enum = {name}` names {other}; the enum is declared beside it and needs a name of its own"),
                    format!("write `event_enum = {ident}Event` or another name free in this module"),
                );
                return quote::format_ident!("__Acci{}Event", ident);
            }
            name
        }
        None => {
            let name = quote::format_ident!("{}Event", ident);
            if let Some(other) = clash(&name) {
                cx.error_at(
                    ident,
                    format!("the event enum of `{ident}` would be named `{name}`, like {other}"),
                    format!("name the enum with `event_enum = {ident}Change` (or another free name) in `#[projection(...)]`"),
                );
                return quote::format_ident!("__Acci{}Event", ident);
            }
            name
        }
    }
}

/// The table name: `table = "…"` or the struct's name in snake case, checked.
pub(super) fn table_name(cx: &Ctxt, args: &ProjectionArgs, ident: &syn::Ident) -> String {
    let rule = "a table name is lower-case ASCII letters, digits and `_`, starts with a letter or `_`, does not start with `pg_` and is at most 63 bytes";
    match &args.table {
        Some(literal) => {
            let name = literal.value();
            if let Some(problem) = identifier_problem(&name, IdentifierKind::Table) {
                cx.error_at(
                    literal,
                    format!("the table name `{}` {problem}", name.escape_debug()),
                    format!("{rule}: write {}", suggest("table", &name, "user_view")),
                );
            }
            name
        }
        None => {
            let name = snake_case(&ident.unraw().to_string());
            if let Some(problem) = identifier_problem(&name, IdentifierKind::Table) {
                cx.error_at(
                    ident,
                    format!("the table name `{name}`, made from `{ident}`, {problem}"),
                    format!(
                        "{rule}: name the table with {} in `#[projection(...)]`",
                        suggest("table", &name, "user_view")
                    ),
                );
            }
            name
        }
    }
}

/// `` `key = "good_name"` ``: the name made valid, or `fallback` when that fails.
pub(super) fn suggest(key: &str, name: &str, fallback: &str) -> String {
    let mut good: String = snake_case(name)
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    while good.contains("__") {
        good = good.replace("__", "_");
    }
    let mut good = good.trim_matches('_').to_owned();
    if good.starts_with(|c: char| c.is_ascii_digit()) || SYSTEM_COLUMNS.contains(&good.as_str()) {
        good.insert(0, '_');
    }
    if let Some(rest) = good.strip_prefix("pg_") {
        good = rest.to_owned();
    }
    good.truncate(MAX_IDENTIFIER_BYTES);
    let good = good.trim_end_matches('_');
    let good = if good.is_empty() || good == name {
        fallback
    } else {
        good
    };
    format!("`{key} = \"{good}\"`")
}

/// `UserView` → `user_view`, `HTTPStats` → `http_stats`, `UserV2` → `user_v2`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_uppercase() {
            out.push(c);
            continue;
        }
        let boundary = match i.checked_sub(1).map(|j| chars[j]) {
            Some(prev) if prev.is_lowercase() || prev.is_ascii_digit() => true,
            Some(prev) if prev.is_uppercase() => {
                chars.get(i + 1).is_some_and(|next| next.is_lowercase())
            }
            _ => false,
        };
        if boundary {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}
