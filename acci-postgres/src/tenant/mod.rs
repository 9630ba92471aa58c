//! One tenant's events out of a store and into another: [`export_tenant`] writes them
//! as JSON lines in global order, with a header naming the format and the event
//! catalogue and a trailer with the count and a SHA-256; [`import_tenant`] appends them
//! to another database or under another tenant id, keeping streams, sequences and (where
//! they are free) event ids, and adds nothing when run again; [`verify_export`] checks a
//! store holds an export's events as exported.

mod error;
mod export;
mod format;
mod import;
mod verify;

pub use error::TenantError;
pub use export::{ExportSummary, export_tenant};
pub use format::{CatalogEntry, ExportedEvent, FORMAT, FORMAT_VERSION, Header, Line, Trailer};
pub use import::{EventIds, ImportOptions, ImportSummary, import_tenant, read_export};
pub use verify::{MAX_LISTED, Verification, verify_export};
