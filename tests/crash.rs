//! Crash safety of the real binary, with story matching on as shipped.
//! SIGKILL at random moments while feeds that change at every poll (and
//! report the same news, so their items merge into stories) are being
//! ingested, many times over: after each restart the database is sound,
//! every poll the daemon reported done is there, everything committed before
//! is still there, nothing is duplicated and nothing half-written shows. SIGTERM while
//! a poll hangs: the daemon stops accepting at once, cancels the poll after
//! its grace, closes the database and exits 0.
//!
//! `REVIERFEED_CRASH_ITERATIONS` (default 30) sets the number of kills,
//! `REVIERFEED_CRASH_SEED` replays the kill times of a failed run.

#![cfg(unix)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use revierfeed::daemon::SHUTDOWN_GRACE;
use revierfeed::store::Store;

use crate::support::daemon::STOP_SLACK;
use crate::support::hostile::{Fault, HostileServer, rss, small_feed};
use crate::support::{self};

const SOURCES: [&str; 3] = ["crash-a", "crash-b", "crash-c"];
/// Items per document; each request slides the window by one.
const WINDOW: usize = 40;

/// A made-up word only news `k` uses (its `j`th): four syllables from the
/// base-8 digits of `8k + j`, all ending in vowels the stemmer leaves alone.
fn word(k: usize, j: usize) -> String {
    const SYLLABLES: [&str; 8] = ["ka", "lo", "mu", "pi", "ra", "so", "tu", "wi"];
    let mut n = 8 * k + j;
    let mut out = String::new();
    for _ in 0..4 {
        out.push_str(SYLLABLES[n % 8]);
        n /= 8;
    }
    out
}

/// The nth document of a source: items n..n+WINDOW, every title carrying n.
/// Item k reports news k in every source, in the same words, so story
/// matching merges the sources' items k: the kills also land in the code
/// that joins an item to another source's story.
fn crash_feed(id: &str, n: usize) -> Vec<u8> {
    let items: Vec<(String, String, String)> = (n..n + WINDOW)
        .map(|k| {
            let news: Vec<String> = (0..6).map(|j| word(k, j)).collect();
            (
                format!("{id}-{k}"),
                format!("Meldung {k}: {} Stand {n}", news[..3].join(" ")),
                format!(
                    "<p>Stand {n}. {} {}</p>",
                    news.join(" "),
                    "Strukturwandel in der Lausitz. ".repeat(40)
                ),
            )
        })
        .collect();
    rss(&items)
}

