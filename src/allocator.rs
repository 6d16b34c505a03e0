//! The allocators every command runs with: jemalloc for Rust's heap, with
//! its options compiled in, and the glibc malloc settings for the C code
//! that still allocates from glibc (SQLite): how many arenas the threads
//! share, and when freed memory goes back to the system.
//!
//! jemalloc (a crate; its options in [`JEMALLOC_OPTIONS`]): the ingest
//! figure with it was 5 % higher than with glibc's malloc (median of 22
//! alternated pairs; 5 % fewer instructions), at the same peak memory in
//! the 110,000-item cycle within 1–3 MB (BENCHMARKS.md, session 37).
//! Without `oversize_threshold` it held 70–77 MB there against glibc's
//! 60–63 MB (session 36); mimalloc 0.1.52 held 143 MB (session 27).
//!
//! The glibc settings are hand-written (`mallopt` and `malloc_trim` calls),
//! and work together. More arenas than two: in a poll cycle
//! the parse threads, the writer and the blocking threads all allocate at
//! once, and with two arenas every thread but `main` shared one lock (perf:
//! `futex` 6 % of the cycle's samples, most of it malloc and free waiting
//! on an arena); poll cycle 1 took 12–19 % longer than with eight. But each
//! arena keeps what it grew to, and glibc raises its mmap threshold (and
//! with it the trim threshold, to twice that) whenever a large block is
//! freed, so after a few megabyte-sized feed bodies every arena held on to
//! megabytes: eight arenas alone peaked 3–6 MB higher. Fixed thresholds
//! turn that adjustment off (mallopt(3)): blocks of 128 KiB and more are
//! mapped and unmapped on their own, and an arena's free top beyond 128 KiB
//! goes back to the system. What is free below an arena's top goes back
//! when the writer calls [`give_back_free_memory`] after a stored group.
//! Together: eight arenas at the memory of two. (Measured when glibc still
//! served Rust's heap too; SQLite's page caches and statements are what is
//! left to it.)

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// jemalloc's options, read once before `main` (an operator's
/// `_RJEM_MALLOC_CONF` is read after them and wins):
///
/// - `oversize_threshold:1048576`: blocks of 1 MiB and more (large feed
///   bodies, the story index's growing vectors) come from an arena of
///   their own whose freed pages go back to the system at once. Every
///   other arena keeps its freed pages for `dirty_decay_ms` to reuse them:
///   with no such arena, a cycle's peak was 10–17 MB higher. At 64 KiB the
///   parse threads' document-sized buffers (feed-rs grows one per feed) were
///   given back and faulted in again for every feed: 1 MiB cut the ingest
///   run's page faults from 96,576 to 25,722 and raised its figure by 7 %
///   (median of 13 alternated pairs), for about 2 MB more at the cycle's
///   peak, which packed relocations (`src/build.rs`) pay for (BENCHMARKS.md,
///   sessions 39–40).
/// - `dirty_decay_ms:1000`, `muzzy_decay_ms:0`: freed pages go back within
///   about a second, and at once rather than in a second, lazier stage.
/// - `narenas:4`: the threads that allocate during a cycle (two to four
///   parse threads, the writer, the async and serving threads) share four
///   arenas behind their per-thread caches; 2, 4 and 8 peaked alike.
pub const JEMALLOC_OPTIONS: &std::ffi::CStr =
    c"narenas:4,dirty_decay_ms:1000,muzzy_decay_ms:0,oversize_threshold:1048576";

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static RUST_HEAP: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's `malloc_conf` (the crate builds it with the `_rjem_` prefix).
#[cfg(not(target_env = "msvc"))]
#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);

// SAFETY: the pointer is to a 'static string nothing writes.
#[cfg(not(target_env = "msvc"))]
unsafe impl Sync for MallocConf {}

#[cfg(not(target_env = "msvc"))]
// SAFETY: jemalloc reads this symbol as `const char *malloc_conf`; the
// string is 'static and NUL-terminated, and no other symbol has the name.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: MallocConf = MallocConf(JEMALLOC_OPTIONS.as_ptr());

/// glibc arenas per core. glibc's own default is eight per core on 64-bit;
/// four covered every thread that allocated in a cycle on 2 cores when
/// glibc served Rust's heap too (the parse threads, the writer, up to four
/// blocking threads, the async and serving threads), and more arenas only
/// hold more memory. Now only the threads that run SQLite allocate here;
/// fewer arenas were not measured.
pub const ARENAS_PER_CORE: usize = 4;

/// Blocks at least this large are mapped on their own, and an arena's
/// free top beyond it is given back: glibc's initial value for both, fixed.
pub const MMAP_AND_TRIM_THRESHOLD: usize = 128 * 1024;

/// How many arenas glibc may create on a machine with `cores` cores.
pub fn arena_limit(cores: usize) -> usize {
    ARENAS_PER_CORE * cores.max(1)
}

/// Applies the settings, unless the operator set glibc's own (the
/// `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_`
/// variables, or `GLIBC_TUNABLES`), which then win. Call it before any
/// other thread starts: the daemon at start, `benchkit` before it measures,
/// so that both run the same allocator. A no-op outside glibc.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = |name: &str| std::env::var_os(name).is_some();
        if set("GLIBC_TUNABLES") {
            return;
        }
        if !set("MALLOC_ARENA_MAX") {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            // SAFETY: mallopt only sets an allocator parameter.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, arena_limit(cores) as libc::c_int) };
        }
        if !set("MALLOC_MMAP_THRESHOLD_") && !set("MALLOC_TRIM_THRESHOLD_") {
            fix_thresholds();
        }
    }
}

