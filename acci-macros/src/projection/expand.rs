//! Code generation for `#[projection]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use acci_schema::postgres::{IdentifierKind, identifier_problem, index_name};

use super::check::{Column, Model};
use crate::common::{listed_event_assertions, path_text, respan};

/// The traits `#[projection]` derives unless the struct already derives them: those
/// `Projection` requires of a row.
const DERIVES: &[&str] = &["Debug", "Clone", "Serialize", "Deserialize"];

pub(crate) fn expand(model: &Model) -> TokenStream {
    let item = row_struct(model);
    let assertions = assertions(model);
    let event_enum = event_enum(model);
    let projection_impl = projection_impl(model);
    let listed = listed_events(model);
    let table_claim = table_claim(model);
    let finders = finders(model);
    // The checks come first: when a listed type is not an event, "not an ACCI event" is
    // then the first error, ahead of the derives of the enum that fail for the same reason.
    quote! {
        #item
        const _: () = {
            #assertions
        };
        #event_enum
        const _: () = {
            #projection_impl
            #listed
        };
        #table_claim
        #finders
    }
}

/// `impl ListsEvent<E>` for each listed event: the supertrait of `Project<E>`, so that a
/// `Project` impl for an event the read model does not list is a compile error.
///
/// While `events(...)` is missing or unreadable (its error is reported), every event counts
/// as listed, so that each `Project` impl does not repeat that error.
fn listed_events(model: &Model) -> TokenStream {
    let rt = &model.rt;
    let ident = &model.item.ident;
    if model.events.is_empty() {
        return quote! {
            #[automatically_derived]
            impl<__AcciEvent> #rt::__private::ListsEvent<__AcciEvent> for #ident {}
        };
    }
    let impls = model.events.iter().map(|e| {
        let path = &e.path;
        quote! {
            #[automatically_derived]
            impl #rt::__private::ListsEvent<#path> for #ident {}
        }
    });
    quote!(#(#impls)*)
}

/// A macro named after the table, exported at the crate's root, so that two read models
/// of one crate with the same table (the same struct name in two modules) are a compile
/// error at both structs' names: "the name `__acci_table_<table>_belongs_to_one_read_model`
/// is defined multiple times". (Across crates, `acci-postgres` refuses the second one when
/// it prepares its statements.)
///
/// Left out while the table's name is refused (its error is reported), as such a name
/// may not make an identifier.
fn table_claim(model: &Model) -> TokenStream {
    let ident = &model.item.ident;
    if identifier_problem(&model.table, IdentifierKind::Table).is_some() {
        return TokenStream::new();
    }
    let name = quote::format_ident!(
        "__acci_table_{}_belongs_to_one_read_model",
        model.table,
        span = ident.span()
    );
    quote_spanned! {ident.span()=>
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #name {
            () => {};
        }
    }
}

