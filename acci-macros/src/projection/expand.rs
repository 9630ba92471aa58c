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
