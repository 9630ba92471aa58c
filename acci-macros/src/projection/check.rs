//! The rules `#[projection]` enforces on its struct, its keys and its fields, and the
//! checked model expansion works from.

use acci_schema::postgres::{
    IdentifierKind, MAX_IDENTIFIER_BYTES, SYSTEM_COLUMNS, TableSql, identifier_problem, index_name,
};
use acci_schema::rust_types::SUPPORTED;
use proc_macro2::TokenStream;
use syn::ext::IdentExt;

use super::parse::{self, ProjectionArgs};
use super::types::{self, ColumnType};
use crate::common::{
    Ctxt, EventsWording, ListedEvent, check_events_key, default_runtime, generic_span, item_kind,
    keyword_span, skip_value,
};

const EVENTS_WORDING: EventsWording = EventsWording {
    attribute: "projection",
    owner: "read model",
    verb: "read",
    examples: ["UserCreated", "EmailChanged"],
};

/// One field and its column.
pub(crate) struct Column {
    pub(crate) ident: syn::Ident,
    /// The field's name without `r#`.
    pub(crate) field: String,
    pub(crate) ty: syn::Type,
    pub(crate) column: String,
    /// Whether `column = "…"` gave the column another name than the field's.
    pub(crate) renamed: bool,
    pub(crate) kind: ColumnType,
    pub(crate) key: bool,
    /// Whether this is a key whose type was refused (an error is reported).
    pub(crate) key_error: bool,
    pub(crate) index: bool,
}

/// Everything expansion needs, checked.
pub(crate) struct Model {
    pub(crate) rt: TokenStream,
    /// The struct, its `#[projection(...)]` attributes removed.
    pub(crate) item: syn::ItemStruct,
    pub(crate) table: String,
    pub(crate) version: u32,
    pub(crate) enum_ident: syn::Ident,
    pub(crate) events: Vec<ListedEvent>,
    pub(crate) columns: Vec<Column>,
}

impl Model {
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.key)
    }

    /// The columns as the shared column model describes them.
    pub(crate) fn schema_columns(&self) -> Vec<acci_schema::Column<'_>> {
        self.columns
            .iter()
            .map(|c| acci_schema::Column {
                field: &c.field,
                column: &c.column,
                ty: c.kind.schema,
                nullable: c.kind.nullable,
                key: c.key,
                index: c.index,
            })
            .collect()
    }

    /// Every PostgreSQL statement of the table, for the generated docs.
    pub(crate) fn table_sql(&self) -> TableSql {
        TableSql::render(&acci_schema::Table {
            name: &self.table,
            columns: &self.schema_columns(),
        })
    }
}

