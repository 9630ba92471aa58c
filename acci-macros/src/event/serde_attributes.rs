//! The serde derives of an event, put on the struct by a second attribute that `#[event]`
//! writes under the runtime path (`#[::acci_core::__private::serde_attributes(...)]`).
//!
//! Written directly, a runtime path that does not resolve (a wrong `crate = "…"`) would
//! report the path and then the `#[serde(...)]` attribute, which is unknown without its
//! derive. Through this attribute, the path's error is the only one: the attribute does
//! not run, so no `#[serde]` is left behind.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;

/// `#[serde_attributes(derive(…), serde(…))] item` → `#[derive(…)] #[serde(…)] item`.
pub(crate) fn serde_attributes(args: TokenStream, item: TokenStream) -> TokenStream {
    let parser = Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated;
    match parser.parse2(args) {
        Ok(metas) => {
            let metas = metas.iter();
            quote!(#(#[#metas])* #item)
        }
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#item #error)
        }
    }
}
