//! Code generation for `#[projection]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::check::{Column, Model};
use super::sql::{SqlColumn, TableSql, table_sql};
use crate::common::{path_text, respan};

/// The traits `#[projection]` derives unless the struct already derives them: those
/// `Projection` requires of a row.
const DERIVES: &[&str] = &["Debug", "Clone", "Serialize", "Deserialize"];

pub(crate) fn expand(model: &Model) -> TokenStream {
    let item = row_struct(model);
    let assertions = assertions(model);
    let event_enum = event_enum(model);
    let projection_impl = projection_impl(model);
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
        };
        #finders
    }
}

/// The SQL of the model's table.
pub(crate) fn model_sql(model: &Model) -> TableSql {
    let columns: Vec<SqlColumn<'_>> = model
        .columns
        .iter()
        .map(|c| SqlColumn {
            name: &c.column,
            sql_type: &c.kind.sql,
            nullable: c.kind.nullable,
            key: c.key,
            index: c.index,
        })
        .collect();
    table_sql(&model.table, &columns)
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
    let rt = &model.rt;
    let ident = &model.item.ident;
    let per_event = model.events.iter().map(|e| {
        let path = &e.path;
        quote_spanned! {path.span()=>
            let _: u32 = <#path as #rt::Event>::SCHEMA_VERSION;
        }
    });
    let mut distinct_names = Vec::new();
    for (i, later) in model.events.iter().enumerate() {
        for earlier in &model.events[..i] {
            let (a, b) = (&earlier.path, &later.path);
            let message = format!(
                "`{}` and `{}` in `events(...)` of `{ident}` are stored under the same name; list only the newest version of an event (it reads the older ones), or give one of them another `#[event(name = \"…\")]`",
                path_text(a),
                path_text(b),
            );
            distinct_names.push(quote_spanned! {b.span()=>
                ::core::assert!(
                    !#rt::__private::str_eq(<#a as #rt::Event>::EVENT_TYPE, <#b as #rt::Event>::EVENT_TYPE),
                    #message
                );
            });
        }
    }
    quote! {
        #(#per_event)*
        #(#distinct_names)*
    }
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

            fn event_key(
                event: &Self::Event,
            ) -> ::core::result::Result<Self::Key, #rt::ProjectionError> {
                match *event {
                    #(#enum_ident::#variants(ref event) => #key_calls(event),)*
                }
            }

            fn project_event(row: &mut ::core::option::Option<Self>, event: &Self::Event) {
                match *event {
                    #(#enum_ident::#variants(ref event) => #project_calls(row, event),)*
                }
            }

            fn key_from_aggregate_id(
                id: &#rt::AggregateId,
            ) -> ::core::result::Result<Self::Key, ::std::string::String> {
                #key_from_aggregate_id
            }
        }
    }
}

/// The `&TableSpec` constant: columns and SQL.
fn table_spec(model: &Model) -> TokenStream {
    let rt = &model.rt;
    let sql = model_sql(model);
    let table = &model.table;
    let columns = model.columns.iter().map(|c| {
        let (field, column, sql_type) = (&c.field, &c.column, &c.kind.sql);
        let (nullable, key, index) = (c.kind.nullable, c.key, c.index);
        quote! {
            #rt::projection::ColumnSpec {
                field: #field,
                column: #column,
                sql_type: #sql_type,
                nullable: #nullable,
                key: #key,
                index: #index,
            }
        }
    });
    let TableSql {
        create_table,
        create_indexes,
        select_by_keys,
        upsert,
        delete_by_keys,
        select_page,
        finders,
    } = sql;
    let finders = finders.iter().map(|(column, sql)| {
        quote! {
            #rt::projection::FinderSpec {
                column: #column,
                sql: #sql,
            }
        }
    });
    quote! {
        &#rt::projection::TableSpec {
            table: #table,
            columns: &[#(#columns),*],
            create_table: #create_table,
            create_indexes: &[#(#create_indexes),*],
            select_by_keys: #select_by_keys,
            upsert: #upsert,
            delete_by_keys: #delete_by_keys,
            select_page: #select_page,
            finders: &[#(#finders),*],
        }
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
    let sql = model_sql(model);
    let shared = Finders::new(model);
    let find = find_fn(model, &shared, &sql.select_by_keys);
    let require = require_fn(model, &shared);
    let page = page_fn(model, &shared, &sql.select_page);
    let by_column = model.columns.iter().filter(|c| c.index).map(|column| {
        let (_, finder) = sql
            .finders
            .iter()
            .find(|(name, _)| *name == column.column)
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
         calls `ReadModels::get`, which runs `TABLE.select_by_keys`:\n\n{sql}\n\n\
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
         `#[projection]`: it calls `ReadModels::page`, which runs `TABLE.select_page` (`$1` \
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
         calls `ReadModels::find_by` with the column `\"{column_name}\"`, which runs the finder \
         of that column (using the index `{index}`; `$1` is `{{\"{column_name}\": value}}`, `$2` \
         is `limit`):\n\n{sql}{null}\n\n\
         # Errors\n\n\
         `QueryError::Validation` when `value` cannot be written as JSON, or when `limit` is 0 \
         or more than `query::MAX_PAGE`; {READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
        index = super::sql::index_name(&model.table, &column.column),
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