/// Checks the item, the attribute's keys and every field. Returns a model whenever code
/// can be generated at all (a struct with named fields and no generics), with every
/// usable piece kept, so that a mistake in one field does not also break every
/// `impl Project` of the read model.
pub(crate) fn check(cx: &Ctxt, args: ProjectionArgs, item: &syn::Item) -> Option<Model> {
    let item = match item {
        syn::Item::Struct(item) => item,
        syn::Item::Enum(item) => {
            cx.error_at(
                item.enum_token,
                "`#[projection]` goes on a struct with named fields, not an enum",
                format!(
                    "a read model is one row per key: declare `{}` as `pub struct {} {{ … }}` with a `#[projection(key)]` field and one field per column",
                    item.ident, item.ident
                ),
            );
            return None;
        }
        other => {
            cx.error_at_span(
                keyword_span(other),
                format!(
                    "`#[projection]` goes on a struct with named fields, not {}",
                    item_kind(other)
                ),
                "declare the read model as `pub struct Name { … }` with a `#[projection(key)]` field and one field per column",
            );
            return None;
        }
    };
    let ident = &item.ident;
    let mut usable = true;
    if let Some(at) = generic_span(&item.generics) {
        cx.error_at_span(
            at,
            format!("`#[projection]` does not support generics, and `{ident}` is generic"),
            "a read model is one table with fixed columns; use concrete types in its fields",
        );
        usable = false;
    }
    let named = match &item.fields {
        syn::Fields::Named(fields) => Some(fields),
        syn::Fields::Unnamed(fields) => {
            cx.error_at(
                fields,
                format!("a read model needs named fields, but `{ident}` is a tuple struct"),
                format!(
                    "name the fields (`struct {ident} {{ #[projection(key)] id: String, … }}`): each field is a column of the table, named after it"
                ),
            );
            usable = false;
            None
        }
        syn::Fields::Unit => {
            cx.error_at(
                ident,
                format!("a read model needs fields, but `{ident}` is a unit struct"),
                format!(
                    "write `struct {ident} {{ #[projection(key)] id: String, … }}`: each field is a column of the table"
                ),
            );
            usable = false;
            None
        }
    };

    let table = table_name(cx, &args, ident);
    let events = check_events_key(
        cx,
        args.events.as_ref(),
        args.events_attempted,
        ident,
        &EVENTS_WORDING,
    );
    check_container_serde(cx, &item.attrs);

    let mut columns = Vec::new();
    if let Some(fields) = named {
        let generics: Vec<String> = item
            .generics
            .type_params()
            .map(|p| p.ident.to_string())
            .collect();
        // Whether a field's `#[projection(...)]` failed to parse or had an unknown key
        // (`kee`): its error is reported, and "has no key" would only follow from it.
        let mut field_keys_broken = false;
        for field in &fields.named {
            let (column, broken) = check_field(cx, &table, field, &generics);
            columns.push(column);
            field_keys_broken |= broken;
        }
        check_duplicate_columns(cx, &columns, fields);
        if usable && !field_keys_broken && !columns.iter().any(|c| c.key) {
            cx.error_at(
                ident,
                format!("`{ident}` has no key: a read model keeps one row per key"),
                "add `#[projection(key)]` to the field that identifies a row (several key fields make a composite key)",
            );
        }
    }
    if !usable {
        return None;
    }

    let enum_ident = event_enum(cx, args.event_enum, ident, &events);

    let mut item = item.clone();
    strip_struct(&mut item);
    Some(Model {
        rt: args.runtime.unwrap_or_else(default_runtime),
        item,
        table,
        version: args.version.map_or(1, |(v, _)| v),
        enum_ident,
        events,
        columns,
    })
}

