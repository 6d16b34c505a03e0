//! Politeness: a global cap on requests in flight, per-origin slots and
//! spacing, origins that asked us to wait (Retry-After), and the document
//! slots that bound how many fetched documents await storage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use super::FetchError;

struct OriginGate {
    slots: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<Instant>,
}

/// Holds the slots a request occupies; released on drop.
pub(super) struct Slot {
    _global: OwnedSemaphorePermit,
    _origin: OwnedSemaphorePermit,
}

/// Held by a poll from its document's request until the document is
/// stored (see `Fetcher::get_document`).
pub struct DocumentSlot {
    _permit: OwnedSemaphorePermit,
}

/// Everything a request waits for before it is sent; one per `Fetcher`.
pub(super) struct Gates {
    global: Arc<Semaphore>,
    /// Polls between their document's request and its storage, at most
    /// `DOCUMENTS_PER_REQUEST_SLOT × concurrency`: without this bound, a
    /// cycle whose fetches outpace the store queued every fetched and parsed
    /// document in memory (180 MiB for 1,000 sources on loopback,
    /// BENCHMARKS.md).
    documents: Arc<Semaphore>,
    per_origin: usize,
    spacing: Duration,
    origins: Mutex<HashMap<String, Arc<OriginGate>>>,
    /// Origins that answered 429/503 with Retry-After, and until when. Kept
    /// per origin, not per source: partners with several feeds on one host
    /// (or one host behind several sources) are held back together.
    waiting: Mutex<HashMap<String, DateTime<Utc>>>,
}

/// Documents that may await storage per request slot. With one, every
/// request slot stayed taken until its document was parsed, normalised and
/// committed, so a cycle of new items ran at the store's pace plus the
/// network's (1.33–1.47 × the network alone at 50 ms per answer,
/// BENCHMARKS.md); with a few, the next requests are in flight while the
/// store catches up, and memory stays bounded by a small multiple.
const DOCUMENTS_PER_REQUEST_SLOT: usize = 4;

impl Gates {
    pub(super) fn new(concurrency: usize, per_origin: usize, spacing: Duration) -> Self {
        let concurrency = concurrency.max(1);
        Gates {
            global: Arc::new(Semaphore::new(concurrency)),
            documents: Arc::new(Semaphore::new(
                concurrency.saturating_mul(DOCUMENTS_PER_REQUEST_SLOT),
            )),
            per_origin: per_origin.max(1),
            spacing,
            origins: Mutex::new(HashMap::new()),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers that `url`'s origin asked for no requests before `until`.
    pub(super) fn hold_back(&self, url: &Url, until: DateTime<Utc>) {
        let origin = url.origin().ascii_serialization();
        let mut waiting = self.waiting.lock().expect("waiting map poisoned");
        let entry = waiting.entry(origin).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// `Err` while `url`'s origin has asked us to wait.
    pub(super) fn check_waiting(&self, url: &Url, now: DateTime<Utc>) -> Result<(), FetchError> {
        let origin = url.origin().ascii_serialization();
        let mut waiting = self.waiting.lock().expect("waiting map poisoned");
        match waiting.get(&origin) {
            Some(until) if *until > now => Err(FetchError::HostWaiting {
                origin,
                until: *until,
            }),
            Some(_) => {
                waiting.remove(&origin);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Waits for a global slot, a slot at `url`'s origin, and the origin's
    /// spacing; with `document`, also for a document slot (once per poll),
    /// taken after the origin's so a poll waiting for a busy partner holds none.
    pub(super) async fn enter(
        &self,
        url: &Url,
        document: Option<&mut Option<DocumentSlot>>,
    ) -> Slot {
        let origin = url.origin().ascii_serialization();
        let gate = {
            let mut map = self.origins.lock().expect("origin map poisoned");
            map.entry(origin)
                .or_insert_with(|| {
                    Arc::new(OriginGate {
                        slots: Arc::new(Semaphore::new(self.per_origin)),
                        next_start: tokio::sync::Mutex::new(Instant::now()),
                    })
                })
                .clone()
        };
        let origin_permit = gate
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        if let Some(hold) = document.filter(|h| h.is_none()) {
            *hold = Some(DocumentSlot {
                _permit: self
                    .documents
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("never closed"),
            });
        }
        let global_permit = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        if !self.spacing.is_zero() {
            let mut next = gate.next_start.lock().await;
            let now = Instant::now();
            if *next > now {
                tokio::time::sleep_until((*next).into()).await;
            }
            *next = Instant::now() + self.spacing;
        }
        Slot {
            _global: global_permit,
            _origin: origin_permit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(n: usize) -> Url {
        Url::parse(&format!("http://partner-{n}.example/feed.xml")).unwrap()
    }

    #[tokio::test]
    async fn documents_awaiting_storage_do_not_hold_request_slots() {
        let concurrency = 2;
        let gates = Gates::new(concurrency, 1, Duration::ZERO);
        // Each poll's request is answered, its document not yet stored: take
        // document slots until a poll has to wait.
        let mut documents = Vec::new();
        for n in 0..100 {
            let mut hold = None;
            let entered = tokio::time::timeout(
                Duration::from_millis(200),
                gates.enter(&url(n), Some(&mut hold)),
            )
            .await;
            let Ok(request) = entered else { break };
            drop(request);
            documents.push(hold.expect("a document slot was taken"));
        }
        assert!(
            documents.len() > concurrency,
            "documents awaiting storage kept request slots: {} polls at concurrency {concurrency}",
            documents.len()
        );
        assert_eq!(documents.len(), concurrency * DOCUMENTS_PER_REQUEST_SLOT);
        documents.pop();
        let mut hold = None;
        tokio::time::timeout(
            Duration::from_secs(5),
            gates.enter(&url(99), Some(&mut hold)),
        )
        .await
        .expect("a stored document frees its slot");
    }

    #[tokio::test]
    async fn requests_in_flight_stay_within_concurrency() {
        let gates = Gates::new(2, 1, Duration::ZERO);
        let first = gates.enter(&url(0), None).await;
        let _second = gates.enter(&url(1), None).await;
        let third =
            tokio::time::timeout(Duration::from_millis(200), gates.enter(&url(2), None)).await;
        assert!(
            third.is_err(),
            "a third request ran beside two at concurrency 2"
        );
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), gates.enter(&url(2), None))
            .await
            .expect("a finished request frees its slot");
    }
}
