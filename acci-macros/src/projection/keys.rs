//! The key of a read model in the generated code: `type Key`, `row_key`, `key_object`,
//! `key_from_aggregate_id`, and the key of each listed event's row.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::check::{Column, Model};

/// `key_object`'s body: a JSON object with one entry per key column, by name, from the
/// key field or from the element of the key tuple that holds it.
pub(super) fn key_object(model: &Model) -> TokenStream {
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
    if inserts.is_empty() {
        // No usable key (its error is reported): an empty object, without warnings.
        return quote! {
            let _ = key;
            ::core::result::Result::Ok(#json::Value::Object(#json::Map::new()))
        };
    }
    quote! {
        let mut object = #json::Map::new();
        #(#inserts)*
        ::core::result::Result::Ok(#json::Value::Object(object))
    }
}

/// `type Key` and `row_key`'s body: the key field, a tuple of the key fields in
/// declaration order, or `()` while the struct has no key (an error is reported).
pub(super) fn key(model: &Model) -> (TokenStream, TokenStream) {
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
/// acci-core parses, or an error saying that the rows are keyed by `ProjectKey` impls.
pub(super) fn key_from_aggregate_id(model: &Model) -> TokenStream {
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
            "the key `{}` of `{ident}` is a `{}`, which is not made from an aggregate id: its rows are keyed by its `ProjectKey` impls",
            single.field,
            super::types::type_text(&single.ty),
        ),
        [] => format!("`{ident}` has no key field"),
        many => format!(
            "`{ident}` has a composite key ({}): its rows are keyed by its `ProjectKey` impls",
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

/// Whether every listed event needs a `ProjectKey` impl: the key is usable but not made
/// from an aggregate id (a composite key, or one field of another type).
fn key_required(model: &Model) -> bool {
    let keys: Vec<&Column> = model.keys().collect();
    match keys.as_slice() {
        _ if keys.iter().any(|c| c.key_error) => false,
        [] => false,
        [single] => !single.kind.from_aggregate_id,
        _ => true,
    }
}

/// The expression of `event_key`'s arm for the listed event `path`, which has the
/// recorded event bound to `event`.
///
/// Where a `ProjectKey` impl is required, a call of it, spanned at the event in
/// `events(...)` so that a missing impl is reported there, before the first event is
/// projected. Otherwise the impl if there is one, else the aggregate id (through the
/// probe's method lookup, see `acci_core::projection::KeyProbe`, with the traits that
/// [`event_key_imports`] brings into scope).
pub(super) fn event_key_call(model: &Model, path: &syn::Path) -> TokenStream {
    let rt = &model.rt;
    if key_required(model) {
        return quote_spanned!(path.span()=> <Self as #rt::ProjectKey<#path>>::key(event));
    }
    quote!((&#rt::__private::KeyProbe::<Self, #path>::new()).__acci_key(event))
}

/// The traits of the probe's method lookup, at the top of `event_key`, where the arms
/// of [`event_key_call`] use them.
pub(super) fn event_key_imports(model: &Model) -> TokenStream {
    let rt = &model.rt;
    if key_required(model) {
        return TokenStream::new();
    }
    quote! {
        #[allow(unused_imports)]
        use #rt::__private::{KeyByAggregateId as _, KeyByImpl as _};
    }
}
