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
    assertions(rt, owner, events, same_name_fix, false)
}

/// [`listed_event_assertions`], where two versions of one event (the same name, different
/// versions) have a message of their own, at the older one: list only the current
/// version (another name, the fix for two different events, would break `previous`).
pub(crate) fn listed_event_assertions_by_version(
    rt: &TokenStream,
    owner: &syn::Ident,
    events: &[ListedEvent],
    same_name_fix: &str,
) -> TokenStream {
    assertions(rt, owner, events, same_name_fix, true)
}

fn assertions(
    rt: &TokenStream,
    owner: &syn::Ident,
    events: &[ListedEvent],
    same_name_fix: &str,
    versions_apart: bool,
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
            let (a_text, b_text) = (path_text(a), path_text(b));
            let same_name = quote! {
                #rt::__private::str_eq(<#a as #rt::Event>::EVENT_TYPE, <#b as #rt::Event>::EVENT_TYPE)
            };
            let version = |path: &syn::Path| quote!(<#path as #rt::Event>::SCHEMA_VERSION);
            let (a_version, b_version) = (version(a), version(b));
            let message = format!(
                "`{a_text}` and `{b_text}` in `events(...)` of `{owner}` are stored under the same name; {same_name_fix}"
            );
            if !versions_apart {
                distinct_names.push(quote_spanned! {b.span()=>
                    ::core::assert!(!#same_name, #message);
                });
                continue;
            }
            distinct_names.push(quote_spanned! {b.span()=>
                ::core::assert!(!(#same_name && #a_version == #b_version), #message);
            });
            // Two versions of one event: the older one is read through the newer one's
            // `previous` or `upcast`, so the fix is to drop it (a new name would break that).
            for (older, newer, older_version, newer_version) in [
                (a, &b_text, &a_version, &b_version),
                (b, &a_text, &b_version, &a_version),
            ] {
                let older_text = path_text(older);
                let message = format!(
                    "`{older_text}` is an older version of `{newer}` in `events(...)` of `{owner}`; list only the current version: remove `{older_text}`, whose stored events `{newer}` reads through its `previous` or `upcast`"
                );
                distinct_names.push(quote_spanned! {older.span()=>
                    ::core::assert!(!(#same_name && #older_version < #newer_version), #message);
                });
            }
        }
    }
    quote! {
        #(#per_event)*
        #(#distinct_names)*
    }
}
