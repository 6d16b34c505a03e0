//! The bounded pool that partner documents are parsed and normalised on:
//! a few threads of its own, apart from tokio's blocking threads (which
//! SQLite, rendering and /status need), so a document that is slow to parse
//! can occupy at most these threads and never the store or the server.
//!
//! Time a job spends queued counts as waiting for a turn, not against its
//! poll's deadline (`fetch::PollClock`); time it runs does.
//!
//! A job whose caller stopped waiting (its poll's deadline passed, the
//! daemon shuts down) is abandoned: if it has not started it never runs,
//! and if it runs its result is dropped; the caller is answered at once
//! either way. A running parse cannot be interrupted, which is why every
//! document is checked against a markup budget first (`crate::markup`), so
//! none runs for long. The threads are not joined at exit, so a parse never
//! delays shutdown.
//!
//! Hand-written (a channel and a few threads): rayon would do it, but this
//! needs only "run, or skip if nobody waits", and no work stealing.
//!
//! The threads run at a lower scheduling priority than the rest of the
//! daemon ([`PARSE_NICENESS`]): parsing is bulk work, while the one writer
//! every poll ends in and the HTTP server answering readers are not.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, LazyLock, Mutex};

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: Mutex<Sender<Job>>,
}

/// Threads: half the cores (the rest serve, store and render), 2 to 4 —
/// at least two, so one slow document never holds up every other source.
fn threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).clamp(2, 4)
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool::new(threads()));

/// How many steps of `nice` the parse threads run below the thread that
/// starts them. With more runnable threads than cores, Linux shares the
/// cores equally: on 2 cores the single writer got two thirds of one while
/// two parse threads filled its queue and then waited for it, and a core
/// stood idle a fifth of the time (`benchkit ingest`, BENCHMARKS.md,
/// session 26). At 10 a parse thread sharing a core with the writer or a
/// server thread gets about a tenth of it; alone on a core it runs at full
/// speed, so parsing is never slower when nothing else wants the CPU.
pub const PARSE_NICENESS: i32 = 10;

/// Lowers the calling thread's priority by [`PARSE_NICENESS`] (Linux only,
/// where `setpriority` with a thread id applies to that thread alone; a
/// no-op elsewhere, and when the kernel refuses, since it only costs
/// speed). Every parse thread calls it first; `benchkit` calls it on the
/// threads it parses on, to measure the daemon's shape.
pub fn lower_priority_for_parsing() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this thread's own id; no memory is shared.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        // -1 is both an error and a valid niceness; errno tells them apart.
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        if now == -1 && *libc::__errno_location() != 0 {
            return;
        }
        libc::setpriority(libc::PRIO_PROCESS, tid, (now + PARSE_NICENESS).min(19));
    }
}

impl Pool {
    fn new(threads: usize) -> Pool {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("revierfeed-parse-{i}"))
                .spawn(move || {
                    lower_priority_for_parsing();
                    worker(&rx)
                })
                .expect("starting a parse thread");
        }
        Pool {
            jobs: Mutex::new(tx),
        }
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking the next job, not while running it.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Why a job gave no result.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("parsing failed unexpectedly: {0}")]
    Panicked(String),
}

/// Runs `f` on the parse pool. Dropping the returned future abandons the
/// job (see the module comment).
pub async fn run<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PoolError> {
    run_on(&POOL, f).await
}

async fn run_on<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PoolError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Queued is waiting for a turn: not counted against the poll's deadline.
    let queued = crate::fetch::waiting();
    let job: Job = Box::new(move || {
        drop(queued);
        if tx.is_closed() {
            return; // nobody waits any more
        }
        let result = std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into())
        });
        let _ = tx.send(result);
    });
    let sent = pool
        .jobs
        .lock()
        .map_err(|_| PoolError::Panicked("parse pool lock poisoned".into()))?
        .send(job);
    if sent.is_err() {
        return Err(PoolError::Panicked("parse pool stopped".into()));
    }
    match rx.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(PoolError::Panicked(panic)),
        Err(_) => Err(PoolError::Panicked("parse job dropped".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A pool of the tests' own, so other tests' parsing cannot free or take its threads.
    static TEST_POOL: LazyLock<Pool> = LazyLock::new(|| Pool::new(2));

    /// This thread's niceness, as the kernel reports it.
    #[cfg(target_os = "linux")]
    fn niceness() -> i32 {
        // SAFETY: a read-only system call on this thread's own id.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parse_threads_run_below_the_threads_that_start_them() {
        let caller = niceness();
        let on_pool = run_on(&TEST_POOL, niceness).await.unwrap();
        assert_eq!(on_pool, (caller + PARSE_NICENESS).min(19));
        assert!(on_pool > caller || caller == 19, "{on_pool} vs {caller}");
        // The caller's own priority is untouched: it applies to the pool's threads alone.
        assert_eq!(niceness(), caller);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_jobs_answer_at_once_and_queued_ones_never_run() {
        // Occupy both threads with work that waits for a gate; their callers give up.
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate_rx));
        let mut slow = Vec::new();
        for _ in 0..2 {
            let (started_tx, gate) = (started_tx.clone(), gate.clone());
            slow.push(tokio::spawn(tokio::time::timeout(
                Duration::from_millis(50),
                run_on(&TEST_POOL, move || {
                    let _ = started_tx.send(());
                    let _ = gate.lock().unwrap().recv();
                }),
            )));
        }
        for _ in 0..2 {
            started.recv().await.expect("both slow jobs started");
        }
        for s in slow {
            assert!(s.await.unwrap().is_err(), "the caller stopped waiting");
        }
        // A job queued behind them, abandoned before it starts, never runs.
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let queued = tokio::time::timeout(
            Duration::from_millis(10),
            run_on(&TEST_POOL, move || r.fetch_add(1, Ordering::SeqCst)),
        )
        .await;
        assert!(queued.is_err());
        // Later jobs run once the slow ones are done, and panics are answered.
        drop(gate_tx);
        assert_eq!(run_on(&TEST_POOL, || 7).await.unwrap(), 7);
        assert!(
            matches!(run_on(&TEST_POOL, || panic!("boom")).await, Err(PoolError::Panicked(m)) if m == "boom")
        );
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
}
