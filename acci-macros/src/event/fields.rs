//! The checks of an event's fields: each field's type is `Serialize` and `Deserialize`,
//! asserted at the field, with the serde impls and `impl Event` bounded on it, so that a
//! field that cannot be stored reports one error, at its type, and serde none.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::expand::existing_derives;
use crate::common::{respan, skip_value};

/// The types of the fields whose `Serialize` and `Deserialize` `#[event]` checks itself,
/// at the field: every field without a serde attribute that changes how it is stored
/// (`with`, `skip`, …) and whose type is not a plain scalar, when `#[event]` derives both
/// serde traits and the struct sets no `#[serde(bound)]` of its own. Each is asserted at
/// its type (`EventField`, whose message names the fix), and the serde impls and the
/// `Event` impl hold only when it holds, so that serde's errors do not repeat the message.
pub(crate) fn guarded_fields(item: &syn::ItemStruct) -> Vec<syn::Type> {
    let derives = existing_derives(item);
    let own_serde = derives
        .iter()
        .any(|d| d == "Serialize" || d == "Deserialize");
    if own_serde || serde_keys(&item.attrs).iter().any(|k| k == "bound") {
        return Vec::new();
    }
    let mut types: Vec<syn::Type> = Vec::new();
    for field in &item.fields {
        let custom = serde_keys(&field.attrs)
            .iter()
            .any(|k| k.contains("with") || k.starts_with("skip") || k == "getter" || k == "bound");
        let ty = &field.ty;
        let text = quote!(#ty).to_string();
        if custom || SCALARS.contains(&text.as_str()) {
            continue;
        }
        if !types.iter().any(|t| quote!(#t).to_string() == text) {
            types.push(ty.clone());
        }
    }
    types
}

/// Field types whose serde impls need no check: std's scalars and `String`.
const SCALARS: &[&str] = &[
    "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
    "isize", "f32", "f64", "String",
];

/// The keys of every `#[serde(...)]` attribute in `attrs`.
fn serde_keys(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident() {
                keys.push(ident.to_string());
            }
            skip_value(&meta);
            Ok(())
        });
    }
    keys
}

/// `for<'__acci> Ty: EventField<'__acci, Event>` for each guarded field type.
pub(crate) fn field_predicates(
    rt: &TokenStream,
    ident: &syn::Ident,
    guarded: &[syn::Type],
) -> TokenStream {
    let predicates = guarded
        .iter()
        .map(|ty| quote!(for<'__acci> #ty: #rt::__private::EventField<'__acci, #ident>));
    quote!(#(#predicates),*)
}

/// The `where` clause of the `Event` impl: the guarded fields' serde impls.
pub(crate) fn field_where_clause(
    rt: &TokenStream,
    ident: &syn::Ident,
    guarded: &[syn::Type],
) -> TokenStream {
    if guarded.is_empty() {
        return TokenStream::new();
    }
    let predicates = field_predicates(rt, ident, guarded);
    quote!(where #predicates)
}

/// The check at each guarded field's type: its error is the one a field that cannot be
/// stored reports (see `acci_core::__private::FieldProbe`).
pub(crate) fn field_checks(
    rt: &TokenStream,
    ident: &syn::Ident,
    guarded: &[syn::Type],
) -> TokenStream {
    if guarded.is_empty() {
        return TokenStream::new();
    }
    let checks = guarded.iter().map(|ty| {
        // The type's name: the last segment of a path (`Instant` in `std::time::Instant`).
        let span = match ty {
            syn::Type::Path(path) => path
                .path
                .segments
                .last()
                .map_or_else(|| ty.span(), |segment| segment.ident.span()),
            _ => ty.span(),
        };
        let rt_here = respan(rt, span);
        quote_spanned! {span=>
            #rt_here::__private::assert_event_field::<#ident, _>(
                (&#rt_here::__private::field_probe::<#ty>()).__acci_probe(),
            );
        }
    });
    quote! {
        const _: fn() = || {
            #[allow(unused_imports)]
            use #rt::__private::{ProbeNotStored as _, ProbeStored as _};
            #(#checks)*
        };
    }
}
