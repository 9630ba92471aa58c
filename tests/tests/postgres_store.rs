//! The conformance suite on [`PgEventStore`](acci_postgres::PgEventStore), each test in a
//! database of its own, connected as a role under row-level security.

acci_tests::conformance_tests!(acci_tests::pg::conformance_store());
