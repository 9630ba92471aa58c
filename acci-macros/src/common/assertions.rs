//! The compile-time checks on the types of an `events(...)` list, generated into every
//! macro that reads one: each listed type is an event, and no two are stored under the
//! same name. Each check is spanned at its type in the list, so the error points there.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{ListedEvent, path_text};

/// The checks for `events`, listed on `owner`. `same_name_fix` ends the message for two
/// events stored under the same name: how to tell them apart in this macro.
pub(crate) fn listed_event_assertions(
    rt: &TokenStream,
    owner: &syn::Ident,
    events: &[ListedEvent],
    same_name_fix: &str,
) -> TokenStream {
    let per_event = events.iter().map(|e| {
        let path = &e.path;
        // The same error as every later use of `<#path as Event>` (so the compiler shows
        // it once), here where it is reported first.
        quote_spanned! {path.span()=>
            let _: u32 = <#path as #rt::Event>::SCHEMA_VERSION;
        }
    });
    let mut distinct_names = Vec::new();
    for (i, later) in events.iter().enumerate() {
        for earlier in &events[..i] {
            let (a, b) = (&earlier.path, &later.path);
            let message = format!(
                "`{}` and `{}` in `events(...)` of `{owner}` are stored under the same name; {same_name_fix}",
                path_text(a),
                path_text(b),
            );
            distinct_names.push(quote_spanned! {b.span()=>
                ::core::assert!(
                    !#rt::__private::str_eq(<#a as #rt::Event>::EVENT_TYPE, <#b as #rt::Event>::EVENT_TYPE),
                    #message
                );
            });
        }
    }
    quote! {
        #(#per_event)*
        #(#distinct_names)*
    }
}