/// The name of the event enum: `event_enum = …` or `<Struct>Event`. A name that is the
/// struct's own or a listed event's is reported (declared beside them, it would clash),
/// and replaced by a hidden one so the clash is not reported a second time.
fn event_enum(
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
fn table_name(cx: &Ctxt, args: &ProjectionArgs, ident: &syn::Ident) -> String {
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

/// One field's column, with every problem of its `#[projection(...)]` reported, and
/// whether that attribute had keys that could not be read.
fn check_field(cx: &Ctxt, table: &str, field: &syn::Field, generics: &[String]) -> (Column, bool) {
    let args = parse::parse_field(cx, field);
    let ident = field.ident.clone().expect("named fields have names");
    let field_name = ident.unraw().to_string();

    let column = match &args.column {
        Some(literal) => {
            let name = literal.value();
            if let Some(problem) = identifier_problem(&name, IdentifierKind::Column) {
                cx.error_at(
                    literal,
                    format!("the column name `{}` {problem}", name.escape_debug()),
                    format!(
                        "{COLUMN_RULE}: write {}",
                        suggest("column", &name, "display_name")
                    ),
                );
            }
            name
        }
        None => {
            if let Some(problem) = identifier_problem(&field_name, IdentifierKind::Column) {
                cx.error_at(
                    &ident,
                    format!(
                        "the column name `{field_name}`, made from the field `{ident}`, {problem}"
                    ),
                    format!(
                        "{COLUMN_RULE}: name the column with `#[projection({})]`",
                        suggest("column", &field_name, "display_name").trim_matches('`')
                    ),
                );
            }
            field_name.clone()
        }
    };

    // Whether the key's type is refused: then the key is left out of the expansion, so the
    // trait bounds on `Projection::Key` do not repeat the error.
    let mut key_error = false;
    let kind = match types::column_type(&field.ty, args.json.is_some()) {
        Ok(kind) => kind,
        // A type that names a generic parameter is reported once, as generics.
        Err(_) if mentions_any(&field.ty, generics) => ColumnType::placeholder(),
        Err(types::Unsupported { message, at }) => {
            key_error = true;
            cx.error_at(
                &at,
                message,
                format!(
                    "the supported types are: {SUPPORTED}; for any other serde type, add `#[projection(json)]` to store the field as `jsonb`"
                ),
            );
            ColumnType::placeholder()
        }
    };

    if let Some(key) = &args.key {
        key_error |= kind.option || args.json.is_some() || kind.jsonb() || kind.float();
        if kind.option {
            cx.error_at(
                key,
                format!("a key column cannot be NULL, but `{field_name}` is an `Option`"),
                "remove `Option` from the key's type, or remove `key` from this field",
            );
        } else if let Some(json) = &args.json {
            cx.error_at(
                json,
                "a key cannot be `#[projection(json)]`: keys are compared, ordered and looked up as plain columns",
                "give the key a scalar type such as `String`, an integer or `Uuid` and remove `json`, or make another field the key",
            );
        } else if kind.jsonb() || kind.float() {
            let shown = types::type_text(&field.ty);
            let why = if kind.float() {
                "floating-point numbers have no total order (`NaN`)"
            } else {
                "a JSON value has no order a key could use"
            };
            cx.error_at(
                &field.ty,
                format!("`{shown}` cannot be a key: {why}"),
                "use `String`, an integer, `Uuid`, a date or a time for the key, or several key fields for a composite key",
            );
        }
        if let Some(index) = &args.index {
            cx.error_at(
                index,
                format!("`index` on the key `{field_name}` is redundant: the primary key already indexes it"),
                "remove `index`; rows are found by key with the table's `select_by_keys`",
            );
        }
    }
    if let (Some(index), None) = (&args.index, &args.key) {
        let name = index_name(table, &column);
        if name.len() > MAX_IDENTIFIER_BYTES {
            cx.error_at(
                index,
                format!(
                    "the index name `{name}` is {} bytes long; PostgreSQL keeps {MAX_IDENTIFIER_BYTES}",
                    name.len()
                ),
                "indexes are named `<table>_<column>_idx`: shorten the table's name or the column's (`column = \"…\"`)",
            );
        }
    }
    check_field_serde(cx, field, &field_name, &kind, args.json.is_some());

    let broken = args.broken;
    let column = Column {
        renamed: column != field_name,
        ident,
        field: field_name,
        ty: field.ty.clone(),
        column,
        kind,
        key: args.key.is_some(),
        key_error: args.key.is_some() && key_error,
        index: args.index.is_some() && args.key.is_none(),
    };
    (column, broken)
}

/// Whether `ty` names one of `idents` anywhere (`Vec<T>` names `T`).
fn mentions_any(ty: &syn::Type, idents: &[String]) -> bool {
    fn walk(tokens: TokenStream, idents: &[String]) -> bool {
        tokens.into_iter().any(|tt| match tt {
            proc_macro2::TokenTree::Ident(ident) => idents.iter().any(|i| ident == i),
            proc_macro2::TokenTree::Group(group) => walk(group.stream(), idents),
            _ => false,
        })
    }
    !idents.is_empty() && walk(quote::ToTokens::to_token_stream(ty), idents)
}

const COLUMN_RULE: &str = "a column name is lower-case ASCII letters, digits and `_`, starts with a letter or `_`, is not a system column (`ctid`, `xmin`, …) and is at most 63 bytes";

/// Two fields in one column: reported at the later one.
fn check_duplicate_columns(cx: &Ctxt, columns: &[Column], fields: &syn::FieldsNamed) {
    for (i, (later, field)) in columns.iter().zip(&fields.named).enumerate() {
        let Some(earlier) = columns[..i].iter().find(|c| c.column == later.column) else {
            continue;
        };
        let message = format!(
            "`{}` and `{}` would both be stored in the column `{}`",
            earlier.field, later.field, later.column
        );
        let help = "give one of them another column with `#[projection(column = \"…\")]`";
        // At the `column = "…"` that made the clash, or at the field's name.
        let literal = field
            .attrs
            .iter()
            .filter(|a| parse::is_projection(a))
            .find_map(column_literal);
        match literal {
            Some(literal) => cx.error_at(literal, message, help),
            None => cx.error_at(&later.ident, message, help),
        }
    }
}

/// The `"…"` of `column = "…"` in one `#[projection(...)]`, without reporting anything
/// (the attribute's errors are reported once, by the field's parse).
fn column_literal(attr: &syn::Attribute) -> Option<syn::LitStr> {
    let mut found = None;
    let _ = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("column") && meta.input.peek(syn::Token![=]) {
            found = meta.value()?.parse::<syn::LitStr>().ok();
        } else {
            skip_value(&meta);
        }
        Ok(())
    });
    found
}

