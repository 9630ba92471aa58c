//! The model of `#[projection(...)]`: the keys of the attribute itself, and the keys of
//! `#[projection(...)]` on each field.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;

use crate::common::{
    Ctxt, VersionRules, first_time, help_error, parse_event_list, parse_flag, parse_key_value,
    parse_runtime, parse_version, skip_value, unknown_key, unknown_key_of,
};

pub(crate) const KEYS: &[&str] = &[
    "table",
    "aggregates",
    "events",
    "version",
    "event_enum",
    "global",
    "crate",
];
pub(crate) const FIELD_KEYS: &[&str] = &["key", "index", "json", "column"];
pub(crate) const ATTRIBUTE: &str = "#[projection]";
const VERSION_RULES: VersionRules = VersionRules {
    kind: "read-model version",
    first_version_help: "write `version = 1` (the default) for the first shape of a read model, and raise it to rebuild the table",
    // The checkpoint keeps the version in a PostgreSQL `integer`.
    max: i32::MAX as u32,
};

/// The keys of `#[projection(...)]` on the struct, merged with those of any further
/// `#[projection(...)]` attribute under it. A key that failed to parse stays `None`; its
/// error is already reported.
#[derive(Default)]
pub(crate) struct ProjectionArgs {
    pub(crate) table: Option<syn::LitStr>,
    /// `events` itself, the span of its parentheses, and the listed types in order.
    pub(crate) events: Option<(syn::Ident, Span, Vec<syn::Path>)>,
    /// The aggregates whose streams the listed events are read from; empty: every
    /// aggregate type that stores them.
    pub(crate) aggregates: Vec<syn::Path>,
    pub(crate) version: Option<(u32, syn::LitInt)>,
    pub(crate) event_enum: Option<syn::Ident>,
    /// `global`: rows shared by every tenant, no tenant column.
    pub(crate) global: Option<syn::Ident>,
    pub(crate) runtime: Option<TokenStream>,
    /// Whether `events` was given, or a misspelling of it, even one that failed to parse:
    /// then its error is reported, and "`events(...)` is missing" would only repeat it.
    pub(crate) events_attempted: bool,
    seen: Vec<String>,
}

/// The keys of `#[projection(...)]` on one field.
#[derive(Default)]
pub(crate) struct FieldArgs {
    pub(crate) key: Option<syn::Ident>,
    pub(crate) index: Option<syn::Ident>,
    pub(crate) json: Option<syn::Ident>,
    pub(crate) column: Option<syn::LitStr>,
    /// Whether an unknown key or a malformed attribute was reported: then what the
    /// attribute may have meant (`kee` for `key`) is not known.
    pub(crate) broken: bool,
    seen: Vec<String>,
}

/// Parses the attribute's arguments, then every `#[projection(...)]` left on the struct.
pub(crate) fn parse_args(cx: &Ctxt, args: TokenStream, attrs: &[syn::Attribute]) -> ProjectionArgs {
    let mut parsed = ProjectionArgs::default();
    let parser = syn::meta::parser(|meta| parse_entry(cx, &meta, &mut parsed));
    if let Err(error) = parser.parse2(args) {
        cx.push(help_error(error, HOW_TO_WRITE));
    }
    for attr in attrs.iter().filter(|a| is_projection(a)) {
        if let Err(error) = attr.parse_nested_meta(|meta| parse_entry(cx, &meta, &mut parsed)) {
            cx.push(help_error(error, HOW_TO_WRITE));
        }
    }
    parsed
}

const HOW_TO_WRITE: &str = "write `#[projection(events(A, B), table = \"…\", version = N)]`";

fn parse_entry(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    parsed: &mut ProjectionArgs,
) -> syn::Result<()> {
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    if !KEYS.contains(&key.as_str()) {
        // A field key on the struct: say where it goes rather than "did you mean".
        if FIELD_KEYS.contains(&key.as_str()) {
            cx.error_at(
                &meta.path,
                format!("`{key}` is a field key of `{ATTRIBUTE}`, not a key of the struct"),
                format!("put `#[projection({key})]` on the field it applies to"),
            );
            skip_value(meta);
        } else if unknown_key(cx, meta, ATTRIBUTE, KEYS) == Some("events") {
            parsed.events_attempted = true;
        }
        return Ok(());
    }
    if !first_time(
        cx,
        meta,
        &mut parsed.seen,
        &key,
        format!("keep one `{key}` in `{ATTRIBUTE}`"),
    ) {
        return Ok(());
    }
    parsed.events_attempted |= key == "events";
    match key.as_str() {
        "table" => {
            parsed.table = parse_key_value::<syn::LitStr>(
                cx,
                meta,
                "table",
                "a string",
                "`table = \"user_view\"`",
            );
        }
        "events" => {
            let ident = meta
                .path
                .get_ident()
                .cloned()
                .expect("known keys are identifiers");
            if let Some((span, list)) = parse_event_list(cx, meta, "UserCreated, EmailChanged") {
                parsed.events = Some((ident, span, list));
            }
        }
        "aggregates" => parsed.aggregates = parse_aggregate_list(cx, meta),
        "version" => parsed.version = parse_version(cx, meta, &VERSION_RULES),
        "event_enum" => {
            parsed.event_enum = parse_key_value::<syn::Ident>(
                cx,
                meta,
                "event_enum",
                "a type name",
                "`event_enum = UserViewChange`",
            );
        }
        "global" => {
            if parse_flag(cx, meta, "global", "`#[projection(global, …)]`") {
                parsed.global = meta.path.get_ident().cloned();
            }
        }
        "crate" => parsed.runtime = parse_runtime(cx, meta),
        _ => unreachable!("every key in KEYS is handled"),
    }
    Ok(())
}

