//! The rules `#[derive(Aggregate)]` enforces, and the checked model expansion works from.

use proc_macro2::TokenStream;

use super::fingerprint::state_fingerprint;
use super::parse::AggregateArgs;
use crate::common::{
    Ctxt, EventsWording, ListedEvent, check_events_key, default_runtime, generic_span,
};

const EVENTS_WORDING: EventsWording = EventsWording {
    attribute: "aggregate",
    owner: "aggregate",
    verb: "record",
    examples: ["Opened", "Deposited"],
};

/// Everything expansion needs, checked.
pub(crate) struct Model {
    pub(crate) rt: TokenStream,
    pub(crate) type_name: String,
    pub(crate) enum_ident: syn::Ident,
    pub(crate) events: Vec<ListedEvent>,
    /// Whether `events(...)` was given and every listed type kept: otherwise its error is
    /// reported, and expansion must not add errors about events it left out.
    pub(crate) events_complete: bool,
    /// The span of the `events` key: the errors of an event converted into the enum
    /// without being listed point there, next to the list.
    pub(crate) events_span: proc_macro2::Span,
    pub(crate) snapshot_every: u64,
    /// The span of `snapshot_every`, for the errors of a state that cannot be serialized.
    pub(crate) snapshot_span: Option<proc_macro2::Span>,
    pub(crate) state_version: u64,
}

/// Checks the type and its `#[aggregate]` keys. Returns a model whenever code can be
/// generated at all (every usable event kept), so that an error in the attribute does not
/// also break every `impl Handle` that names the event enum.
pub(crate) fn check(cx: &Ctxt, args: AggregateArgs, input: &syn::DeriveInput) -> Option<Model> {
    let ident = &input.ident;
    if let syn::Data::Union(data) = &input.data {
        cx.error_at(
            data.union_token,
            "`#[derive(Aggregate)]` needs a struct or an enum, not a union",
            "hold the aggregate's state in a struct with named fields",
        );
        return None;
    }
    if let Some(at) = generic_span(&input.generics) {
        cx.error_at_span(
            at,
            format!("`#[derive(Aggregate)]` does not support generics, and `{ident}` is generic"),
            "an aggregate type is stored under one name with one event enum; use concrete types in its fields",
        );
        return None;
    }
    if !args.present {
        cx.error_at(
            ident,
            format!("`#[derive(Aggregate)]` on `{ident}` needs `#[aggregate(events(...))]`"),
            format!("add `#[aggregate(events(EventA, EventB))]` under the derive, listing the events `{ident}` records"),
        );
    }

    // Without any `#[aggregate]`, the error above already asks for `events(...)`.
    let events = check_events_key(
        cx,
        args.events.as_ref(),
        args.events_attempted || !args.present,
        ident,
        &EVENTS_WORDING,
    );

    let events_complete = !events.is_empty()
        && args
            .events
            .as_ref()
            .is_some_and(|(_, _, list)| list.len() == events.len());

    // `snapshot_every = 0` is reported on its own; this would only repeat it.
    if let (Some((key, _)), false) = (&args.snapshot_version, args.given("snapshot_every")) {
        cx.error_at(
            key,
            "`snapshot_version` has no effect without `snapshot_every`",
            "add `snapshot_every = N` to take snapshots, or remove `snapshot_version`",
        );
    }

    let enum_ident = args
        .event_enum
        .clone()
        .unwrap_or_else(|| quote::format_ident!("{}Event", ident));
    if !enum_name_is_free(cx, &args, ident, &enum_ident, &events) {
        return None;
    }
    let state_version = match args.snapshot_version {
        Some((_, explicit)) => explicit,
        None => state_fingerprint(input),
    };
    Some(Model {
        rt: args.runtime.clone().unwrap_or_else(default_runtime),
        type_name: args
            .name
            .as_ref()
            .map_or_else(|| ident.to_string(), syn::LitStr::value),
        enum_ident,
        events,
        events_complete,
        events_span: args
            .events
            .as_ref()
            .map_or_else(|| ident.span(), |(key, _, _)| key.span()),
        snapshot_every: args.snapshot_every.as_ref().map_or(0, |(n, _)| *n),
        snapshot_span: args.snapshot_every.as_ref().map(|(_, key)| key.span()),
        state_version,
    })
}

/// Whether the event enum's name is free of the names the derive can see: the aggregate's
/// own and those of the listed events. A clash is reported at `event_enum`'s value, or
/// at the listed event when the name is the default `<Aggregate>Event`. (A clash with
/// another type of the module is the compiler's E0428: a derive does not see it.)
fn enum_name_is_free(
    cx: &Ctxt,
    args: &AggregateArgs,
    ident: &syn::Ident,
    enum_ident: &syn::Ident,
    events: &[ListedEvent],
) -> bool {
    if enum_ident == ident {
        cx.error_at(
            enum_ident,
            format!("the event enum cannot be named `{ident}`, the aggregate's own name"),
            format!(
                "name the enum of `{ident}`'s events otherwise, such as `event_enum = {ident}Event`"
            ),
        );
        return false;
    }
    let Some(event) = events.iter().find(|e| e.variant == *enum_ident) else {
        return true;
    };
    match &args.event_enum {
        Some(given) => cx.error_at(
            given,
            format!("the event enum cannot be named `{given}`, like the listed event `{given}`"),
            format!("name the enum of `{ident}`'s events otherwise, such as `event_enum = {ident}Event`"),
        ),
        None => cx.error_at(
            &event.variant,
            format!(
                "the listed event `{enum_ident}` has the name of `{ident}`'s generated event enum"
            ),
            format!(
                "name the enum otherwise with `event_enum = …` in `#[aggregate(...)]`, such as `event_enum = {ident}Change`"
            ),
        ),
    }
    false
}