/// The struct: the derives it lacks, serde pointed at acci-core's re-export, and
/// `#[serde(rename = "…")]` on each field stored under another column name.
fn row_struct(model: &Model) -> TokenStream {
    let rt = &model.rt;
    let mut item = model.item.clone();
    let present = existing_derives(&item.attrs);
    let wanted = |name: &str| !present.iter().any(|p| p == name);
    let paths: Vec<TokenStream> = DERIVES
        .iter()
        .copied()
        .filter(|name| wanted(name))
        .map(|name| match name {
            "Debug" => quote!(::core::fmt::Debug),
            "Clone" => quote!(::core::clone::Clone),
            "Serialize" => quote!(#rt::__private::serde::Serialize),
            _ => quote!(#rt::__private::serde::Deserialize),
        })
        .collect();
    let mut attrs: Vec<syn::Attribute> = Vec::new();
    if !paths.is_empty() {
        attrs.push(syn::parse_quote!(#[derive(#(#paths),*)]));
    }
    if wanted("Serialize") || wanted("Deserialize") {
        let path = format!("{}::__private::serde", rt.to_string().replace(' ', ""));
        attrs.push(syn::parse_quote!(#[serde(crate = #path)]));
    }
    item.attrs.splice(0..0, attrs);
    for (field, column) in item.fields.iter_mut().zip(&model.columns) {
        if column.renamed {
            let name = &column.column;
            field
                .attrs
                .push(syn::parse_quote!(#[serde(rename = #name)]));
        }
    }
    quote!(#item)
}

/// The last path segment of every trait in the struct's own `#[derive(...)]` attributes.
fn existing_derives(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut names = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(last) = meta.path.segments.last() {
                names.push(last.ident.to_string());
            }
            Ok(())
        });
    }
    names
}

/// Checks that point at the offending type in `events(...)`: each listed type is an
/// event, and no two are stored under the same name. (A missing `Project` impl is
/// reported by the arms of `event_key` and `project_event`, spanned at the same type.)
fn assertions(model: &Model) -> TokenStream {
    listed_event_assertions(
        &model.rt,
        &model.item.ident,
        &model.events,
        "list only the newest version of an event (it reads the older ones), or give one of them another `#[event(name = \"…\")]`",
    )
}

/// `pub enum <Struct>Event { A(Recorded<A>), … }`, documented for `cargo doc`.
fn event_enum(model: &Model) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let ident = &model.item.ident;
    let enum_ident = &model.enum_ident;
    let doc = format!(
        "Every event the [`{ident}`] read model reads, each in the envelope it was \
         recorded in.\n\n\
         Generated by `#[projection]` from `events(...)`: one variant per event, in the \
         order listed. `Projection::decode` reads stored events into it by their stored \
         name, upcasting older versions; each variant goes to the matching `Project` impl \
         of [`{ident}`].\n\n\
         The rows are stored in the table `{}`, version {}.",
        model.table, model.version
    );
    let variants = model.events.iter().map(|e| {
        let (variant, path) = (&e.variant, &e.path);
        let doc = format!("The [`{}`] event, as recorded.", path_text(path));
        // Spanned at the event in `events(...)`: a listed type that lacks what the
        // derives need is reported there.
        let recorded = respan(&quote!(#rt::Recorded<#path>), path.span());
        quote! {
            #[doc = #doc]
            #variant(#recorded)
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
        #vis enum #enum_ident {
            #(#variants,)*
        }
    }
}

/// `impl Projection`: names, the table, the key, decoding and dispatch.
fn projection_impl(model: &Model) -> TokenStream {
    let rt = &model.rt;
    let ident = &model.item.ident;
    let enum_ident = &model.enum_ident;
    let name = &model.table;
    let version = model.version;
    let paths: Vec<_> = model.events.iter().map(|e| &e.path).collect();
    let variants: Vec<_> = model.events.iter().map(|e| &e.variant).collect();
    let table = table_spec(model);
    let (key_type, row_key) = key(model);
    let key_object = key_object(model);
    let key_from_aggregate_id = key_from_aggregate_id(model);
    // Spanned at the event in `events(...)`, where a missing `Project` impl is reported.
    let key_calls = paths
        .iter()
        .map(|path| quote_spanned!(path.span()=> <Self as #rt::Project<#path>>::key));
    let project_calls = paths
        .iter()
        .map(|path| quote_spanned!(path.span()=> <Self as #rt::Project<#path>>::project));
    quote! {
        #[automatically_derived]
        impl #rt::Projection for #ident {
            const NAME: &'static str = #name;
            const VERSION: u32 = #version;
            const EVENT_TYPES: &'static [&'static str] = &[#(<#paths as #rt::Event>::EVENT_TYPE),*];
            const TABLE: &'static #rt::projection::TableSpec = #table;
            type Key = #key_type;
            type Event = #enum_ident;

            fn row_key(&self) -> Self::Key {
                #row_key
            }

            fn key_object(
                key: &Self::Key,
            ) -> ::core::result::Result<#rt::__private::serde_json::Value, #rt::__private::serde_json::Error> {
                #key_object
            }

            // `#[inline]`: the hot path of loading and projecting; without it the code in the
            // crate that calls it (a repository, a runner) cannot inline it, which benches slower
            // than the hand-written match (acci-bench `hot_paths`).
            #[inline]
            fn decode(
                event: #rt::StoredEvent,
            ) -> ::core::result::Result<Self::Event, #rt::DecodeError> {
                #(
                    if event.event_type == <#paths as #rt::Event>::EVENT_TYPE {
                        return #rt::__private::decode_recorded::<#paths>(event).map(#enum_ident::#variants);
                    }
                )*
                let message = ::std::format!("{} (projection `{}`)", event.event_type, #name);
                ::core::result::Result::Err(
                    #rt::DecodeError::new(
                        event.event_type,
                        event.schema_version,
                        #rt::DecodeFailure::UnknownEventType(message),
                    )
                    .with_event_id(event.event_id),
                )
            }

            #[inline]
            fn event_key(
                event: &Self::Event,
            ) -> ::core::result::Result<Self::Key, #rt::ProjectionError> {
                match *event {
                    #(#enum_ident::#variants(ref event) => #key_calls(event),)*
                }
            }

            #[inline]
            fn project_event(row: &mut ::core::option::Option<Self>, event: &Self::Event) {
                match *event {
                    #(#enum_ident::#variants(ref event) => #project_calls(row, event),)*
                }
            }

            #[inline]
            fn key_from_aggregate_id(
                id: &#rt::AggregateId,
            ) -> ::core::result::Result<Self::Key, ::std::string::String> {
                #key_from_aggregate_id
            }
        }
    }
}

/// The `&TableSpec` constant: the table's name and columns, as the shared column model
/// describes them.
fn table_spec(model: &Model) -> TokenStream {
    let rt = &model.rt;
    let table = &model.table;
    let columns = model.schema_columns();
    let columns = columns.iter().map(|c| {
        let (field, column) = (c.field, c.column);
        let scalar = syn::Ident::new(c.ty.scalar.variant(), proc_macro2::Span::call_site());
        let array = c.ty.array;
        let (nullable, key, index) = (c.nullable, c.key, c.index);
        quote! {
            #rt::projection::ColumnSpec {
                field: #field,
                column: #column,
                ty: #rt::projection::ColumnType {
                    scalar: #rt::projection::Scalar::#scalar,
                    array: #array,
                },
                nullable: #nullable,
                key: #key,
                index: #index,
            }
        }
    });
    quote! {
        &#rt::projection::TableSpec {
            name: #table,
            columns: &[#(#columns),*],
        }
    }
}

/// `key_object`'s body: a JSON object with one entry per key column, by name, from the
/// key field or from the element of the key tuple that holds it.
fn key_object(model: &Model) -> TokenStream {
    let rt = &model.rt;
    let keys: Vec<&Column> = model.keys().collect();
    let json = quote!(#rt::__private::serde_json);
    let insert = |column: &Column, value: TokenStream| {
        let name = &column.column;
        quote! {
            object.insert(::std::string::String::from(#name), #json::to_value(#value)?);
        }
    };
    let inserts: Vec<TokenStream> = match keys.as_slice() {
        _ if keys.iter().any(|c| c.key_error) => Vec::new(),
        [] => Vec::new(),
        [single] => vec![insert(single, quote!(key))],
        many => {
            let bindings: Vec<syn::Ident> = (0..many.len())
                .map(|i| quote::format_ident!("__acci_key_{}", i))
                .collect();
            let inserts = many
                .iter()
                .zip(&bindings)
                .map(|(column, binding)| insert(column, quote!(#binding)));
            vec![quote! {
                let (#(ref #bindings),*) = *key;
                #(#inserts)*
            }]
        }
    };
    let unused = inserts.is_empty().then(|| quote!(let _ = key;));
    quote! {
        #unused
        let mut object = #json::Map::new();
        #(#inserts)*
        ::core::result::Result::Ok(#json::Value::Object(object))
    }
}

/// `type Key` and `row_key`'s body: the key field, a tuple of the key fields in
/// declaration order, or `()` while the struct has no key (an error is reported).
fn key(model: &Model) -> (TokenStream, TokenStream) {
    let keys: Vec<&Column> = model.keys().collect();
    let clone = |c: &Column| {
        let ident = &c.ident;
        quote!(::core::clone::Clone::clone(&self.#ident))
    };
    if keys.iter().any(|c| c.key_error) {
        return (quote!(()), quote!(()));
    }
    match keys.as_slice() {
        [] => (quote!(()), quote!(())),
        [single] => {
            let ty = &single.ty;
            (quote!(#ty), clone(single))
        }
        many => {
            let types = many.iter().map(|c| &c.ty);
            let clones = many.iter().map(|c| clone(c));
            (quote!((#(#types),*)), quote!((#(#clones),*)))
        }
    }
}

/// `key_from_aggregate_id`'s body: the aggregate id parsed into a single key of a type
/// acci-core parses, or an error saying that every `Project` impl must override `key`.
fn key_from_aggregate_id(model: &Model) -> TokenStream {
    let rt = &model.rt;
    let ident = &model.item.ident;
    let keys: Vec<&Column> = model.keys().collect();
    let reason = match keys.as_slice() {
        _ if keys.iter().any(|c| c.key_error) => format!("the key of `{ident}` is not usable"),
        [single] if single.kind.from_aggregate_id => {
            let ty = &single.ty;
            return quote! {
                <#ty as #rt::__private::KeyFromAggregateId>::from_aggregate_id(id)
            };
        }
        [single] => format!(
            "the key `{}` of `{ident}` is a `{}`, which is not made from an aggregate id: every `Project` impl of `{ident}` must override `key`",
            single.field,
            super::types::type_text(&single.ty),
        ),
        [] => format!("`{ident}` has no key field"),
        many => format!(
            "`{ident}` has a composite key ({}): every `Project` impl of `{ident}` must override `key`",
            many.iter()
                .map(|c| format!("`{}`", c.field))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let reason = format!(
        "{} (aggregate id `{{}}`)",
        reason.replace('{', "{{").replace('}', "}}")
    );
    quote! {
        ::core::result::Result::Err(::std::format!(#reason, id))
    }
}

/// `impl Struct { find, require, page, find_by_<field>… }`: the queries of `ReadModels`
/// for this read model, typed, with the struct's visibility (so they are exactly as
/// reachable as the struct and `unreachable_pub` stays quiet). Unused ones do not warn:
/// rustc does not report `dead_code` in the output of another crate's macro, and
/// `tests/tests/lints.rs` keeps a read model whose finders go unused to prove it.
fn finders(model: &Model) -> TokenStream {
    let ident = &model.item.ident;
    let sql = model.table_sql();
    let shared = Finders::new(model);
    let find = find_fn(model, &shared, &sql.select_by_keys);
    let require = require_fn(model, &shared);
    let page = page_fn(model, &shared, &sql.select_page);
    let by_column = model.columns.iter().filter(|c| c.index).map(|column| {
        let finder = sql
            .finder(&column.column)
            .expect("every indexed column has a finder");
        find_by_fn(model, &shared, column, finder)
    });
    quote! {
        impl #ident {
            #find
            #require
            #page
            #(#by_column)*
        }
    }
}

/// What every finder shares: the trait, the error type, how the key is taken and named.
struct Finders {
    /// `R: ReadModels + ?Sized`.
    bound: TokenStream,
    /// `QueryError`.
    error: TokenStream,
    /// `Projection::Key`: the key field's type, or the tuple of the key fields' types.
    key_type: TokenStream,
    /// The key as a parameter takes it: `str` for a single `String` key, else the key type.
    key_param: TokenStream,
    /// Turns `key: &key_param` into the `&Key` `ReadModels` takes, as `key` again.
    key_owned: TokenStream,
    /// Whether the key is taken as `&str` and made a `String` with `From`.
    key_borrowed: bool,
    /// The key columns for the docs: ``the column `user_id` `` or
    /// ``the columns `tenant`, `day` ``.
    key_columns: String,
}

impl Finders {
    fn new(model: &Model) -> Self {
        let rt = &model.rt;
        let keys: Vec<&Column> = model.keys().collect();
        let (key_type, _) = key(model);
        let usable = !keys.iter().any(|c| c.key_error);
        let borrowed = match keys.as_slice() {
            [single] if usable => super::types::borrowed_form(&single.ty, false),
            _ => None,
        };
        let (key_param, key_owned, key_borrowed) = match borrowed {
            Some(form) => (
                quote!(#form),
                quote! {
                    let key: &#key_type = &::core::convert::From::from(key);
                },
                true,
            ),
            None => (key_type.clone(), TokenStream::new(), false),
        };
        let names: Vec<String> = keys.iter().map(|c| format!("`{}`", c.column)).collect();
        let key_columns = match names.as_slice() {
            [single] => format!("the column {single}"),
            many => format!("the columns {}", many.join(", ")),
        };
        Self {
            bound: quote!(#rt::query::ReadModels + ?::core::marker::Sized),
            error: quote!(#rt::query::QueryError),
            key_type,
            key_param,
            key_owned,
            key_borrowed,
            key_columns,
        }
    }
}

/// The `# Errors` paragraph every finder ends with, after its own errors.
const READ_ERRORS: &str = "`QueryError::Projection` when the read model cannot answer \
     (with `PgReadModels`: its table does not exist yet, as no runner has created it), and \
     `QueryError::ReadModel` when reading it fails (`retryable` says whether to try again).";

/// A statement as a `sql` block of a doc comment.
fn sql_block(sql: &str) -> String {
    format!("```sql\n{sql}\n```")
}

fn find_fn(model: &Model, f: &Finders, select_by_keys: &str) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let Finders {
        bound,
        error,
        key_param,
        key_owned,
        ..
    } = f;
    let doc = format!(
        "Finds the `{table}` row whose key is `key` ({keys}).\n\n\
         Returns the row, or `None` when there is none. Generated by `#[projection]`: it \
         calls `ReadModels::get`, which on PostgreSQL runs (`select_by_keys`):\n\n{sql}\n\n\
         # Errors\n\n{READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
        sql = sql_block(select_by_keys),
    );
    quote! {
        #[doc = #doc]
        #vis async fn find<R: #bound>(
            models: &R,
            key: &#key_param,
        ) -> ::core::result::Result<::core::option::Option<Self>, #error> {
            #key_owned
            <R as #rt::query::ReadModels>::get::<Self>(models, key).await
        }
    }
}

fn require_fn(model: &Model, f: &Finders) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let Finders {
        bound,
        error,
        key_param,
        key_owned,
        ..
    } = f;
    let doc = format!(
        "Returns the `{table}` row whose key is `key` ({keys}), which must exist.\n\n\
         Generated by `#[projection]`: it calls `ReadModels::require`, which runs the same \
         SQL as [`find`](Self::find).\n\n\
         # Errors\n\n\
         `QueryError::NotFound` when there is no such row; {READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
    );
    quote! {
        #[doc = #doc]
        #vis async fn require<R: #bound>(
            models: &R,
            key: &#key_param,
        ) -> ::core::result::Result<Self, #error> {
            #key_owned
            <R as #rt::query::ReadModels>::require::<Self>(models, key).await
        }
    }
}

fn page_fn(model: &Model, f: &Finders, select_page: &str) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let Finders {
        bound,
        error,
        key_type,
        key_param,
        key_borrowed,
        ..
    } = f;
    let (after_owned, after) = if *key_borrowed {
        (
            quote! {
                let after: ::core::option::Option<#key_type> =
                    ::core::option::Option::map(after, ::core::convert::From::from);
            },
            quote!(::core::option::Option::as_ref(&after)),
        )
    } else {
        (TokenStream::new(), quote!(after))
    };
    let doc = format!(
        "Up to `limit` `{table}` rows in key order (by {keys}), after the row whose key is \
         `after`, or from the first row with `None`.\n\n\
         For the next page, pass the key of the last row returned. Generated by \
         `#[projection]`: it calls `ReadModels::page`, which on PostgreSQL runs (`select_page`; `$1` \
         is `limit`, `$2` the key `after`):\n\n{sql}\n\n\
         # Errors\n\n\
         `QueryError::Validation` when `limit` is 0 or more than `query::MAX_PAGE`; \
         {READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
        sql = sql_block(select_page),
    );
    quote! {
        #[doc = #doc]
        #vis async fn page<R: #bound>(
            models: &R,
            after: ::core::option::Option<&#key_param>,
            limit: ::core::primitive::usize,
        ) -> ::core::result::Result<::std::vec::Vec<Self>, #error> {
            #after_owned
            <R as #rt::query::ReadModels>::page::<Self>(models, #after, limit).await
        }
    }
}

/// `find_by_<field>`: the rows whose indexed column equals a value, which is written as
/// JSON here, as `ReadModels::find_by` takes it.
fn find_by_fn(model: &Model, f: &Finders, column: &Column, finder_sql: &str) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let Finders { bound, error, .. } = f;
    let name = syn::Ident::new(&format!("find_by_{}", column.field), column.ident.span());
    let inner = super::types::without_option(&column.ty);
    let value_type = match super::types::borrowed_form(inner, true) {
        Some(form) => quote!(#form),
        None => quote!(#inner),
    };
    let column_name = &column.column;
    let what = format!(
        "the value to find `{}` rows by `{}`",
        model.table, column.column
    );
    let named = if column.renamed {
        format!("column `{}` (the field `{}`)", column.column, column.field)
    } else {
        format!("column `{}`", column.column)
    };
    let null = if column.kind.option {
        "\n\nA row whose column is NULL is never found: `value` is what a `Some` holds."
    } else {
        ""
    };
    let doc = format!(
        "Up to `limit` `{table}` rows whose {named} equals `value`, in key order (by {keys}).\n\n\
         Generated by `#[projection]` from `#[projection(index)]`: it writes `value` as JSON and \
         calls `ReadModels::find_by` with the column `\"{column_name}\"`, which on PostgreSQL runs \
         the finder of that column (using the index `{index}`; `$1` is `{{\"{column_name}\": value}}`, `$2` \
         is `limit`):\n\n{sql}{null}\n\n\
         # Errors\n\n\
         `QueryError::Validation` when `value` cannot be written as JSON, or when `limit` is 0 \
         or more than `query::MAX_PAGE`; {READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
        index = index_name(&model.table, &column.column),
        sql = sql_block(finder_sql),
    );
    quote! {
        #[doc = #doc]
        #vis async fn #name<R: #bound>(
            models: &R,
            value: &#value_type,
            limit: ::core::primitive::usize,
        ) -> ::core::result::Result<::std::vec::Vec<Self>, #error> {
            let value = #rt::__private::serde_json::to_value(value).map_err(|error| {
                #error::Validation(#rt::ValidationError::new(
                    #what,
                    ::std::format!("cannot be written as JSON: {}", error),
                ))
            })?;
            <R as #rt::query::ReadModels>::find_by::<Self>(models, #column_name, &value, limit)
                .await
        }
    }
}
