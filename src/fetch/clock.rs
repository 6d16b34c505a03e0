//! How long a poll has been working: its deadline counts from its first
//! request and leaves out every wait for a turn — per-origin slots, the
//! origin's spacing, the global cap, a place on the parse pool. A poll that
//! waits because the daemon or a partner is busy has not been slow, and
//! waiting must never fail it; only time spent on requests and parsing does.
//!
//! The pipeline runs a poll inside [`PollClock::scope`]; the fetcher and the
//! parse pool mark the clock through a task-local, so that no read function
//! has to thread it through its arguments.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

tokio::task_local! {
    static POLL_CLOCK: PollClock;
}

/// Shared by a poll and the requests and parses it makes.
#[derive(Clone, Default)]
pub struct PollClock {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    first_sent: Option<Instant>,
    /// Waits in progress (a poll may wait for several things at once).
    waiting: usize,
    waiting_since: Option<Instant>,
    /// Time spent waiting after the first request, not counted.
    waited: Duration,
}

/// Held while a poll waits for its turn; the wait ends on drop.
pub struct Waiting {
    clock: Option<PollClock>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(clock) = &self.clock {
            let mut s = clock.lock();
            s.waiting -= 1;
            if s.waiting == 0 {
                if let Some(since) = s.waiting_since.take() {
                    s.waited += since.elapsed();
                }
            }
            drop(s);
            clock.inner.changed.notify_waiters();
        }
    }
}

impl PollClock {
    /// Runs `f` (a poll) with this clock, so its requests and parses mark it.
    pub async fn scope<F: Future>(&self, f: F) -> F::Output {
        POLL_CLOCK.scope(self.clone(), f).await
    }

    /// The clock of the poll running in this task, if any.
    pub fn current() -> Option<PollClock> {
        POLL_CLOCK.try_with(PollClock::clone).ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A wait for a turn begins (ends when the guard is dropped); waits
    /// before the first request count for nothing anyway.
    pub fn wait(&self) -> Waiting {
        let mut s = self.lock();
        if s.first_sent.is_some() {
            if s.waiting == 0 {
                s.waiting_since = Some(Instant::now());
            }
            s.waiting += 1;
            drop(s);
            self.inner.changed.notify_waiters();
            Waiting {
                clock: Some(self.clone()),
            }
        } else {
            Waiting { clock: None }
        }
    }

    /// Completes once the poll has worked for `after` since its first
    /// request, waits left out (never, if no request is sent).
    pub async fn elapsed(&self, after: Duration) {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a change in between is not missed.
            changed.as_mut().enable();
            let target = {
                let s = self.lock();
                match s.first_sent {
                    Some(sent) if s.waiting == 0 => Some(sent + after + s.waited),
                    _ => None,
                }
            };
            match target {
                Some(target) if target <= Instant::now() => return,
                Some(target) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(target) => {}
                        () = &mut changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    fn mark(&self) {
        let mut s = self.lock();
        if s.first_sent.is_none() {
            s.first_sent = Some(Instant::now());
            drop(s);
            self.inner.changed.notify_waiters();
        }
    }
}

/// Called by the fetcher right before a request goes out.
pub(super) fn mark_sent() {
    let _ = POLL_CLOCK.try_with(PollClock::mark);
}

/// A wait for a turn in the poll running in this task (see [`PollClock::wait`]).
pub fn waiting() -> Waiting {
    match PollClock::current() {
        Some(clock) => clock.wait(),
        None => Waiting { clock: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[tokio::test]
    async fn the_deadline_counts_work_from_the_first_request_and_leaves_out_waits() {
        let clock = PollClock::default();
        let deadline = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.elapsed(ms(300)).await })
        };
        // Longer than the deadline spent waiting for a first turn: not begun.
        {
            let _w = clock.scope(async { waiting() }).await;
            tokio::time::sleep(ms(400)).await;
        }
        assert!(!deadline.is_finished());
        let sent = Instant::now();
        clock
            .scope(async {
                mark_sent();
                tokio::time::sleep(ms(100)).await;
                mark_sent(); // later requests do not move it
                // A wait for a turn (a slot, the parse pool) does not count.
                let w = waiting();
                tokio::time::sleep(ms(400)).await;
                assert!(!deadline.is_finished(), "the wait was counted");
                drop(w);
                deadline.await.unwrap();
            })
            .await;
        let took = sent.elapsed();
        assert!(took >= ms(690) && took < ms(1000), "{took:?}");
    }
}
