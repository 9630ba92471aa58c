//! The procedural macros of ACCI. Use them through `acci-core`, which re-exports them
//! (feature `derive`, on by default) and documents every attribute key.
//!
//! Each entry point parses its input, calls the macro's `expand`, and returns the tokens;
//! the work happens in one folder per macro (`parse`, `check`, `expand`).

mod aggregate;
mod common;
mod event;

use proc_macro::TokenStream;

/// Declares an event type. See `acci_core::event` for the attribute keys.
#[proc_macro_attribute]
pub fn event(args: TokenStream, item: TokenStream) -> TokenStream {
    event::expand(args.into(), item.into()).into()
}

/// Derives `Aggregate` and its event enum. See `acci_core::Aggregate` for the attribute keys.
#[proc_macro_derive(Aggregate, attributes(aggregate))]
pub fn derive_aggregate(input: TokenStream) -> TokenStream {
    aggregate::expand(input.into()).into()
}
