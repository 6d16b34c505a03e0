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
    /// `concurrency`: without this bound, a cycle whose fetches outpace the
    /// store queued every fetched and parsed document in memory (180 MiB
    /// for 1,000 sources on loopback, BENCHMARKS.md).
    documents: Arc<Semaphore>,
    per_origin: usize,
    spacing: Duration,
    origins: Mutex<HashMap<String, Arc<OriginGate>>>,
    /// Origins that answered 429/503 with Retry-After, and until when. Kept
    /// per origin, not per source: partners with several feeds on one host
    /// (or one host behind several sources) are held back together.
    waiting: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Gates {
    pub(super) fn new(concurrency: usize, per_origin: usize, spacing: Duration) -> Self {
        Gates {
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            documents: Arc::new(Semaphore::new(concurrency.max(1))),
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
