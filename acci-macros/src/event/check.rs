//! The rules `#[event]` enforces on its item and across its keys.

use super::parse::EventArgs;
use crate::common::{Ctxt, generic_span, item_kind, keyword_span};

/// Checks the item and the arguments together. Returns the struct when it can carry an
/// event (named fields, no generics), so expansion can proceed even if an argument was
/// wrong; returns `None` when the item itself cannot be an event.
pub(crate) fn check(cx: &Ctxt, args: &mut EventArgs, item: &syn::Item) -> Option<syn::ItemStruct> {
    check_args(cx, args);
    let item = match item {
        syn::Item::Struct(item) => item,
        syn::Item::Enum(item) => {
            cx.error_at(
                item.enum_token,
                "`#[event]` goes on a struct, not an enum",
                format!(
                    "make each variant of `{}` its own `#[event]` struct; an aggregate's `events(...)` list generates the enum for you",
                    item.ident
                ),
            );
            return None;
        }
        syn::Item::Union(item) => {
            cx.error_at(
                item.union_token,
                "`#[event]` goes on a struct, not a union",
                "declare the event as a struct with named fields",
            );
            return None;
        }
        other => {
            cx.error_at_span(
                keyword_span(other),
                format!(
                    "`#[event]` goes on a struct with named fields, not {}",
                    item_kind(other)
                ),
                "declare the event as `pub struct Name { … }`",
            );
            return None;
        }
    };
    let mut item = item.clone();
    repeated_event_attribute(cx, &mut item);
    previous_is_itself(cx, args, &item.ident);
    let mut usable = true;
    if let Some(at) = generic_span(&item.generics) {
        cx.error_at_span(
            at,
            format!("an event cannot be generic, but `{}` is", item.ident),
            "a stored event needs one fixed shape to be read back; use concrete field types",
        );
        usable = false;
    }
    match &item.fields {
        syn::Fields::Named(_) => {}
        syn::Fields::Unnamed(fields) => {
            cx.error_at(
                fields,
                format!("an event needs named fields, but `{}` is a tuple struct", item.ident),
                "name the fields (`struct Deposited { amount: u64 }`): they become the keys of the stored JSON object",
            );
            usable = false;
        }
        syn::Fields::Unit => {
            cx.error_at(
                &item.ident,
                format!("an event needs braces, but `{}` is a unit struct", item.ident),
                format!("write `struct {} {{}}`: an event without fields is stored as an empty JSON object", item.ident),
            );
            usable = false;
        }
    }
    usable.then_some(item)
}

/// A second `#[event]` below this one: reported at it and removed, so that the struct is
/// expanded once (twice would derive every trait twice).
fn repeated_event_attribute(cx: &Ctxt, item: &mut syn::ItemStruct) {
    item.attrs.retain(|attr| {
        let is_event = attr
            .path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "event");
        if is_event {
            cx.error_at(
                attr.path(),
                format!("`#[event]` is written twice on `{}`", item.ident),
                "remove this one: a single `#[event(...)]` takes all the keys, such as `#[event(name = \"…\", version = 2, previous = OldType)]`",
            );
        }
        !is_event
    });
}

/// `previous = Self`, or the event's own name: the version before is another type. The
/// key is dropped after its error, so that expansion does not report it again.
fn previous_is_itself(cx: &Ctxt, args: &mut EventArgs, ident: &syn::Ident) {
    let Some((_, path)) = &args.previous else {
        return;
    };
    if path.is_ident("Self") || path.is_ident(ident) {
        cx.error_at(
            path,
            format!("`previous` names `{ident}` itself"),
            format!(
                "name the `#[event]` type of the version before, such as `previous = {ident}V{}`, declared with `version = {}` and the same `name`",
                args.version().saturating_sub(1).max(1),
                args.version().saturating_sub(1).max(1),
            ),
        );
        args.previous = None;
    }
}

fn check_args(cx: &Ctxt, args: &EventArgs) {
    let version = args.version();
    for (key, _) in [&args.previous, &args.upcast].into_iter().flatten() {
        if version == 1 {
            cx.error_at(
                key,
                format!(
                    "`{key}` needs `version` 2 or more: version 1 has nothing older to upcast from"
                ),
                format!("set `version = 2` on this event, or remove `{key}`"),
            );
        }
    }
    if let (Some(_), Some((key, _))) = (&args.previous, &args.upcast) {
        cx.error_at(
            key,
            "`previous` and `upcast` cannot both be given",
            "use `previous = OldType` while the old type exists, or `upcast = function` to convert the old JSON; not both",
        );
    }
    if let Some(key) = &args.no_upcast {
        if version == 1 {
            cx.error_at(
                key,
                "`no_upcast` needs `version` 2 or more: version 1 has nothing older to read",
                "remove `no_upcast`",
            );
        } else if let Some((other, _)) = args.previous.as_ref().or(args.upcast.as_ref()) {
            cx.error_at(
                key,
                format!("`no_upcast` contradicts `{other}`, which reads the older versions"),
                format!("remove `no_upcast` to read older versions through `{other}`, or remove `{other}`"),
            );
        }
    }
    // A later version with no way to read the earlier ones: every stored event of an
    // older version would fail to decode, so that must be said, not forgotten.
    if let Some((v, lit)) = &args.version
        && *v > 1
        && !["previous", "upcast", "no_upcast"]
            .iter()
            .any(|k| args.given(k))
    {
        let older = v - 1;
        cx.error_at(
            lit,
            format!("`version = {v}` does not say how to read the events stored at version {older} and below"),
            format!(
                "add `previous = OldType` (the `#[event]` type of version {older}, with `impl From<OldType>`), `upcast = function` (which turns an older payload into version {v}), or `no_upcast` if no older event is stored (reading one then fails)"
            ),
        );
    }
}
