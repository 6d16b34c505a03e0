//! benchkit: the helper program of the whole-process benchmarks
//! (`benches/scripts/run.sh`, results in BENCHMARKS.md). It owns what those
//! need besides the daemon and the peers: German-ish synthetic partner feeds
//! on disk, configs for 1,000 sources on 1,000 loopback origins, the
//! latency-adding partner server, seeding a database through the real ingest
//! path, the ingest-throughput figure against feed-rs alone, and moving
//! stored poll times so the daemon's next cycle starts when a benchmark wants.
//!
//! A benchmark, not a test: CI never runs it. Build it with
//! `cargo bench --no-run --bench benchkit`; run the built binary with a
//! command (`benchkit --help`). `cargo bench --bench benchkit -- CMD` works
//! too (cargo's extra `--bench` argument is ignored).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};
use chrono::Utc;
use clap::{Parser, Subcommand};
use revierfeed::config::Config;
use revierfeed::store::Store;

use common::{feed_xml, ingest_document, origin, source_config};

#[derive(Parser)]
#[command(
    name = "benchkit",
    about = "Helpers for revierfeed's whole-process benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write `feeds` RSS files of `items` items into DIR/feeds/<n>.xml.
    /// Version v shows items 5(v-1) .. 5(v-1)+items (newest first) and edits one
    /// older item, so every feed changes from one version to the next.
    Gen {
        dir: PathBuf,
        #[arg(long, default_value_t = 1000)]
        feeds: usize,
        #[arg(long, default_value_t = 20)]
        items: usize,
        #[arg(long, default_value_t = 1)]
        version: usize,
    },
    /// Print a config.toml for `sources` feeds, source n at http://<origin n>:PORT/feeds/<n>.xml.
    Config {
        #[arg(long, default_value_t = 1000)]
        sources: usize,
        /// Port of the partner farm on every origin address.
        #[arg(long)]
        port: u16,
        /// Where the daemon listens.
        #[arg(long, default_value = "127.0.0.1:28800")]
        listen: String,
        #[arg(long, default_value = "revierfeed.db")]
        database: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value = "*/15 * * * *")]
        schedule: String,
        #[arg(long, default_value = "1m")]
        jitter: String,
    },
    /// Print the loopback origin addresses, one per line (for nginx `listen` lines and newsboat's urls).
    Origins {
        #[arg(long, default_value_t = 1000)]
        sources: usize,
    },
    /// Serve DIR on every origin address at PORT like a static file server
    /// (strong ETag, Last-Modified, 304), waiting `latency_ms` before every answer.
    /// Stops by itself after `max_secs`.
    Serve {
        dir: PathBuf,
        #[arg(long)]
        port: u16,
        #[arg(long, default_value_t = 1000)]
        sources: usize,
        #[arg(long, default_value_t = 50)]
        latency_ms: u64,
        #[arg(long, default_value_t = 1800)]
        max_secs: u64,
    },
    /// Store `per_source` generated items for every source of CONFIG through
    /// the real parse → normalise → dedup → store path (items numbered from
    /// `first`, so they do not collide with the served feeds' items).
    Seed {
        config: PathBuf,
        #[arg(long, default_value_t = 80)]
        per_source: usize,
        #[arg(long, default_value_t = 100_000)]
        first: usize,
    },
    /// The ingest figure: `feeds` in-memory feeds of `items` items, parsed by
    /// feed-rs alone, then parsed, normalised, deduplicated and stored (one
    /// transaction per feed, as one poll each) into a fresh database file in DIR.
    Ingest {
        dir: PathBuf,
        #[arg(long, default_value_t = 1000)]
        feeds: usize,
        #[arg(long, default_value_t = 100)]
        items: usize,
        /// Repetitions of each measurement; the median is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Move every source's last poll so that its next poll falls in the next
    /// `spread` seconds (an `interval`-second schedule); `spread` 0 makes all due now.
    Stagger {
        config: PathBuf,
        #[arg(long, default_value_t = 900)]
        interval: i64,
        #[arg(long, default_value_t = 0)]
        spread: i64,
    },
}

