//! The help text and unit of every metric in [`names`](super::names), for exporters that
//! publish them (Prometheus's `# HELP` lines; `promtool check metrics` wants one).

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

use super::names::*;

/// Describes every ACCI metric to the installed recorder. Call it once after installing
/// the recorder (the description goes to whatever recorder is installed at the time);
/// without a recorder it does nothing.
pub fn describe_metrics() {
    describe_histogram!(
        COMMAND_DURATION_SECONDS,
        Unit::Seconds,
        "How long a command took, from the authorizer to its answer, by aggregate type, command and outcome"
    );
    describe_counter!(
        COMMAND_RETRIES_TOTAL,
        "Attempts of a command after the first, each after a concurrency conflict"
    );
    describe_counter!(
        CONCURRENCY_CONFLICTS_TOTAL,
        "Appends refused because the stream had moved past the version decided on"
    );
    describe_histogram!(
        APPEND_DURATION_SECONDS,
        Unit::Seconds,
        "How long one append took, conflicts included"
    );
    describe_counter!(
        APPENDED_EVENTS_TOTAL,
        "Events stored by appends of the command path"
    );
    describe_histogram!(
        APPEND_BATCH_SIZE,
        "Appends one database call of the store carried: 1 alone, more in a group commit's batch"
    );
    describe_counter!(
        AGGREGATE_CACHE_HITS_TOTAL,
        "Commands that found their aggregate in the aggregate cache"
    );
    describe_counter!(
        AGGREGATE_CACHE_MISSES_TOTAL,
        "Commands that had to load their aggregate although a cache is on"
    );
    describe_counter!(
        READ_CACHE_HITS_TOTAL,
        "Read-model reads a read-model cache answered from its store, cached absences included"
    );
    describe_counter!(
        READ_CACHE_MISSES_TOTAL,
        "Read-model reads a read-model cache passed on to the read models behind it"
    );
    describe_counter!(
        READ_CACHE_ERRORS_TOTAL,
        "Read-model cache operations that failed or timed out, by operation; queries were answered without the cache"
    );
    describe_histogram!(
        SNAPSHOT_SIZE_BYTES,
        Unit::Bytes,
        "The size of each snapshot written, in bytes of JSON"
    );
    describe_histogram!(
        QUERY_DURATION_SECONDS,
        Unit::Seconds,
        "How long a read-model query took, by read model, query and outcome"
    );
    describe_counter!(
        PROJECTION_EVENTS_TOTAL,
        "Events a projection applied to its read model"
    );
    describe_counter!(
        PROJECTION_DEAD_LETTERS_TOTAL,
        "Events a projection parked in its dead letters"
    );
    describe_gauge!(
        PROJECTION_LAG_EVENTS,
        "Events a projection selects that are committed after its checkpoint, against the log's head"
    );
    describe_gauge!(
        PROJECTION_LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest committed event a projection selects and has not applied"
    );
    describe_gauge!(
        LOG_HORIZON_LAG_EVENTS,
        "Events committed above the readable horizon: how far it trails the log's head"
    );
    describe_gauge!(
        LOG_HORIZON_OLDEST_TRANSACTION_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest transaction holding the readable horizon; 0 when none"
    );
    describe_counter!(
        RELAY_PUBLISHED_TOTAL,
        "Messages a relay handed to its broker, repeats after a failure included"
    );
    describe_counter!(
        RELAY_CONFIRMED_TOTAL,
        "Messages the broker confirmed, which the relay's checkpoint moved over"
    );
    describe_counter!(
        RELAY_RETRIES_TOTAL,
        "Times a relay published again from its first unconfirmed message"
    );
    describe_counter!(
        RELAY_PARKED_TOTAL,
        "Events a relay parked in its dead letters because the broker refused them"
    );
    describe_gauge!(
        RELAY_IN_FLIGHT,
        "Messages a relay published whose confirmation it still waits for"
    );
}
