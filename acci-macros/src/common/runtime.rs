//! The path generated code uses to reach acci-core: `::acci_core` unless the user says
//! `crate = "…"` (when acci-core is reached through a re-export).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::{Ctxt, parse_key_value};

pub(crate) fn default_runtime() -> TokenStream {
    quote!(::acci_core)
}

/// Parses the value of `crate = "…"`, a string holding a path, into that path.
pub(crate) fn parse_runtime(
    cx: &Ctxt,
    meta: &syn::meta::ParseNestedMeta<'_>,
) -> Option<TokenStream> {
    let literal = parse_key_value::<syn::LitStr>(
        cx,
        meta,
        "crate",
        "a string holding a path",
        "`crate = \"::my_app::acci_core\"`",
    )?;
    match literal.parse::<syn::Path>() {
        Ok(path) => Some(path.into_token_stream()),
        Err(_) => {
            cx.error_at(
                &literal,
                format!("`crate = {:?}` is not a path", literal.value()),
                "write the path acci-core is reachable under, such as `crate = \"::my_app::acci_core\"`",
            );
            None
        }
    }
}
