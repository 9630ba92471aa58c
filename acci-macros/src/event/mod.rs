//! `#[event]`: declares a struct as a stored event with a name, a schema version and an
//! upcast chain from older versions.

mod check;
mod expand;
mod fields;
mod parse;
mod serde_attributes;
#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;

use crate::common::{Ctxt, print_expansion};

pub(crate) use serde_attributes::serde_attributes;

/// Parses the attribute and the item, checks them, and generates the code, with every
/// problem reported at once next to a best-effort expansion.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let mut attr = parse::parse_args(&cx, args);
    let output = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(item) => {
            let shape = check::check(&cx, &mut attr, &item);
            let name = shape
                .as_ref()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            let tokens = match shape {
                Some(shape) => expand::expand(&attr, &shape),
                None => quote::ToTokens::into_token_stream(item),
            };
            print_expansion(&name, &tokens);
            tokens
        }
        Err(error) => {
            cx.push(error);
            item
        }
    };
    let errors = cx.finish();
    quote::quote!(#output #errors)
}