/// Both thresholds at [`MMAP_AND_TRIM_THRESHOLD`], which also stops glibc
/// from moving them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_thresholds() {
    let threshold = MMAP_AND_TRIM_THRESHOLD as libc::c_int;
    // SAFETY: mallopt only sets allocator parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, threshold);
        libc::mallopt(libc::M_TRIM_THRESHOLD, threshold);
    }
}

/// The shortest time between two trims by [`give_back_free_memory`].
/// Trimming after every stored group (143 in poll cycle 1 over 1,000
/// feeds, ~1.1 ms each) kept the cycle's peak at 59 MB but gave back most
/// of the arenas' speed-up, pages returned being faulted in again; once a
/// second peaked at 62.6–64.2 MB, every 500 ms at 60.5–62.5 MB with poll
/// cycle 1 15 % faster than with two arenas (BENCHMARKS.md, session 27).
pub const TRIM_INTERVAL: Duration = Duration::from_millis(500);

/// When the last trim was; `None` before the first.
static LAST_TRIM: Mutex<Option<Instant>> = Mutex::new(None);

/// Returns the free pages inside every glibc arena to the system
/// (`malloc_trim`; jemalloc's go back by themselves, see
/// [`JEMALLOC_OPTIONS`]): the fixed trim threshold only gives back an
/// arena's top, not what is free below it. At most once per [`TRIM_INTERVAL`],
/// however often it is called; the writer calls it after every group of
/// polls it stores, when a poll's documents have just been freed. A no-op
/// outside glibc.
pub fn give_back_free_memory() {
    if !trim_due(&LAST_TRIM, Instant::now()) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Whether a trim is due at `now`, and if so, records it: the first call,
/// and any [`TRIM_INTERVAL`] or more after the last due one. A caller that
/// finds another thread deciding skips its turn rather than wait.
fn trim_due(last: &Mutex<Option<Instant>>, now: Instant) -> bool {
    let Ok(mut last) = last.try_lock() else {
        return false;
    };
    if last.is_some_and(|at| now.saturating_duration_since(at) < TRIM_INTERVAL) {
        return false;
    }
    *last = Some(now);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options compiled in are the ones jemalloc runs with: a wrong
    /// symbol name would leave its defaults, silently (over 10 MB more at
    /// the cycle's peak).
    #[cfg(not(target_env = "msvc"))]
    #[test]
    fn jemalloc_runs_with_the_options_compiled_in() {
        use tikv_jemalloc_ctl::raw;
        if std::env::var_os("_RJEM_MALLOC_CONF").is_some() {
            return; // an operator's options win; nothing to compare
        }
        // SAFETY: each name is a jemalloc option of exactly that C type.
        let read = |name: &[u8]| unsafe { raw::read::<usize>(name) }.unwrap();
        let read_ms = |name: &[u8]| unsafe { raw::read::<isize>(name) }.unwrap();
        let narenas = unsafe { raw::read::<u32>(b"opt.narenas\0") }.unwrap();
        let options = format!(
            "narenas:{narenas},dirty_decay_ms:{},muzzy_decay_ms:{},oversize_threshold:{}",
            read_ms(b"opt.dirty_decay_ms\0"),
            read_ms(b"opt.muzzy_decay_ms\0"),
            read(b"opt.oversize_threshold\0"),
        );
        assert_eq!(options, JEMALLOC_OPTIONS.to_str().unwrap());
    }

    #[test]
    fn trims_are_at_least_an_interval_apart() {
        let last = Mutex::new(None);
        let start = Instant::now();
        assert!(trim_due(&last, start));
        assert!(!trim_due(&last, start));
        assert!(!trim_due(&last, start + TRIM_INTERVAL / 2));
        assert!(trim_due(&last, start + TRIM_INTERVAL));
        assert!(!trim_due(&last, start + TRIM_INTERVAL * 3 / 2));
        assert!(trim_due(&last, start + TRIM_INTERVAL * 5));
        // A clock read before the last trim (another thread's) is not due.
        assert!(!trim_due(&last, start));
    }

    #[test]
    fn every_core_gets_its_arenas_and_no_machine_gets_none() {
        assert_eq!(arena_limit(2), 8);
        assert_eq!(arena_limit(16), 64);
        assert_eq!(arena_limit(0), ARENAS_PER_CORE);
    }

    /// glibc's own behaviour without [`fix_thresholds`]: after a large mapped block is
    /// freed, the next one of that size comes from an arena and stays
    /// there. Tuned, every one is mapped and unmapped on its own. Whether a
    /// block is mapped is the `IS_MMAPPED` bit (2) of the size word before
    /// it, a layout glibc has kept since 1996.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_large_blocks_do_not_raise_the_mapping_threshold() {
        fn mapped(size: usize) -> bool {
            // SAFETY: a block of `size` bytes is allocated, its header word
            // read (glibc puts it right before every block), and freed.
            unsafe {
                let block = libc::malloc(size) as *mut usize;
                assert!(!block.is_null());
                let header = *block.sub(1);
                libc::free(block.cast());
                header & 2 != 0
            }
        }
        fix_thresholds();
        let large = 3 * MMAP_AND_TRIM_THRESHOLD;
        for _ in 0..4 {
            assert!(
                mapped(large),
                "a freed {large}-byte block raised the threshold"
            );
        }
        assert!(!mapped(MMAP_AND_TRIM_THRESHOLD / 4));
    }
}
