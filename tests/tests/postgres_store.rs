//! The conformance suite on [`PgEventStore`](acci_postgres::PgEventStore), each test in a
//! database of its own, connected as a role under row-level security: with group commit
//! on (the default), and once more with it off.

acci_tests::conformance_tests!(acci_tests::pg::conformance_store());

/// The same cases with every append a call of its own.
mod without_group_commit {
    acci_tests::conformance_tests!(acci_tests::pg::conformance_store_without_group_commit());
}
