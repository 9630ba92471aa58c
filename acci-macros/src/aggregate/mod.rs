//! `#[derive(Aggregate)]`: the event enum of an aggregate, its conversions and decoding,
//! and `impl Aggregate` with `apply` as a plain `match`.

mod check;
mod expand;
mod fingerprint;
mod parse;
#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;

use crate::common::{Ctxt, print_expansion};

/// Parses `#[aggregate(...)]` and the type, checks them, and generates the code, with
/// every problem reported at once next to a best-effort expansion.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let cx = Ctxt::new();
    let args = parse::parse_attrs(&cx, &input);
    let args_runtime = args
        .runtime
        .clone()
        .unwrap_or_else(crate::common::default_runtime);
    let model = check::check(&cx, args, &input);
    let tokens = match &model {
        Some(model) => expand::expand(model, &input),
        None => expand::fallback(&input, &args_runtime),
    };
    print_expansion(&input.ident.to_string(), &tokens);
    let errors = cx.finish();
    quote::quote!(#tokens #errors)
}
