//! Pieces every macro shares: the error collector, attribute keys, the runtime path,
//! stored-name rules, `version = N`, `events(...)` lists and their compile-time checks,
//! error spans and the expansion printer.

mod assertions;
mod ctxt;
mod debug;
mod events;
mod items;
mod keys;
mod names;
mod runtime;
mod spans;
mod version;

pub(crate) use assertions::{listed_event_assertions, listed_event_assertions_by_version};
pub(crate) use ctxt::{Ctxt, help_error};
pub(crate) use debug::print_expansion;
pub(crate) use events::{
    EventsWording, ListedEvent, check_events_key, parse_event_list, path_text,
};
pub(crate) use items::{item_kind, keyword_span};
pub(crate) use keys::{
    first_time, parse_flag, parse_key_value, skip_value, unknown_key, unknown_key_of,
};
pub(crate) use names::check_stored_name;
pub(crate) use runtime::{default_runtime, parse_runtime};
pub(crate) use spans::{generic_span, respan};
pub(crate) use version::{VersionRules, parse_version};