/// `` `key = "good_name"` ``: the name made valid, or `fallback` when that fails.
fn suggest(key: &str, name: &str, fallback: &str) -> String {
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

/// `#[serde(...)]` keys on the struct that would make a row's JSON differ from its
/// columns.
fn check_container_serde(cx: &Ctxt, attrs: &[syn::Attribute]) {
    const CHANGES_SHAPE: &[&str] = &[
        "rename_all",
        "tag",
        "content",
        "untagged",
        "transparent",
        "from",
        "try_from",
        "into",
        "remote",
    ];
    for (path, key) in serde_keys(attrs) {
        if CHANGES_SHAPE.contains(&key.as_str()) {
            cx.error_at(
                path,
                format!("`#[serde({key})]` would make the rows' JSON differ from the table's columns"),
                "the row of a read model is stored through JSON keyed by column name; name columns with `#[projection(column = \"…\")]` instead",
            );
        }
    }
}

/// `#[serde(...)]` keys on a field that would rename it, leave it out, or write it in a
/// form its column may not take.
fn check_field_serde(cx: &Ctxt, field: &syn::Field, name: &str, kind: &ColumnType, json: bool) {
    for (path, key) in serde_keys(&field.attrs) {
        match key.as_str() {
            "rename" => cx.error_at(
                path,
                format!("`#[serde(rename)]` would store `{name}` under another key than its column"),
                "name the column with `#[projection(column = \"…\")]`; it renames the serde key too",
            ),
            "flatten" | "skip" | "skip_serializing" | "skip_deserializing"
            | "skip_serializing_if" => cx.error_at(
                path,
                format!("`#[serde({key})]` would leave the column `{name}` out of the row's JSON"),
                "every field of a read model is one column; remove the serde attribute, or move the field out of the read model",
            ),
            "with" | "serialize_with" | "deserialize_with" if !json && !kind.jsonb() => cx.error_at(
                path,
                format!(
                    "`#[serde({key})]` changes how `{name}` is written, which its `{}` column may not accept",
                    kind.sql()
                ),
                "add `#[projection(json)]` to store the field as `jsonb` in whatever form it takes, or remove the serde attribute",
            ),
            _ => {}
        }
    }
}

/// The key paths of every `#[serde(...)]` in `attrs`; malformed ones are serde's to report.
fn serde_keys(attrs: &[syn::Attribute]) -> Vec<(syn::Path, String)> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident() {
                keys.push((meta.path.clone(), ident.to_string()));
            }
            skip_value(&meta);
            Ok(())
        });
    }
    keys
}

/// Removes every `#[projection(...)]` from the struct and its fields.
pub(crate) fn strip_struct(item: &mut syn::ItemStruct) {
    item.attrs.retain(|a| !parse::is_projection(a));
    for field in &mut item.fields {
        field.attrs.retain(|a| !parse::is_projection(a));
    }
}

/// Removes every `#[projection(...)]` the item holds, for the fallback output: left in
/// place, each would be one more error ("attribute macro on a field").
pub(crate) fn strip_item(item: &mut syn::Item) {
    match item {
        syn::Item::Struct(item) => strip_struct(item),
        syn::Item::Enum(item) => {
            item.attrs.retain(|a| !parse::is_projection(a));
            for variant in &mut item.variants {
                for field in &mut variant.fields {
                    field.attrs.retain(|a| !parse::is_projection(a));
                }
            }
        }
        syn::Item::Union(item) => {
            item.attrs.retain(|a| !parse::is_projection(a));
            for field in &mut item.fields.named {
                field.attrs.retain(|a| !parse::is_projection(a));
            }
        }
        _ => {}
    }
}
