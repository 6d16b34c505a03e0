//! `/metrics` in the Prometheus text format: polls by outcome, items found,
//! fetch latency, served requests, and gauges of stored items and failing
//! sources. Counters are updated where things happen; text is produced per
//! scrape (it is small).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollLabels {
    /// "fetched", "not_modified", "failed" or "deferred".
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServedLabels {
    /// HTTP status class as served: "200", "304", "404", ...
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ItemLabels {
    /// "new" or "updated".
    pub change: &'static str,
}

/// The daemon's counters and gauges, shared by polls, renders and the
/// server (one per `App`), and the registry `/metrics` encodes them from.
pub struct Metrics {
    registry: Registry,
    /// Polls by outcome (`fetched`, `not_modified`, `deferred`, `failed`).
    pub polls: Family<PollLabels, Counter>,
    /// Items found new or updated.
    pub items: Family<ItemLabels, Counter>,
    /// How long polls took (not counting deferred ones).
    pub fetch_seconds: Histogram,
    /// Responses served, by status.
    pub served: Family<ServedLabels, Counter>,
    pub items_stored: Gauge,
    /// Sources whose last poll failed.
    pub sources_failing: Gauge,
    /// Renders of the served site.
    pub renders: Counter,
    /// The statuses of nearly every response, created once: looking a label
    /// set up in the family takes a lock and an allocation per request.
    served_ok: Counter,
    served_not_modified: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("revierfeed");
        let polls = Family::<PollLabels, Counter>::default();
        registry.register(
            "polls",
            "Polls of partner sources by outcome",
            polls.clone(),
        );
        let items = Family::<ItemLabels, Counter>::default();
        registry.register(
            "items",
            "Items found new or updated by polls",
            items.clone(),
        );
        // 10 ms .. ~40 s
        let fetch_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 13));
        registry.register(
            "poll_duration_seconds",
            "Time a poll spent fetching and reading its source",
            fetch_seconds.clone(),
        );
        let served = Family::<ServedLabels, Counter>::default();
        registry.register(
            "http_responses",
            "Responses served, by status",
            served.clone(),
        );
        let items_stored = Gauge::default();
        registry.register(
            "items_stored",
            "Items in the database",
            items_stored.clone(),
        );
        let sources_failing = Gauge::default();
        registry.register(
            "sources_failing",
            "Sources whose last poll failed",
            sources_failing.clone(),
        );
        let renders = Counter::default();
        registry.register(
            "renders",
            "Times the served files were rendered",
            renders.clone(),
        );
        let status = |code: &str| {
            served
                .get_or_create(&ServedLabels {
                    status: code.to_string(),
                })
                .clone()
        };
        let (served_ok, served_not_modified) = (status("200"), status("304"));
        Metrics {
            registry,
            polls,
            items,
            fetch_seconds,
            served_ok,
            served_not_modified,
            served,
            items_stored,
            sources_failing,
            renders,
        }
    }
}

impl Metrics {
    pub fn served(&self, status: u16) {
        let counter = match status {
            200 => &self.served_ok,
            304 => &self.served_not_modified,
            _ => {
                self.served
                    .get_or_create(&ServedLabels {
                        status: status.to_string(),
                    })
                    .inc();
                return;
            }
        };
        counter.inc();
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