fn spawn(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_revierfeed"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "revierfeed=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn sigterm(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// (source, item number) → the document number ("Stand") its stored title comes from.
type Snapshot = HashMap<(String, usize), usize>;

/// Opens the database as the daemon would after a crash and checks it.
fn check(db: &Path, previous: &Snapshot, served: &HashMap<String, usize>, what: &str) -> Snapshot {
    let store = Store::open(db).unwrap_or_else(|e| panic!("{what}: cannot open: {e}"));
    assert_eq!(store.integrity_check().unwrap(), Ok(()), "{what}");
    let (rows, duplicates, dangling, orphans, same_source) = store
        .with(|c| {
            let rows: Vec<(String, String, String)> = c
                .prepare("SELECT source_id, guid, title FROM items")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let duplicates: i64 = c.query_row(
                "SELECT COUNT(*) FROM (SELECT 1 FROM items GROUP BY source_id, guid HAVING COUNT(*) > 1)",
                [],
                |r| r.get(0),
            )?;
            let dangling: i64 =
                c.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
            let orphans: i64 = c.query_row(
                "SELECT COUNT(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.story_id = s.id)",
                [],
                |r| r.get(0),
            )?;
            // A story takes one item per source (links differ here, so none joined by link).
            let same_source: i64 = c.query_row(
                "SELECT COUNT(*) FROM (SELECT 1 FROM items GROUP BY story_id, source_id HAVING COUNT(*) > 1)",
                [],
                |r| r.get(0),
            )?;
            Ok((rows, duplicates, dangling, orphans, same_source))
        })
        .unwrap();
    assert_eq!(duplicates, 0, "{what}: duplicated items");
    assert_eq!(
        same_source, 0,
        "{what}: a story holds two items of one source"
    );
    assert_eq!(dangling, 0, "{what}: items pointing at missing rows");
    assert_eq!(orphans, 0, "{what}: stories without items");
    let mut now = Snapshot::new();
    for (source, guid, title) in rows {
        let k: usize = guid
            .strip_prefix(&format!("{source}-"))
            .and_then(|k| k.parse().ok())
            .unwrap_or_else(|| panic!("{what}: invented item {guid}"));
        let stand: usize = title
            .rsplit_once("Stand ")
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or_else(|| panic!("{what}: mangled title {title}"));
        assert!(
            stand <= served[&source] && (stand..stand + WINDOW).contains(&k),
            "{what}: {guid} with title {title} was never served"
        );
        now.insert((source, k), stand);
    }
    for ((source, k), stand) in previous {
        let after = now.get(&(source.clone(), *k));
        assert!(
            after.is_some_and(|a| a >= stand),
            "{what}: {source}-{k} (Stand {stand}) was committed before and is now {after:?}"
        );
    }
    // Each poll is one transaction: the newest document of a source is there whole.
    for source in SOURCES {
        let Some(newest) = now
            .iter()
            .filter(|((s, _), _)| s == source)
            .map(|(_, n)| *n)
            .max()
        else {
            continue;
        };
        let of_newest: Vec<usize> = (newest..newest + WINDOW)
            .filter(|k| now.get(&(source.to_string(), *k)) == Some(&newest))
            .collect();
        assert_eq!(
            of_newest.len(),
            WINDOW,
            "{what}: {source}'s document {newest} was stored in part"
        );
    }
    now
}

/// Stories whose items come from more than one source.
fn merged_stories(db: &Path) -> i64 {
    Store::open(db)
        .unwrap()
        .with(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM (SELECT 1 FROM items GROUP BY story_id HAVING COUNT(DISTINCT source_id) > 1)",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap()
}

/// Every document the daemon reported as stored (a ` ok: ` line of its
/// source) must be there, whole: each of its items with that document's
/// title or a later one. A source polls one document at a time, so its
/// `oks` reports in this run are the first `oks` documents served in it.
fn check_reported(
    db: &Path,
    log: &Path,
    served_before: &HashMap<String, usize>,
    snapshot: &Snapshot,
    what: &str,
) -> usize {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut reported = 0;
    for source in SOURCES {
        let oks = text
            .lines()
            .filter(|l| l.contains(&format!("{source} ")) && l.contains(" ok: "))
            .count();
        for doc in served_before[source] + 1..=served_before[source] + oks {
            reported += 1;
            for k in doc..doc + WINDOW {
                let stored = snapshot.get(&(source.to_string(), k));
                assert!(
                    stored.is_some_and(|s| *s >= doc),
                    "{what}: {source} reported document {doc} stored, but {source}-{k} is {stored:?} in {}",
                    db.display()
                );
            }
        }
    }
    reported
}

/// Documents served so far, by source.
fn served(server: &HostileServer) -> HashMap<String, usize> {
    SOURCES
        .iter()
        .map(|id| (id.to_string(), server.hits(&format!("/{id}"))))
        .collect()
}

fn count(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ingest_never_corrupts_loses_or_duplicates() {
    let iterations: usize = std::env::var("REVIERFEED_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("REVIERFEED_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let server = HostileServer::start().await;
    for id in SOURCES {
        server.set(
            &format!("/{id}"),
            Fault::changing(move |n| crash_feed(id, n)),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let sources: Vec<_> = SOURCES
        .iter()
        .map(|id| support::source(id, server.url(&format!("/{id}")), "feed"))
        .collect();
    let config = support::config_with(
        dir.path(),
        &sources,
        &[
            ("schedule", "\"1s\""),
            ("timeout", "\"2s\""),
            ("per_host", "4"),
        ],
    );
    let db = config.database_path();
    let log = dir.path().join("daemon.log");
    let started = Instant::now();
    let mut snapshot = Snapshot::new();
    let (mut mid_poll, mut after_commit, mut reported) = (0, 0, 0);
    for i in 0..iterations {
        let before = server.total_hits();
        let served_before = served(&server);
        let mut child = spawn(&config.path, &log);
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.total_hits() == before {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the daemon exited by itself ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "iteration {i}: no poll started");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Fetch, parse, story matching and ingest of three 40-item documents
        // take 40 to 200 ms in the test build: kills land before, inside and
        // after the three polls' commits.
        let delay = rng.random_range(0..=250);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let requests = server.total_hits() - before;
        let done = count(&log, " ok: ");
        if done < requests {
            mid_poll += 1;
        } else {
            after_commit += 1;
        }
        let served = served(&server);
        let what = format!("after kill {i} ({delay} ms after the first request, seed {seed})");
        snapshot = check(&db, &snapshot, &served, &what);
        reported += check_reported(&db, &log, &served_before, &snapshot, &what);
        // Every source is due at the next start, so each start begins to ingest at once.
        Store::open(&db)
            .unwrap()
            .with(|c| {
                Ok(c.execute(
                    "UPDATE sources SET last_attempt_at = NULL, not_before = NULL",
                    [],
                )?)
            })
            .unwrap();
    }
    assert!(
        mid_poll > 0,
        "no kill landed inside a poll ({after_commit} after it); the test tests nothing"
    );

    assert!(
        reported > 0,
        "no poll was reported done before a kill; the no-loss check checked nothing"
    );

    // A last clean run: every source polls, SIGTERM, exit 0, and the last documents are whole.
    let served_before = served(&server);
    let mut child = spawn(&config.path, &log);
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&log, " ok: ") < SOURCES.len() {
        assert!(
            Instant::now() < deadline,
            "the sources were not polled after the crashes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sigterm(&child);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    let last = check(
        &db,
        &snapshot,
        &served(&server),
        &format!("after the clean run (seed {seed})"),
    );
    assert!(last.len() >= snapshot.len());
    check_reported(&db, &log, &served_before, &last, "after the clean run");
    let merged = merged_stories(&db);
    assert!(
        merged > 0,
        "no story merged items of two sources: the kills never hit story matching"
    );
    eprintln!(
        "crash loop: {iterations} SIGKILLs in {:?} ({mid_poll} inside a poll, {after_commit} between polls), {reported} polls reported done and found, {} items in {merged} multi-source stories, seed {seed}",
        started.elapsed(),
        last.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_a_poll_hangs_stops_accepting_and_exits_zero() {
    // reqwest is built without a crypto provider; no App in this process installs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = HostileServer::start().await;
    server.set("/hang", Fault::Hang);
    let healthy = HostileServer::start().await;
    healthy.set("/feed", Fault::feed(small_feed("term-ok", 3)));
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = support::config_text_with(
        dir.path(),
        &[
            support::source("term-ok", healthy.url("/feed"), "feed"),
            support::source("term-hang", server.url("/hang"), "feed"),
        ],
        &[("schedule", "\"1s\""), ("timeout", "\"60s\"")],
    )
    .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = spawn(&path, &log);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let served = match reqwest::get(format!("{base}/feed.json")).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if served.matches("\"id\": \"urn:uuid:").count() == 3 && server.hits("/hang") > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon did not start polling"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    sigterm(&child);
    let term = Instant::now();
    // New connections are refused at once, while the hanging poll still has its grace.
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            break;
        }
        assert!(
            term.elapsed() < Duration::from_millis(1500),
            "still accepting connections after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon should still be finishing its polls"
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let took = term.elapsed();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status}:\n{text}");
    // The hanging poll gets its grace, no more: then cancelling, the final
    // checkpoint and exit take well under a second.
    assert!(
        took >= SHUTDOWN_GRACE && took < SHUTDOWN_GRACE + STOP_SLACK,
        "took {took:?} with a {SHUTDOWN_GRACE:?} grace:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("term-hang") && l.contains("poll cancelled at shutdown")),
        "{text}"
    );
    assert!(text.contains("stopped"), "{text}");
    // The final checkpoint folded the WAL into the database file.
    let wal = dir.path().join("test.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the WAL was left with content"
    );
    let store = Store::open(&dir.path().join("test.db")).unwrap();
    assert_eq!(store.integrity_check().unwrap(), Ok(()));
    assert_eq!(store.item_count().unwrap(), 3);
}
