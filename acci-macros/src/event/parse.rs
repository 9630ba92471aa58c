//! The model of `#[event(...)]`'s arguments.

use proc_macro2::TokenStream;
use syn::parse::Parser;

use crate::common::{
    Ctxt, VersionRules, check_stored_name, first_time, parse_flag, parse_key_value, parse_runtime,
    parse_version, unknown_key,
};

pub(crate) const KEYS: &[&str] = &[
    "name",
    "version",
    "previous",
    "upcast",
    "no_upcast",
    "crate",
];
const ATTRIBUTE: &str = "#[event]";
const VERSION_RULES: VersionRules = VersionRules {
    kind: "schema version",
    first_version_help: "write `version = 1` (the default) for the first shape of an event",
    // The store keeps the schema version of every event as a `u32`.
    max: u32::MAX,
};

/// The arguments of `#[event(...)]`. A key that failed to parse is left `None` (its
/// error is already reported), so expansion can go on with the default.
#[derive(Default)]
pub(crate) struct EventArgs {
    pub(crate) name: Option<syn::LitStr>,
    pub(crate) version: Option<(u32, syn::LitInt)>,
    pub(crate) previous: Option<(syn::Ident, syn::Path)>,
    pub(crate) upcast: Option<(syn::Ident, syn::Path)>,
    /// `no_upcast`: the explicit choice that stored older versions are not read.
    pub(crate) no_upcast: Option<syn::Ident>,
    pub(crate) runtime: Option<TokenStream>,
    /// Every key seen, to report a key given twice.
    seen: Vec<String>,
}

impl EventArgs {
    /// The schema version: the given one, or 1.
    pub(crate) fn version(&self) -> u32 {
        self.version.as_ref().map_or(1, |(v, _)| *v)
    }

    /// Whether `key` was written, whatever its value and whether that parsed.
    pub(crate) fn given(&self, key: &str) -> bool {
        self.seen.iter().any(|k| k == key)
    }
}

pub(crate) fn parse_args(cx: &Ctxt, args: TokenStream) -> EventArgs {
    let mut parsed = EventArgs::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if !KEYS.contains(&key.as_str()) {
            unknown_key(cx, &meta, ATTRIBUTE, KEYS);
            return Ok(());
        }
        if !first_time(
            cx,
            &meta,
            &mut parsed.seen,
            &key,
            if key == "no_upcast" {
                format!("keep one `no_upcast` in `{ATTRIBUTE}`")
            } else {
                format!("keep one `{key} = …` in `{ATTRIBUTE}`")
            },
        ) {
            return Ok(());
        }
        let ident = meta
            .path
            .get_ident()
            .cloned()
            .expect("known keys are identifiers");
        match key.as_str() {
            "name" => {
                if let Some(lit) = parse_key_value::<syn::LitStr>(
                    cx,
                    &meta,
                    "name",
                    "a string",
                    "`name = \"AccountOpened\"`",
                ) {
                    check_stored_name(cx, &lit, "#[event", "AccountOpened");
                    parsed.name = Some(lit);
                }
            }
            "version" => parsed.version = parse_version(cx, &meta, &VERSION_RULES),
            "previous" => {
                if let Some(path) = parse_key_value::<syn::Path>(
                    cx,
                    &meta,
                    "previous",
                    "the type of the version before",
                    "`previous = OpenedV1`",
                ) {
                    parsed.previous = Some((ident, path));
                }
            }
            "upcast" => {
                if let Some(path) = parse_key_value::<syn::Path>(
                    cx,
                    &meta,
                    "upcast",
                    "the path of a function",
                    "`upcast = upcast_opened`, naming a `fn(u32, serde_json::Value) -> Result<serde_json::Value, E>`",
                ) {
                    parsed.upcast = Some((ident, path));
                }
            }
            "no_upcast" => {
                if parse_flag(cx, &meta, "no_upcast", "`#[event(version = 2, no_upcast)]`") {
                    parsed.no_upcast = Some(ident);
                }
            }
            "crate" => parsed.runtime = parse_runtime(cx, &meta),
            _ => unreachable!("every key in KEYS is handled"),
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        cx.push(crate::common::help_error(
            error,
            "write `#[event]` or `#[event(name = \"…\", version = N, previous = OldType)]`",
        ));
    }
    parsed
}
