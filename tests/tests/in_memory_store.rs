//! The conformance suite on [`InMemoryEventStore`].

use acci_core::InMemoryEventStore;

acci_tests::conformance_tests!(async { (InMemoryEventStore::new(), ()) });