/// `aggregates(BankAccount, Loan)`: a non-empty list of aggregate type paths.
fn parse_aggregate_list(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> Vec<syn::Path> {
    const HELP: &str = "write `aggregates(BankAccount)`: the aggregates whose streams the listed events are read from";
    let parsed = meta
        .input
        .parse::<proc_macro2::Group>()
        .ok()
        .and_then(|group| {
            if group.delimiter() != proc_macro2::Delimiter::Parenthesis {
                return None;
            }
            let parser = |input: syn::parse::ParseStream<'_>| {
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated_with(
                    input,
                    syn::Path::parse_mod_style,
                )
            };
            match parser.parse2(group.stream()) {
                Ok(list) => Some(list.into_iter().collect::<Vec<_>>()),
                Err(error) => {
                    cx.push(help_error(error, HELP));
                    Some(Vec::new())
                }
            }
        });
    match parsed {
        Some(list) if list.is_empty() => {
            cx.error_at(&meta.path, "`aggregates` lists no aggregate", HELP);
            Vec::new()
        }
        Some(list) => list,
        None => {
            cx.error_at(
                &meta.path,
                "`aggregates` needs a list of aggregate types",
                HELP,
            );
            skip_value(meta);
            Vec::new()
        }
    }
}

/// The keys of every `#[projection(...)]` on `field`.
pub(crate) fn parse_field(cx: &Ctxt, field: &syn::Field) -> FieldArgs {
    let mut parsed = FieldArgs::default();
    for attr in field.attrs.iter().filter(|a| is_projection(a)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if !FIELD_KEYS.contains(&key.as_str()) {
                if KEYS.contains(&key.as_str()) {
                    cx.error_at(
                        &meta.path,
                        format!("`{key}` is a key of `{ATTRIBUTE}` on the struct, not of a field"),
                        format!(
                            "move `{key}` into the `#[projection(...)]` above the struct; the keys of a field are: {}",
                            key_list(FIELD_KEYS)
                        ),
                    );
                    skip_value(&meta);
                } else {
                    parsed.broken = true;
                    unknown_key_of(
                        cx,
                        &meta,
                        &format!("`{ATTRIBUTE}` field key"),
                        &format!("`{ATTRIBUTE}` on a field"),
                        FIELD_KEYS,
                    );
                }
                return Ok(());
            }
            if !first_time(cx, &meta, &mut parsed.seen, &key, format!("keep one `{key}` on this field")) {
                return Ok(());
            }
            let ident = meta.path.get_ident().cloned().expect("known keys are identifiers");
            match key.as_str() {
                "key" => {
                    if parse_flag(cx, &meta, "key", "`#[projection(key)]`") {
                        parsed.key = Some(ident);
                    }
                }
                "index" => {
                    if parse_flag(cx, &meta, "index", "`#[projection(index)]`") {
                        parsed.index = Some(ident);
                    }
                }
                "json" => {
                    if parse_flag(cx, &meta, "json", "`#[projection(json)]`") {
                        parsed.json = Some(ident);
                    }
                }
                "column" => {
                    parsed.column = parse_key_value::<syn::LitStr>(
                        cx,
                        &meta,
                        "column",
                        "a string",
                        "`column = \"display_name\"`",
                    );
                }
                _ => unreachable!("every key in FIELD_KEYS is handled"),
            }
            Ok(())
        });
        if let Err(error) = result {
            parsed.broken = true;
            cx.push(help_error(
                error,
                "write `#[projection(key)]`, `#[projection(index)]`, `#[projection(json)]` or `#[projection(column = \"…\")]`",
            ));
        }
    }
    parsed
}

/// Whether `attr` is `#[projection(...)]`, which the macro reads and removes.
pub(crate) fn is_projection(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("projection")
}

fn key_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
