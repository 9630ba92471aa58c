//! Pieces every macro shares: the error collector, attribute keys, the runtime path,
//! stored-name rules, error spans and the expansion printer.

mod ctxt;
mod debug;
mod keys;
mod names;
mod runtime;
mod spans;

pub(crate) use ctxt::{Ctxt, help_error};
pub(crate) use debug::print_expansion;
pub(crate) use keys::{parse_key_value, skip_value, unknown_key};
pub(crate) use names::check_stored_name;
pub(crate) use runtime::{default_runtime, parse_runtime};
pub(crate) use spans::{generic_span, respan};