fn main() -> anyhow::Result<()> {
    // The daemon's allocator settings, so that the ingest figure measures its shape.
    revierfeed::allocator::tune();
    // `cargo bench` appends `--bench`; the commands here take no such flag.
    let args = std::env::args().filter(|a| a != "--bench");
    match Cli::parse_from(args).command {
        Command::Gen {
            dir,
            feeds,
            items,
            version,
        } => gen_feeds(&dir, feeds, items, version),
        Command::Config {
            sources,
            port,
            listen,
            database,
            concurrency,
            schedule,
            jitter,
        } => {
            print!(
                "{}",
                config_toml(
                    sources,
                    port,
                    &listen,
                    &database,
                    concurrency,
                    &schedule,
                    &jitter
                )
            );
            Ok(())
        }
        Command::Origins { sources } => {
            for n in 0..sources {
                println!("{}", origin(n));
            }
            Ok(())
        }
        Command::Serve {
            dir,
            port,
            sources,
            latency_ms,
            max_secs,
        } => serve(dir, port, sources, latency_ms, max_secs),
        Command::Seed {
            config,
            per_source,
            first,
        } => seed(&config, per_source, first),
        Command::Ingest {
            dir,
            feeds,
            items,
            runs,
        } => ingest(&dir, feeds, items, runs),
        Command::Stagger {
            config,
            interval,
            spread,
        } => stagger(&config, interval, spread),
    }
}

fn base_url(n: usize, port: u16) -> String {
    format!("http://{}:{port}", origin(n))
}

fn gen_feeds(dir: &Path, feeds: usize, items: usize, version: usize) -> anyhow::Result<()> {
    let out = dir.join("feeds");
    std::fs::create_dir_all(&out)?;
    let start = 5 * version.saturating_sub(1);
    let edited = (version > 1).then_some((start + items / 2, version));
    for n in 0..feeds {
        // Links are relative to the origin the feed is served from, as partners' are.
        let xml = feed_xml(n, "", (start..start + items).rev(), edited);
        let tmp = out.join(format!(".{n}.xml.tmp"));
        std::fs::write(&tmp, xml)?;
        std::fs::rename(&tmp, out.join(format!("{n}.xml")))?;
    }
    eprintln!(
        "{feeds} feeds of {items} items (version {version}) in {}",
        out.display()
    );
    Ok(())
}

fn config_toml(
    sources: usize,
    port: u16,
    listen: &str,
    database: &str,
    concurrency: usize,
    schedule: &str,
    jitter: &str,
) -> String {
    let mut c = format!(
        r#"# Generated by benchkit for the benchmarks (see BENCHMARKS.md).
[feed]
title = "Strukturwandel in der Lausitz (Benchmark)"
id = "urn:uuid:6c7f2a10-0d1e-4b7a-8f00-000000000001"
public_url = "http://{listen}/"

[server]
listen = "{listen}"

[storage]
database = "{database}"

[fetch]
schedule = "{schedule}"
concurrency = {concurrency}
per_host = 2
host_spacing = "500ms"
jitter = "{jitter}"
allow_networks = ["127.0.0.0/8"]
"#
    );
    for n in 0..sources {
        c.push_str(&format!(
            "\n[[source]]\nid = \"partner-{n}\"\nname = \"Partner {n}\"\nurl = \"{}/feeds/{n}.xml\"\nkind = \"feed\"\n",
            base_url(n, port)
        ));
    }
    c
}

// ---------------------------------------------------------------------------
// The latency-adding partner farm.
// ---------------------------------------------------------------------------

struct Farm {
    root: PathBuf,
    latency: Duration,
}

fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

async fn farm_file(State(farm): State<Arc<Farm>>, req: Request<Body>) -> Response<Body> {
    tokio::time::sleep(farm.latency).await;
    let rel = req.uri().path().trim_start_matches('/');
    let answer = |status: StatusCode| {
        Response::builder()
            .status(status)
            .body(Body::empty())
            .expect("valid response")
    };
    if rel.split('/').any(|p| p == ".." || p.is_empty()) {
        return answer(StatusCode::NOT_FOUND);
    }
    let path = farm.root.join(rel);
    let Ok(meta) = tokio::fs::metadata(&path).await else {
        return answer(StatusCode::NOT_FOUND);
    };
    let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let secs = mtime
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    // nginx's rule: modification time and size, which changes when a file is rewritten.
    let etag = format!("\"{secs:x}-{:x}\"", meta.len());
    let last_modified = http_date(mtime);
    if matches(req.headers(), &etag, secs) {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, etag)
            .header(header::LAST_MODIFIED, last_modified)
            .body(Body::empty())
            .expect("valid response");
    }
    let Ok(body) = tokio::fs::read(&path).await else {
        return answer(StatusCode::NOT_FOUND);
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "application/rss+xml")
        .header(header::ETAG, etag)
        .header(header::LAST_MODIFIED, last_modified)
        .body(Body::from(body))
        .expect("valid response")
}

fn matches(headers: &HeaderMap, etag: &str, mtime_secs: u64) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm.split(',').any(|t| t.trim() == etag);
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .is_some_and(|since| since.as_secs() >= mtime_secs)
}

