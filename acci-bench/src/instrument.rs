//! `--instrumented`: what a production deployment installs, so that the cost of the
//! instrumentation can be measured against a run without.
//!
//! A Prometheus recorder (with no HTTP listener: nothing scrapes it, but it keeps every
//! series and histogram as a scraped one does) and a `tracing` subscriber at `INFO`
//! formatting every event and span into a sink.

use tracing_subscriber::fmt::format::FmtSpan;

use crate::Error;

/// Installs the recorder and the subscriber for the rest of the process. Call it once,
/// before the first scenario.
pub fn install() -> Result<(), Error> {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::set_global_recorder(recorder)
        .map_err(|e| format!("installing the metrics recorder: {e}"))?;
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        // Spans are formatted when they close, as an exporter would send them.
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| format!("installing the tracing subscriber: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn installs_once_and_then_records() {
        super::install().expect("the first install");
        assert!(super::install().is_err(), "a second install is refused");
        // Through the installed recorder and subscriber: neither panics nor blocks.
        metrics::counter!(acci_core::observability::names::APPENDED_EVENTS_TOTAL).increment(1);
        tracing::info_span!("bench").in_scope(|| tracing::info!("recorded into the sink"));
    }
}
