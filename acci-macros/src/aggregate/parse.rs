//! The model of `#[aggregate(...)]`.

use proc_macro2::TokenStream;

use crate::common::{
    Ctxt, check_stored_name, first_time, parse_event_list, parse_key_value, parse_runtime,
    unknown_key,
};

pub(crate) const KEYS: &[&str] = &[
    "name",
    "events",
    "event_enum",
    "snapshot_every",
    "snapshot_version",
    "crate",
];
const ATTRIBUTE: &str = "#[aggregate]";

/// The keys of every `#[aggregate(...)]` on the type, merged. A key that failed to parse
/// stays `None`; its error is already reported.
#[derive(Default)]
pub(crate) struct AggregateArgs {
    pub(crate) name: Option<syn::LitStr>,
    /// `events` itself (for spans) and the listed types, in order.
    pub(crate) events: Option<(syn::Ident, proc_macro2::Span, Vec<syn::Path>)>,
    pub(crate) event_enum: Option<syn::Ident>,
    /// The number of events between snapshots, and the key (errors about a state that
    /// cannot be serialized point at it).
    pub(crate) snapshot_every: Option<(u64, syn::Ident)>,
    pub(crate) snapshot_version: Option<(syn::Ident, u64)>,
    pub(crate) runtime: Option<TokenStream>,
    /// Whether any `#[aggregate]` attribute was present.
    pub(crate) present: bool,
    /// Whether `events` was given, or a misspelling of it, even one that failed to parse:
    /// then its error is reported, and "`events(...)` is missing" would only repeat it.
    pub(crate) events_attempted: bool,
    seen: Vec<String>,
}

impl AggregateArgs {
    /// Whether `key` was written, whatever its value and whether that parsed.
    pub(crate) fn given(&self, key: &str) -> bool {
        self.seen.iter().any(|k| k == key)
    }
}

pub(crate) fn parse_attrs(cx: &Ctxt, input: &syn::DeriveInput) -> AggregateArgs {
    let mut parsed = AggregateArgs::default();
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("aggregate"))
    {
        parsed.present = true;
        let result = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            if !KEYS.contains(&key.as_str()) {
                if unknown_key(cx, &meta, ATTRIBUTE, KEYS) == Some("events") {
                    parsed.events_attempted = true;
                }
                return Ok(());
            }
            if !first_time(cx, &meta, &mut parsed.seen, &key, format!("keep one `{key}` in `{ATTRIBUTE}`")) {
                return Ok(());
            }
            parsed.events_attempted |= key == "events";
            let ident = meta.path.get_ident().cloned().expect("known keys are identifiers");
            match key.as_str() {
                "name" => {
                    if let Some(lit) = parse_key_value::<syn::LitStr>(cx, &meta, "name", "a string", "`name = \"BankAccount\"`") {
                        check_stored_name(cx, &lit, "#[aggregate", "BankAccount");
                        parsed.name = Some(lit);
                    }
                }
                "events" => {
                    if let Some((span, list)) = parse_event_list(cx, &meta, "Opened, Deposited") {
                        parsed.events = Some((ident, span, list));
                    }
                }
                "event_enum" => {
                    parsed.event_enum = parse_key_value::<syn::Ident>(cx, &meta, "event_enum", "a type name", "`event_enum = AccountEvent`");
                }
                "snapshot_every" => {
                    if let Some(lit) = parse_key_value::<syn::LitInt>(cx, &meta, "snapshot_every", "a number of events", "`snapshot_every = 100`") {
                        match lit.base10_parse::<u64>() {
                            Ok(0) => cx.error_at(
                                &lit,
                                "`snapshot_every = 0` would never take a snapshot",
                                "give the number of events between snapshots, such as `snapshot_every = 100`, or remove the key to take none",
                            ),
                            Ok(n) => parsed.snapshot_every = Some((n, ident)),
                            Err(_) => cx.error_at(&lit, format!("`snapshot_every = {lit}` is not a number of events"), "write a whole number from 1 up without a suffix"),
                        }
                    }
                }
                "snapshot_version" => {
                    if let Some(lit) = parse_key_value::<syn::LitInt>(cx, &meta, "snapshot_version", "a whole number", "`snapshot_version = 2`") {
                        match lit.base10_parse::<u64>() {
                            Ok(n) if n <= i64::MAX as u64 => parsed.snapshot_version = Some((ident, n)),
                            _ => cx.error_at(&lit, format!("`snapshot_version = {lit}` is out of range"), "write a whole number from 0 to 9223372036854775807"),
                        }
                    }
                }
                "crate" => parsed.runtime = parse_runtime(cx, &meta),
                _ => unreachable!("every key in KEYS is handled"),
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.push(crate::common::help_error(
                error,
                "write `#[aggregate(events(A, B), name = \"…\", snapshot_every = N)]`",
            ));
        }
    }
    parsed
}
