//! Code generation for `#[event]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::fields::{field_checks, field_predicates, field_where_clause, guarded_fields};
use super::parse::EventArgs;
use crate::common::default_runtime;

/// The traits `#[event]` derives unless the struct already derives them.
const DERIVES: &[&str] = &["Debug", "Clone", "PartialEq", "Serialize", "Deserialize"];

pub(crate) fn expand(args: &EventArgs, item: &syn::ItemStruct) -> TokenStream {
    let rt = args.runtime.clone().unwrap_or_else(default_runtime);
    let ident = &item.ident;
    let stored_name = args
        .name
        .as_ref()
        .map_or_else(|| ident.to_string(), syn::LitStr::value);
    let version = args.version();

    let doc = doc_line(args, &stored_name, version);
    let mut item = item.clone();
    let guarded = guarded_fields(&item);
    let derives = missing_derives(&item, &rt, &guarded);
    item.attrs.splice(0..0, derives);
    // Only documented events get the storage line: on an undocumented one it would
    // silence `missing_docs` in the user's crate.
    if item.attrs.iter().any(|a| a.path().is_ident("doc")) {
        item.attrs.push(syn::parse_quote!(#[doc = #doc]));
    }
    let decode = decode_fn(args, &rt, version);
    let older_trait = older_trait(args, &rt, ident, version);
    let previous_checks = previous_checks(args, &rt, ident, &stored_name, version);
    let field_checks = field_checks(&rt, ident, &guarded);
    let where_clause = field_where_clause(&rt, ident, &guarded);

    quote! {
        #item

        const _: () = {
            #older_trait

            #[automatically_derived]
            impl #rt::Event for #ident #where_clause {
                const EVENT_TYPE: &'static str = #stored_name;
                const SCHEMA_VERSION: u32 = #version;
                #decode
            }
            #previous_checks
            #field_checks
        };
    }
}

/// The line appended to the struct's docs: what a newcomer needs to know about storage.
fn doc_line(args: &EventArgs, stored_name: &str, version: u32) -> String {
    let origin = match (&args.previous, &args.upcast) {
        (Some((_, path)), _) => format!(
            " Older versions are upcast through [`{}`].",
            path_text(path)
        ),
        (_, Some((_, path))) => format!(" Older versions are upcast by `{}`.", path_text(path)),
        _ if args.no_upcast.is_some() => " Older versions are not read (`no_upcast`).".to_owned(),
        _ => String::new(),
    };
    format!("\n\n*Event* stored as `{stored_name}`, schema version {version}.{origin}")
}

/// `#[derive(...)]` of the traits the struct does not derive itself, with serde pointed
/// at acci-core's re-export so the user's crate needs no serde dependency.
///
/// With the fields in `guarded`, the serde impls are bounded on them (see
/// `fields::guarded_fields`).
fn missing_derives(
    item: &syn::ItemStruct,
    rt: &TokenStream,
    guarded: &[syn::Type],
) -> Vec<syn::Attribute> {
    let present = existing_derives(item);
    let wanted = |name: &str| !present.iter().any(|p| p == name);
    let mut core_paths = Vec::new();
    let mut serde_paths = Vec::new();
    for name in DERIVES.iter().copied().filter(|n| wanted(n)) {
        match name {
            "Debug" => core_paths.push(quote!(::core::fmt::Debug)),
            "Clone" => core_paths.push(quote!(::core::clone::Clone)),
            "PartialEq" => core_paths.push(quote!(::core::cmp::PartialEq)),
            "Serialize" => serde_paths.push(quote!(#rt::__private::serde::Serialize)),
            _ => serde_paths.push(quote!(#rt::__private::serde::Deserialize)),
        }
    }
    let mut attrs: Vec<syn::Attribute> = Vec::new();
    // The serde derives go through `serde_attributes` (see there), first, so that it sees
    // the struct with every other attribute still on it.
    if !serde_paths.is_empty() {
        let path = format!("{}::__private::serde", rt.to_string().replace(' ', ""));
        let bound = (!guarded.is_empty()).then(|| {
            let bound = field_predicates(rt, &item.ident, guarded).to_string();
            quote!(bound(serialize = #bound, deserialize = #bound),)
        });
        attrs.push(syn::parse_quote! {
            #[#rt::__private::serde_attributes(
                derive(#(#serde_paths),*),
                serde(crate = #path, #bound),
            )]
        });
    }
    if !core_paths.is_empty() {
        attrs.push(syn::parse_quote!(#[derive(#(#core_paths),*)]));
    }
    attrs
}

/// The last path segment of every trait in the struct's own `#[derive(...)]` attributes.
pub(crate) fn existing_derives(item: &syn::ItemStruct) -> Vec<String> {
    let mut names = Vec::new();
    for attr in item.attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(last) = meta.path.segments.last() {
                names.push(last.ident.to_string());
            }
            Ok(())
        });
    }
    names
}

/// `Event::decode`: the current version directly, older ones through the chain.
fn decode_fn(args: &EventArgs, rt: &TokenStream, version: u32) -> TokenStream {
    let older = match (&args.previous, &args.upcast) {
        (Some((_, previous)), _) if version > 1 => {
            let from = quote_spanned! {previous.span()=>
                <Self as __AcciFromPrevious<#previous>>::__acci_from_previous
            };
            quote! {
                if schema_version < #version {
                    let previous = <#previous as #rt::Event>::decode(schema_version, payload)?;
                    return ::core::result::Result::Ok(#from(previous));
                }
            }
        }
        (_, Some((_, upcast))) if version > 1 => {
            let call = quote_spanned! {upcast.span()=>
                __AcciUpcast::__acci_upcast::<Self>(#upcast, schema_version, payload)
            };
            quote! {
                if schema_version < #version && schema_version > 0 {
                    let payload = #call?;
                    return #rt::__private::decode_current::<Self>(payload);
                }
            }
        }
        _ => TokenStream::new(),
    };
    quote! {
        // `#[inline]`: the hot path of loading and projecting; without it the code in the
        // crate that calls it (a repository, a runner) cannot inline it, which benches slower
        // than the hand-written match (acci-bench `hot_paths`).
        #[inline]
        fn decode(
            schema_version: u32,
            payload: #rt::__private::serde_json::Value,
        ) -> ::core::result::Result<Self, #rt::DecodeError> {
            if schema_version == #version {
                return #rt::__private::decode_current::<Self>(payload);
            }
            #older
            ::core::result::Result::Err(#rt::__private::unsupported_version::<Self>(schema_version))
        }
    }
}

/// The trait `decode` reaches older versions through, local to this event so that its
/// `on_unimplemented` message can name the event and the fix: `From<Previous>` for
/// `previous`, the upcast function's signature for `upcast`. It is implemented for every
/// type that qualifies; the compiler reports a type that does not with this message.
fn older_trait(
    args: &EventArgs,
    rt: &TokenStream,
    ident: &syn::Ident,
    version: u32,
) -> TokenStream {
    if version < 2 {
        return TokenStream::new();
    }
    match (&args.previous, &args.upcast) {
        (Some((_, previous)), _) => {
            let shown = path_text(previous);
            let older = version - 1;
            let message = format!("`previous = {shown}` needs `impl From<{shown}> for {ident}`");
            let label = format!("no `From<{shown}>` impl for `{ident}`");
            let note = format!(
                "add `impl From<{shown}> for {ident} {{{{ fn from(old: {shown}) -> Self {{{{ … }}}} }}}}`: it turns an event stored at version {older} into version {version}"
            );
            quote! {
                #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                trait __AcciFromPrevious<P> {
                    fn __acci_from_previous(previous: P) -> Self;
                }

                impl<T: ::core::convert::From<P>, P> __AcciFromPrevious<P> for T {
                    #[inline]
                    fn __acci_from_previous(previous: P) -> Self {
                        <T as ::core::convert::From<P>>::from(previous)
                    }
                }
            }
        }
        (_, Some((_, upcast))) => {
            let shown = path_text(upcast);
            let message = format!("`upcast = {shown}` on `{ident}` is not an upcast function");
            let label = "expected `fn(u32, serde_json::Value) -> Result<serde_json::Value, E>`";
            let note = format!(
                "write `fn {shown}(version: u32, payload: serde_json::Value) -> Result<serde_json::Value, E>` with an error type `E: Display`: it turns a payload stored at an older version into the JSON of version {version}"
            );
            let value = quote!(#rt::__private::serde_json::Value);
            let result = quote!(::core::result::Result<#value, #rt::DecodeError>);
            quote! {
                #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                trait __AcciUpcast {
                    fn __acci_upcast<Ev: #rt::Event>(self, schema_version: u32, payload: #value) -> #result;
                }

                impl<F, E> __AcciUpcast for F
                where
                    F: ::core::ops::FnOnce(u32, #value) -> ::core::result::Result<#value, E>,
                    E: ::core::fmt::Display,
                {
                    #[inline]
                    fn __acci_upcast<Ev: #rt::Event>(self, schema_version: u32, payload: #value) -> #result {
                        self(schema_version, payload).map_err(|error| {
                            #rt::__private::upcast_failed::<Ev>(schema_version, error)
                        })
                    }
                }
            }
        }
        _ => TokenStream::new(),
    }
}

/// Compile-time checks that `previous` is an event of the same stored name, exactly one
/// version older.
fn previous_checks(
    args: &EventArgs,
    rt: &TokenStream,
    ident: &syn::Ident,
    stored_name: &str,
    version: u32,
) -> TokenStream {
    let Some((_, previous)) = &args.previous else {
        return TokenStream::new();
    };
    if version < 2 {
        return TokenStream::new();
    }
    let older = version - 1;
    let shown = path_text(previous);
    let version_message = format!(
        "`previous = {shown}` on `{ident}` (version {version}) must name version {older} of the event: set `version = {older}` on `{shown}`"
    );
    let name_message = format!(
        "`previous = {shown}` on `{ident}` must be stored under the same name, `{stored_name}`: set `name = \"{stored_name}\"` on `{shown}`"
    );
    quote_spanned! {previous.span()=>
        const _: () = ::core::assert!(<#previous as #rt::Event>::SCHEMA_VERSION == #older, #version_message);
        const _: () = ::core::assert!(
            #rt::__private::str_eq(<#previous as #rt::Event>::EVENT_TYPE, #stored_name),
            #name_message
        );
    }
}

fn path_text(path: &syn::Path) -> String {
    quote!(#path).to_string().replace(' ', "")
}
