//! Code generation for `#[projection]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use acci_schema::postgres::{IdentifierKind, identifier_problem};

use super::check::Model;
use super::finders::finders;
use super::keys::{event_key_call, event_key_imports, key, key_from_aggregate_id, key_object};
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
    let kinds = event_kinds(model);
    let table = table_spec(model);
    let (key_type, row_key) = key(model);
    let key_object = key_object(model);
    let key_from_aggregate_id = key_from_aggregate_id(model);
    let key_imports = event_key_imports(model);
    let key_calls = paths.iter().map(|path| event_key_call(model, path));
    // Spanned at the event in `events(...)`, where a missing `Project` impl is reported.
    let project_calls = paths
        .iter()
        .map(|path| quote_spanned!(path.span()=> <Self as #rt::Project<#path>>::project));
    quote! {
        #[automatically_derived]
        impl #rt::Projection for #ident {
            const NAME: &'static str = #name;
            const VERSION: u32 = #version;
            const EVENTS: &'static [#rt::EventKind] = &[#(#kinds),*];
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
                #key_imports
                match *event {
                    #(#enum_ident::#variants(ref event) => #key_calls,)*
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

/// The `EVENTS` the projection selects: each listed event of each listed aggregate, or of
/// any aggregate when none is listed.
fn event_kinds(model: &Model) -> Vec<TokenStream> {
    let rt = &model.rt;
    let events = model.events.iter().map(|e| &e.path);
    if model.aggregates.is_empty() {
        return events
            .map(|event| quote!(#rt::EventKind::any_aggregate(<#event as #rt::Event>::EVENT_TYPE)))
            .collect();
    }
    events
        .flat_map(|event| {
            model.aggregates.iter().map(move |aggregate| {
                quote_spanned!(aggregate.span()=> #rt::EventKind::of::<#aggregate, #event>())
            })
        })
        .collect()
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
    let scope = match model.scope {
        acci_schema::Scope::Tenant => quote!(Tenant),
        acci_schema::Scope::Global => quote!(Global),
    };
    quote! {
        &#rt::projection::TableSpec {
            name: #table,
            scope: #rt::projection::Scope::#scope,
            columns: &[#(#columns),*],
        }
    }
}
