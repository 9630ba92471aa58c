//! Subscribers: an [`EventHandler`] receives typed events in process (on the log, as a
//! projection) or from a broker through the [`Inbox`], which processes each message
//! once however often it is delivered.

mod handler;
mod inbox;

pub use handler::{EventHandler, InProcess, in_process};
pub use inbox::{Inbox, InboxError, MAX_INBOX_ID_BYTES, Processed};
