//! Code generation for `#[event]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

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
    let derives = missing_derives(&item, &rt);
    item.attrs.splice(0..0, derives);
    item.attrs.push(syn::parse_quote!(#[doc = #doc]));
    let decode = decode_fn(args, &rt, version);
    let previous_checks = previous_checks(args, &rt, ident, &stored_name, version);

    quote! {
        #item

        const _: () = {
            #[automatically_derived]
            impl #rt::Event for #ident {
                const EVENT_TYPE: &'static str = #stored_name;
                const SCHEMA_VERSION: u32 = #version;
                #decode
            }
            #previous_checks
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
        _ => String::new(),
    };
    format!("\n\n*Event* stored as `{stored_name}`, schema version {version}.{origin}")
}

/// `#[derive(...)]` of the traits the struct does not derive itself, with serde pointed
/// at acci-core's re-export so the user's crate needs no serde dependency.
fn missing_derives(item: &syn::ItemStruct, rt: &TokenStream) -> Vec<syn::Attribute> {
    let present = existing_derives(item);
    let wanted = |name: &str| !present.iter().any(|p| p == name);
    let mut paths = Vec::new();
    for name in DERIVES.iter().copied().filter(|n| wanted(n)) {
        paths.push(match name {
            "Debug" => quote!(::core::fmt::Debug),
            "Clone" => quote!(::core::clone::Clone),
            "PartialEq" => quote!(::core::cmp::PartialEq),
            "Serialize" => quote!(#rt::__private::serde::Serialize),
            _ => quote!(#rt::__private::serde::Deserialize),
        });
    }
    if paths.is_empty() {
        return Vec::new();
    }
    let mut attrs: Vec<syn::Attribute> = vec![syn::parse_quote!(#[derive(#(#paths),*)])];
    if wanted("Serialize") || wanted("Deserialize") {
        let path = format!("{}::__private::serde", rt.to_string().replace(' ', ""));
        attrs.push(syn::parse_quote!(#[serde(crate = #path)]));
    }
    attrs
}

/// The last path segment of every trait in the struct's own `#[derive(...)]` attributes.
fn existing_derives(item: &syn::ItemStruct) -> Vec<String> {
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
            let from =
                quote_spanned!(previous.span()=> <Self as ::core::convert::From<#previous>>::from);
            quote! {
                if schema_version < #version {
                    return <#previous as #rt::Event>::decode(schema_version, payload).map(#from);
                }
            }
        }
        (_, Some((_, upcast))) if version > 1 => {
            let call = quote_spanned!(upcast.span()=> #upcast(schema_version, payload));
            quote! {
                if schema_version < #version && schema_version > 0 {
                    let upcast: ::core::result::Result<#rt::__private::serde_json::Value, _> = #call;
                    return match upcast {
                        ::core::result::Result::Ok(payload) => #rt::__private::decode_current::<Self>(payload),
                        ::core::result::Result::Err(error) => ::core::result::Result::Err(
                            #rt::__private::upcast_failed::<Self>(schema_version, error),
                        ),
                    };
                }
            }
        }
        _ => TokenStream::new(),
    };
    quote! {
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