fn serve(
    dir: PathBuf,
    port: u16,
    sources: usize,
    latency_ms: u64,
    max_secs: u64,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let farm = Arc::new(Farm {
            root: dir,
            latency: Duration::from_millis(latency_ms),
        });
        let app = axum::Router::new().fallback(farm_file).with_state(farm);
        for n in 0..sources {
            let addr = SocketAddr::new(IpAddr::V4(origin(n)), port);
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let app = app.clone();
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        println!("farm: {sources} origins on port {port}, {latency_ms} ms latency");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(max_secs)) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Seeding and the ingest figure: the daemon's own parse → normalise → store path.
// ---------------------------------------------------------------------------

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

fn seed(config: &Path, per_source: usize, first: usize) -> anyhow::Result<()> {
    let config = load(config)?;
    let store = Store::open(&config.database_path())?;
    store.sync_sources(&config.registrations())?;
    let started = Instant::now();
    // A day ago: the daemon's schedule decides when these sources are polled next.
    let at = Utc::now() - chrono::Duration::days(1);
    let mut stored = 0;
    for (n, source) in config.sources.iter().enumerate() {
        let xml = feed_xml(n, "", (first..first + per_source).rev(), None);
        stored += ingest_document(&store, &source.id, &source.url, xml.as_bytes(), at)?;
    }
    store.checkpoint()?;
    println!(
        "seeded {stored} items for {} sources in {:.1} s",
        config.sources.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// CPU time of this thread, in seconds: on a machine shared with compilers
/// the wall clock also counts other people's work.
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ingest(dir: &Path, feeds: usize, items: usize, runs: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let docs: Vec<(String, url::Url, String)> = (0..feeds)
        .map(|n| {
            let base = base_url(n, 80);
            let url = url::Url::parse(&format!("{base}/feeds/{n}.xml")).expect("valid url");
            (
                format!("partner-{n}"),
                url,
                feed_xml(n, "", (0..items).rev(), None),
            )
        })
        .collect();
    let total_items = feeds * items;
    let bytes: usize = docs.iter().map(|d| d.2.len()).sum();
    println!(
        "ingest: {feeds} feeds × {items} items = {total_items} items, {:.1} MiB of RSS",
        bytes as f64 / 1048576.0
    );

    let mut feed_rs_secs = Vec::new();
    let mut pipeline_secs = Vec::new();
    let (mut feed_rs_cpu, mut pipeline_cpu) = (Vec::new(), Vec::new());
    let (mut overlapped_secs, mut overlapped_cpu) = (Vec::new(), Vec::new());
    let mut feed_rs_threads_secs = Vec::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for run in 0..runs.max(1) {
        // feed-rs alone, default parser: the floor any feed reader pays.
        let (t, c) = (Instant::now(), thread_cpu());
        let mut parsed = 0;
        for (_, _, xml) in &docs {
            parsed += feed_rs::parser::parse(xml.as_bytes())?.entries.len();
        }
        feed_rs_secs.push(t.elapsed().as_secs_f64());
        feed_rs_cpu.push(thread_cpu() - c);
        assert_eq!(parsed, total_items);

        // feed-rs alone on every core, the same threads the overlapped run
        // below uses: the like-for-like floor for its wall time.
        let t = Instant::now();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let parsed: usize = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut parsed = 0;
                        while let Some((_, _, xml)) =
                            docs.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                        {
                            parsed += feed_rs::parser::parse(xml.as_bytes())
                                .map_or(0, |f| f.entries.len());
                        }
                        parsed
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        feed_rs_threads_secs.push(t.elapsed().as_secs_f64());
        assert_eq!(parsed, total_items);

        // The whole path into a fresh on-disk database, one transaction per feed.
        let db = dir.join(format!("ingest-{run}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let store = Store::open(&db)?;
        let sources: Vec<revierfeed::config::SourceConfig> = docs
            .iter()
            .map(|(id, url, _)| source_config(id, url))
            .collect();
        store.sync_sources(
            &sources
                .iter()
                .map(revierfeed::config::SourceConfig::registration)
                .collect::<Vec<_>>(),
        )?;
        let at = Utc::now();
        let (t, c) = (Instant::now(), thread_cpu());
        let mut new = 0;
        for (id, url, xml) in &docs {
            new += ingest_document(&store, id, url, xml.as_bytes(), at)?;
        }
        pipeline_secs.push(t.elapsed().as_secs_f64());
        pipeline_cpu.push(thread_cpu() - c);
        assert_eq!(new, total_items, "every item is new");

        // The same work as the daemon overlaps it: documents parsed,
        // normalised and prepared on the parse threads while the writer
        // stores the polls waiting for it, several to a transaction.
        let db = dir.join(format!("ingest-pipelined-{run}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let store = Store::open(&db)?;
        store.sync_sources(
            &sources
                .iter()
                .map(revierfeed::config::SourceConfig::registration)
                .collect::<Vec<_>>(),
        )?;
        let (t, c) = (Instant::now(), process_cpu());
        let new = pipelined(&store, &docs, at)?;
        overlapped_secs.push(t.elapsed().as_secs_f64());
        overlapped_cpu.push(process_cpu() - c);
        assert_eq!(new, total_items, "every item is new");
    }
    let (f, p) = (median(feed_rs_secs), median(pipeline_secs));
    let (fc, pc) = (median(feed_rs_cpu), median(pipeline_cpu));
    let per_s = |secs: f64| total_items as f64 / secs;
    println!(
        "feed-rs parse alone:             wall {f:.3} s ({:>6.0} items/s)  cpu {fc:.3} s ({:>6.0} items/s)",
        per_s(f),
        per_s(fc)
    );
    println!(
        "parse+normalise+dedup+store:     wall {p:.3} s ({:>6.0} items/s)  cpu {pc:.3} s ({:>6.0} items/s)",
        per_s(p),
        per_s(pc)
    );
    let (o, oc) = (median(overlapped_secs), median(overlapped_cpu));
    println!(
        "  overlapped as in the daemon:   wall {o:.3} s ({:>6.0} items/s)  cpu {oc:.3} s, all threads",
        per_s(o)
    );
    // The overlap as a machine's drift moves it least: how many of one
    // thread's CPU-seconds the overlapped run did per second of wall.
    println!(
        "  overlapped speed-up over one thread: {:.2} (one-thread cpu / overlapped wall, {threads} cores)",
        pc / o
    );
    let ft = median(feed_rs_threads_secs);
    println!(
        "feed-rs parse alone, {threads} threads: wall {ft:.3} s ({:>6.0} items/s)",
        per_s(ft)
    );
    // Each ratio divides like by like: one thread by one thread (wall, and
    // that thread's CPU), and the overlapped run by feed-rs on the same cores.
    println!(
        "ratio revierfeed / feed-rs alone: one thread wall {:.2}, cpu {:.2}; overlapped wall / feed-rs on {threads} threads {:.2} (/ feed-rs on one thread {:.2})",
        p / f,
        pc / fc,
        o / ft,
        o / f
    );
    Ok(())
}

/// CPU time of the whole process (every thread), in seconds.
fn process_cpu() -> f64 {
    let tick = 100.0; // USER_HZ: the unit of /proc/self/stat on Linux
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are 14 and 15.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .map_or(0.0, |ticks| ticks / tick)
}

/// The daemon's shape: documents parsed, normalised and prepared for the
/// writer (`Store::prepare_ingest`) on as many threads as its parse pool has
/// (half the cores, 2 to 4) at its lower priority, with as many documents
/// in between as it allows (`concurrency` 16), queued for the writer as
/// soon as they are prepared (`Store::enqueue_ingest`) and stored from as
/// many threads as its blocking pool has (4), so that the polls queued share
/// a transaction.
fn pipelined(
    store: &Store,
    docs: &[(String, url::Url, String)],
    at: chrono::DateTime<Utc>,
) -> anyhow::Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = (cores / 2).clamp(2, 4);
    const STORERS: usize = 4;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || {
                // As the daemon's parse threads: below the writer.
                revierfeed::pipeline::lower_priority_for_parsing();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((id, url, xml)) = docs.get(n) else {
                        break;
                    };
                    // Queued at once, as the daemon's pipeline does; the storers wait.
                    let prepared = common::prepare_document(id, url, xml.as_bytes(), at)
                        .map(|request| store.enqueue_ingest(store.prepare_ingest(request)));
                    if tx.send(prepared).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let storers: Vec<_> = (0..STORERS)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<usize> {
                    let mut new = 0;
                    loop {
                        let Ok(ready) = rx.lock().expect("channel lock").recv() else {
                            return Ok(new);
                        };
                        new += store.store_queued(ready?)?.new;
                    }
                })
            })
            .collect();
        storers
            .into_iter()
            .map(|s| s.join().expect("storer thread"))
            .sum()
    })
}

fn stagger(config: &Path, interval: i64, spread: i64) -> anyhow::Result<()> {
    let config = load(config)?;
    let conn = rusqlite::Connection::open(config.database_path())?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let now = Utc::now().timestamp();
    let ids: Vec<String> = {
        let mut stmt = conn.prepare("SELECT id FROM sources ORDER BY id")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let count = ids.len().max(1) as i64;
    let tx = conn.unchecked_transaction()?;
    for (i, id) in ids.iter().enumerate() {
        let last = now - interval + spread * i as i64 / count;
        tx.execute(
            "UPDATE sources SET last_attempt_at = ?2, not_before = NULL, consecutive_failures = 0 WHERE id = ?1",
            rusqlite::params![id, last],
        )?;
    }
    tx.commit()?;
    println!(
        "{} sources: next polls spread over the next {spread} s",
        ids.len()
    );
    Ok(())
}
