//! `events(A, B, path::C)`: the list of event types a macro reads, parsed and checked
//! (no type listed twice, no two types that would become the same enum variant).

use proc_macro2::Span;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;

use super::{Ctxt, help_error, skip_value};

/// One event of `events(...)` and the enum variant it becomes.
pub(crate) struct ListedEvent {
    pub(crate) path: syn::Path,
    pub(crate) variant: syn::Ident,
}

/// Parses the parenthesised list after `events`: type paths without generics. Returns
/// the span of the parentheses (for "the list is empty") and the paths in order.
pub(crate) fn parse_event_list(
    cx: &Ctxt,
    meta: &syn::meta::ParseNestedMeta<'_>,
    example: &str,
) -> Option<(Span, Vec<syn::Path>)> {
    let group = match meta.input.parse::<proc_macro2::Group>() {
        Ok(group) if group.delimiter() == proc_macro2::Delimiter::Parenthesis => group,
        _ => {
            cx.error_at(
                &meta.path,
                "`events` needs a list of event types",
                format!("write `events({example}, …)`"),
            );
            skip_value(meta);
            return None;
        }
    };
    let parser = |input: syn::parse::ParseStream<'_>| {
        Punctuated::<syn::Path, syn::Token![,]>::parse_terminated_with(
            input,
            syn::Path::parse_mod_style,
        )
    };
    match parser.parse2(group.stream()) {
        Ok(list) => Some((group.span(), list.into_iter().collect())),
        Err(error) => {
            cx.push(help_error(
                error,
                format!(
                    "list the event types by name, separated by commas, such as `events({example})`"
                ),
            ));
            None
        }
    }
}

/// The listed events that can become variants, in order. A type listed twice, or two
/// types whose last path segments are the same, are reported at the later one and left
/// out.
pub(crate) fn check_event_list(cx: &Ctxt, list: &[syn::Path]) -> Vec<ListedEvent> {
    let mut events: Vec<ListedEvent> = Vec::new();
    for path in list {
        let shown = path_text(path);
        let variant = path
            .segments
            .last()
            .expect("a parsed path has a segment")
            .ident
            .clone();
        // Errors point at the type's name, the last segment of its path.
        if events.iter().any(|e| path_text(&e.path) == shown) {
            cx.error_at(
                &variant,
                format!("`{shown}` is listed twice in `events(...)`"),
                format!("list each event once: remove this `{shown}`"),
            );
            continue;
        }
        if events.iter().any(|e| e.variant == variant) {
            cx.error_at(
                &variant,
                format!(
                    "two listed events would both become the variant `{variant}` of the event enum"
                ),
                format!(
                    "a variant is named after the last segment of the path; import one of the two under another name, as in `use {shown} as Renamed{variant};`, and list that name"
                ),
            );
            continue;
        }
        events.push(ListedEvent {
            path: path.clone(),
            variant,
        });
    }
    events
}

/// A path as the user wrote it, without the spaces of its token stream.
pub(crate) fn path_text(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}
