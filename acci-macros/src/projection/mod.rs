//! `#[projection]`: a read model's row struct, its event enum, `impl Projection` with
//! the table's description (the column model of `acci-schema`), decoding of the listed
//! events and dispatch to `Project` as a `match`, and its finders (`find`, `require`,
//! `page`, `find_by_<field>`) over `ReadModels`.

mod check;
mod expand;
mod finders;
mod keys;
mod names;
mod parse;
mod serde_attrs;
#[cfg(test)]
mod tests;
mod types;

use proc_macro2::TokenStream;

use crate::common::{Ctxt, print_expansion};

/// Parses the attribute and the item, checks them, and generates the code, with every
/// problem reported at once next to a best-effort expansion.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let output = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(mut item) => {
            let attrs = match &item {
                syn::Item::Struct(item) => item.attrs.as_slice(),
                _ => &[],
            };
            let parsed = parse::parse_args(&cx, args, attrs);
            match check::check(&cx, parsed, &item) {
                Some(model) => {
                    let tokens = expand::expand(&model);
                    print_expansion(&model.item.ident.to_string(), &tokens);
                    tokens
                }
                None => {
                    check::strip_item(&mut item);
                    quote::ToTokens::into_token_stream(item)
                }
            }
        }
        Err(error) => {
            cx.push(error);
            item
        }
    };
    let errors = cx.finish();
    quote::quote!(#output #errors)
}
