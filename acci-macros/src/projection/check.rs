//! The rules `#[projection]` enforces on its struct, its keys and its fields, and the
//! checked model expansion works from.

use acci_schema::postgres::{
    IdentifierKind, MAX_IDENTIFIER_BYTES, TableSql, identifier_problem, index_name,
};
use acci_schema::rust_types::SUPPORTED;
use proc_macro2::TokenStream;
use syn::ext::IdentExt;

use super::names::{COLUMN_RULE, event_enum, suggest, table_name};
use super::parse::{self, ProjectionArgs};
use super::serde_attrs::{check_container_serde, check_field_serde};
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
    /// The aggregates the events are read from; empty: any aggregate type.
    pub(crate) aggregates: Vec<syn::Path>,
    pub(crate) events: Vec<ListedEvent>,
    pub(crate) columns: Vec<Column>,
    /// Rows per tenant (the default) or shared by all (`global`).
    pub(crate) scope: acci_schema::Scope,
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
            scope: self.scope,
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
        if args.global.is_none() {
            check_tenant_column(cx, &columns);
        }
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
        aggregates: args.aggregates,
        events,
        columns,
        scope: if args.global.is_some() {
            acci_schema::Scope::Global
        } else {
            acci_schema::Scope::Tenant
        },
    })
}

/// A tenant-scoped table has a tenant column of its own; no field may take its name.
fn check_tenant_column(cx: &Ctxt, columns: &[Column]) {
    for column in columns
        .iter()
        .filter(|c| c.column == acci_schema::TENANT_COLUMN)
    {
        cx.error_at(
            &column.ident,
            format!(
                "the column name `{}` is the tenant column every tenant-scoped read model has",
                acci_schema::TENANT_COLUMN
            ),
            "remove the field: the runner keeps each row's tenant itself and finders take it; or name its column otherwise with `#[projection(column = \"…\")]`, or declare the read model `#[projection(global)]` if its rows belong to no tenant",
        );
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
