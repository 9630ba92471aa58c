//! What the instrumentation emitted, captured locally: a `metrics-util` debugging recorder
//! and a `tracing` layer that keeps every span with its fields, both installed for one
//! thread only, so tests running side by side do not see each other's records.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span as it ended up: its name, its parent's name and every field recorded on it.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedSpan {
    /// The span's name.
    pub name: &'static str,
    /// The name of its parent, if it has one.
    pub parent: Option<&'static str>,
    /// Each field, formatted: strings as they are, numbers in decimal, others by `Debug`.
    pub fields: BTreeMap<String, String>,
}

impl CapturedSpan {
    /// The value of `field`, if it was recorded.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

/// The spans opened while capturing, in the order they were opened.
#[derive(Debug, Clone, Default)]
pub struct Spans(Arc<Mutex<Vec<CapturedSpan>>>);

impl Spans {
    /// Every span captured.
    pub fn all(&self) -> Vec<CapturedSpan> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The spans named `name`.
    pub fn named(&self, name: &str) -> Vec<CapturedSpan> {
        self.all().into_iter().filter(|s| s.name == name).collect()
    }
}

struct Index(usize);

struct Visitor<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

struct CaptureLayer(Spans);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for CaptureLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = BTreeMap::new();
        attrs.record(&mut Visitor(&mut fields));
        let mut all = (self.0).0.lock().unwrap_or_else(PoisonError::into_inner);
        all.push(CapturedSpan {
            name: span.name(),
            parent: span.parent().map(|p| p.name()),
            fields,
        });
        span.extensions_mut().insert(Index(all.len() - 1));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(index) = span.extensions().get::<Index>().map(|i| i.0) else {
            return;
        };
        let mut all = (self.0).0.lock().unwrap_or_else(PoisonError::into_inner);
        values.record(&mut Visitor(&mut all[index].fields));
    }
}

/// The metric series recorded while capturing.
pub struct Metrics(Vec<(String, BTreeMap<String, String>, DebugValue)>);

impl Metrics {
    fn take(snapshotter: &Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let (_, key) = key.into_parts();
                    let labels = key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    (key.name().to_owned(), labels, value)
                })
                .collect(),
        )
    }

    /// The series of `name` whose labels include every one of `labels`.
    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = (&'a BTreeMap<String, String>, &'a DebugValue)> + 'a {
        self.0
            .iter()
            .filter(move |(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, l, v)| (l, v))
    }

    /// The sum of the counters `name` with `labels`.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.matching(name, labels)
            .map(|(_, v)| match v {
                DebugValue::Counter(n) => *n,
                other => panic!("`{name}` is not a counter: {other:?}"),
            })
            .sum()
    }

    /// How many values the histograms `name` with `labels` recorded.
    pub fn histogram_count(&self, name: &str, labels: &[(&str, &str)]) -> usize {
        self.histogram(name, labels).len()
    }

    /// The values the histograms `name` with `labels` recorded.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.matching(name, labels)
            .flat_map(|(_, v)| match v {
                DebugValue::Histogram(values) => values.iter().map(|v| v.into_inner()),
                other => panic!("`{name}` is not a histogram: {other:?}"),
            })
            .collect::<Vec<_>>()
    }

    /// The gauge `name` with `labels`, if it was set.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.matching(name, labels).find_map(|(_, v)| match v {
            DebugValue::Gauge(v) => Some(v.into_inner()),
            _ => None,
        })
    }

    /// The label sets of every series of `name`.
    pub fn label_sets(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.matching(name, &[]).map(|(l, _)| l.clone()).collect()
    }
}

/// Runs `test` to completion on a runtime of this thread with a local recorder and a
/// capturing subscriber installed, and returns what it emitted with its output. Values
/// the recorder keeps are taken at the end.
pub fn capture<F: Future>(test: impl FnOnce() -> F) -> (F::Output, Spans, Metrics) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(CaptureLayer(spans.clone()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let output = metrics::with_local_recorder(&recorder, || {
        tracing::subscriber::with_default(subscriber, || runtime.block_on(test()))
    });
    (output, spans, Metrics::take(&snapshotter))
}
