//! The procedural macros of ACCI. Use them through `acci-core`, which re-exports them
//! (feature `derive`, on by default) and documents every attribute key.
//!
//! Each entry point parses its input, calls the macro's `expand`, and returns the tokens;
//! the work happens in one folder per macro (`parse`, `check`, `expand`).

mod aggregate;
mod common;
mod event;
mod projection;

use proc_macro::TokenStream;

// The entry points carry no docs of their own: rustdoc would append them to the full
// documentation on acci-core's re-exports, which is where users read about the macros.
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn event(args: TokenStream, item: TokenStream) -> TokenStream {
    event::expand(args.into(), item.into()).into()
}

#[allow(missing_docs)]
#[proc_macro_derive(Aggregate, attributes(aggregate))]
pub fn derive_aggregate(input: TokenStream) -> TokenStream {
    aggregate::expand(input.into()).into()
}

#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn projection(args: TokenStream, item: TokenStream) -> TokenStream {
    projection::expand(args.into(), item.into()).into()
}
