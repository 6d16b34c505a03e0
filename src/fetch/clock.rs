//! When a poll's first request was really sent. Deadlines count from there,
//! not from when the poll began: a poll that waits for its turn at a busy
//! origin (per-origin slots, spacing, the global cap) has not asked the
//! partner anything yet, and waiting must never fail it.
//!
//! The pipeline runs a poll inside [`PollClock::scope`]; the fetcher marks
//! the clock when it sends, through a task-local, so that no read function
//! has to thread the clock through its arguments.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

tokio::task_local! {
    static POLL_CLOCK: PollClock;
}

/// Shared by a poll and the requests it makes.
#[derive(Clone, Default)]
pub struct PollClock {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    first_sent: OnceLock<Instant>,
    sent: Notify,
}

impl PollClock {
    /// Runs `f` (a poll) with this clock, so its requests mark it.
    pub async fn scope<F: Future>(&self, f: F) -> F::Output {
        POLL_CLOCK.scope(self.clone(), f).await
    }

    /// When the first request of the poll was sent, if it was.
    pub fn first_sent(&self) -> Option<Instant> {
        self.inner.first_sent.get().copied()
    }

    /// Completes `after` past the poll's first request (never, if none is sent).
    pub async fn elapsed(&self, after: Duration) {
        loop {
            let notified = self.inner.sent.notified();
            tokio::pin!(notified);
            // Registered before looking, so a mark in between is not missed.
            notified.as_mut().enable();
            if let Some(sent) = self.first_sent() {
                tokio::time::sleep_until(sent + after).await;
                return;
            }
            notified.await;
        }
    }

    fn mark(&self) {
        if self.inner.first_sent.set(Instant::now()).is_ok() {
            self.inner.sent.notify_waiters();
        }
    }
}

/// Called by the fetcher right before a request goes out.
pub(super) fn mark_sent() {
    let _ = POLL_CLOCK.try_with(PollClock::mark);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_deadline_runs_from_the_first_request_only() {
        let ms = Duration::from_millis;
        let clock = PollClock::default();
        let waiter = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.elapsed(ms(200)).await })
        };
        // Longer than the deadline spent waiting for a turn: it has not begun.
        tokio::time::sleep(ms(400)).await;
        assert!(!waiter.is_finished());
        let sent = Instant::now();
        clock
            .scope(async {
                mark_sent();
                tokio::time::sleep(ms(50)).await;
                mark_sent(); // later requests do not move it
            })
            .await;
        waiter.await.unwrap();
        let took = sent.elapsed();
        assert!(took >= ms(195) && took < ms(400), "{took:?}");
        assert!(clock.first_sent().is_some_and(|t| t <= sent + ms(5)));
    }
}
