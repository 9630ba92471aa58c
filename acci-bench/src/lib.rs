//! ACCI's benchmark program and the domain it runs.
//!
//! The program (`src/main.rs`) measures every scenario of `docs/performance.md` against a
//! hand-written sqlx baseline in the same run; the criterion benches (`benches/`) measure
//! the in-process hot paths. Both use the bank-account [`domain`].

pub mod domain;
