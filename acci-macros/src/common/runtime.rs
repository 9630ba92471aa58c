//! The path generated code uses to reach acci-core: `::acci_core` unless the user says
//! `crate = "…"` (when acci-core is reached through a re-export).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::Ctxt;

pub(crate) fn default_runtime() -> TokenStream {
    quote!(::acci_core)
}

/// Parses the string of `crate = "…"` into a path.
pub(crate) fn parse_runtime(cx: &Ctxt, literal: &syn::LitStr) -> Option<TokenStream> {
    match literal.parse::<syn::Path>() {
        Ok(path) => Some(path.into_token_stream()),
        Err(_) => {
            cx.error_at(
                literal,
                format!("`crate = {:?}` is not a path", literal.value()),
                "write the path acci-core is reachable under, such as `crate = \"::my_app::acci_core\"`",
            );
            None
        }
    }
}
