//! `events(A, B, path::C)`: the list of event types a macro reads, parsed and checked
//! (given, not empty, no type listed twice, no two types that would become the same enum
//! variant).

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

/// How the messages about a missing or empty `events(...)` speak of the macro and its type.
pub(crate) struct EventsWording {
    /// The attribute that takes `events`, without `#[…]`: `aggregate`.
    pub(crate) attribute: &'static str,
    /// What the type is: "aggregate", "read model".
    pub(crate) owner: &'static str,
    /// What the type does with its events: "record" (and "records").
    pub(crate) verb: &'static str,
    /// Two event names for the examples in the help lines.
    pub(crate) examples: [&'static str; 2],
}

/// The events of `events(...)` (its key, the span of its parentheses and the listed
/// paths) on `ident`, checked. A missing key is reported unless `attempted` says its
/// error is already out (a misspelled or malformed `events`); an empty list is reported
/// at its parentheses.
pub(crate) fn check_events_key(
    cx: &Ctxt,
    events: Option<&(syn::Ident, Span, Vec<syn::Path>)>,
    attempted: bool,
    ident: &syn::Ident,
    wording: &EventsWording,
) -> Vec<ListedEvent> {
    let EventsWording {
        attribute,
        owner,
        verb,
        examples: [first, second],
    } = wording;
    match events {
        None if !attempted => {
            cx.error_at(
                ident,
                format!("`#[{attribute}]` on `{ident}` needs `events(...)`"),
                format!(
                    "list the events this {owner} {verb}s: `#[{attribute}(events({first}, {second}))]`"
                ),
            );
            Vec::new()
        }
        None => Vec::new(),
        Some((key, span, list)) if list.is_empty() => {
            cx.error_at_span(
                *span,
                format!("`{key}(...)` is empty: `{ident}` would {verb} no events"),
                format!("list at least one `#[event]` type, such as `events({first})`"),
            );
            Vec::new()
        }
        Some((_, _, list)) => check_event_list(cx, list),
    }
}

/// The listed events that can become variants, in order. A type listed twice, or two
/// types whose last path segments are the same, are reported at the later one and left
/// out.
fn check_event_list(cx: &Ctxt, list: &[syn::Path]) -> Vec<ListedEvent> {
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
