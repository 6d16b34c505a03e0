//! What story matching costs per stored item: ingests the same synthetic
//! polls (1,000 sources × 100 items, German-like text, one item in twenty
//! retold by another source) into two fresh databases, once with
//! `[stories]` off and once on, and prints the difference per item, plus the
//! analysis alone. The two runs differ only in matching, so fsyncs and
//! SQLite work cancel out.
//!
//! Each figure is wall-clock time and, in brackets, this thread's CPU time
//! (`/proc/thread-self/schedstat`, where Linux has it): on a shared machine
//! the wall clock counts the time other processes held the CPU, the CPU time
//! does not.
//!
//! `cargo bench --bench story_cost -- [SOURCES] [ITEMS_PER_SOURCE]`
//!
//! To profile one part (callgrind, perf): `STORY_COST_SCENARIO=N` runs
//! scenario N only (0 news-like, 1 long texts, 2 28-word vocabulary), and
//! `STORY_COST_RUNS=on` (or `off`) only that ingest; a skipped ingest counts
//! as zero in the figures.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use revierfeed::config::Config;
use revierfeed::model::Item;
use revierfeed::store::Store;
use revierfeed::story::{Rules, Signature};

/// A small deterministic generator (xorshift), so both runs see the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Roughly Zipf-distributed word index below `n`: a few words are everywhere, most are rare.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
}

const STEMS: &[&str] = &[
    "Lausitz",
    "Cottbus",
    "Strukturwandel",
    "Förderung",
    "Wasserstoff",
    "Bahnhof",
    "Stadtwerke",
    "Kommune",
    "Projekt",
    "Bürgermeisterin",
    "Hochschule",
    "Landkreis",
    "Gemeinde",
    "Ausbildung",
    "Energie",
    "Netz",
    "Speicher",
    "Radweg",
    "Kita",
    "Schule",
    "Museum",
    "Verein",
    "Tagebau",
    "See",
    "Kraftwerk",
    "Investition",
    "Arbeitsplätze",
    "Landtag",
];
const FILLER: &[&str] = &[
    "der", "die", "und", "mit", "für", "in", "auf", "am", "wird", "hat", "eine", "den",
];

fn word(rng: &mut Rng, vocab: usize) -> String {
    let i = rng.zipf(vocab);
    if i < STEMS.len() {
        STEMS[i].to_string()
    } else {
        format!("{}{}", STEMS[i % STEMS.len()], i)
    }
}

fn text(rng: &mut Rng, words: usize, vocab: usize) -> String {
    let mut out = String::new();
    for k in 0..words {
        if k > 0 {
            out.push(' ');
        }
        match rng.next() % 10 {
            0..=3 => out.push_str(FILLER[(rng.next() % FILLER.len() as u64) as usize]),
            4 => out.push_str(&format!("{} Millionen Euro", rng.next() % 500)),
            _ => out.push_str(&word(rng, vocab)),
        }
    }
    out
}

fn polls(
    sources: usize,
    per_source: usize,
    text_words: usize,
    vocab: usize,
    hours_apart: i64,
) -> Vec<(String, Vec<Item>)> {
    let start: DateTime<Utc> = "2026-01-01T08:00:00Z".parse().expect("literal");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out: Vec<(String, Vec<Item>)> = Vec::new();
    for s in 0..sources {
        let id = format!("partner-{s}");
        let mut items = Vec::new();
        for i in 0..per_source {
            // Every tenth item of an odd source retells the same-numbered item of
            // the source before it in other words: a third of its words dropped.
            let (title, body, day) = if i % 10 == 0 && s % 2 == 1 {
                let orig: &Item = &out[s - 1].1[i];
                let kept: Vec<&str> = orig
                    .text
                    .split(' ')
                    .enumerate()
                    .filter(|(k, _)| k % 3 != 1)
                    .map(|(_, w)| w)
                    .collect();
                (text(&mut rng, 7, vocab), kept.join(" "), i as i64)
            } else {
                (
                    text(&mut rng, 7, vocab),
                    text(&mut rng, text_words, vocab),
                    i as i64,
                )
            };
            let published = start
                + chrono::Duration::hours(day * hours_apart)
                + chrono::Duration::minutes(s as i64);
            items.push(Item {
                guid: Some(format!("{id}-{i}")),
                link: Some(format!("https://{id}.example/{i}")),
                link_key: Some(format!("{id}.example/{i}")),
                title,
                summary_html: None,
                content_html: None,
                text: body,
                published: Some(published),
                updated: None,
                authors: vec![],
                categories: vec![],
                hidden: None,
                tags: vec![],
                media: vec![],
            });
        }
        out.push((id, items));
    }
    out
}

/// Wall-clock and CPU time of one phase.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    cpu: Option<Duration>,
}

/// CPU time this thread has run (every phase runs on it: `Store::ingest`
/// stores on the caller's thread).
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Times `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (Took, T) {
    let (cpu, wall) = (thread_cpu(), Instant::now());
    let out = f();
    let took = Took {
        wall: wall.elapsed(),
        cpu: cpu
            .zip(thread_cpu())
            .map(|(from, to)| to.saturating_sub(from)),
    };
    (took, out)
}

fn run(polls: &[(String, Vec<Item>)], rules: Rules) -> (Took, usize) {
    let dir = tempfile::tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "."
    })
    .expect("temp dir");
    let mut config =
        String::from("[feed]\ntitle = \"Cost\"\npublic_url = \"http://127.0.0.1:8080/\"\n");
    for (id, _) in polls {
        config.push_str(&format!(
            "[[source]]\nid = \"{id}\"\nurl = \"https://{id}.example/feed\"\nkind = \"feed\"\n"
        ));
    }
    let config = Config::parse(&config, &dir.path().join("config.toml")).expect("valid config");
    let store = Store::open(&dir.path().join("cost.db")).expect("database");
    store
        .sync_sources(&config.registrations())
        .expect("sources");
    store.set_story_rules(rules);
    let (took, ()) = timed(|| {
        for (id, items) in polls {
            store
                .ingest(common::ingest_request(id, items.clone(), Utc::now()))
                .expect("ingest");
        }
    });
    let stories = store.stories(1_000_000).expect("stories").len();
    (took, stories)
}

/// A skipped ingest (`STORY_COST_RUNS`).
const SKIPPED: (Took, usize) = (
    Took {
        wall: Duration::ZERO,
        cpu: Some(Duration::ZERO),
    },
    0,
);

fn main() {
    let mut args = std::env::args()
        .skip(1)
        // `cargo bench` passes `--bench` to every benchmark binary.
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse::<usize>().expect("a number"));
    let sources = args.next().unwrap_or(1000);
    let per_source = args.next().unwrap_or(100);
    let scenarios = [
        (
            "news-like: 50,000-word vocabulary, one item a day per source",
            40,
            50_000,
            24,
        ),
        ("long texts, otherwise the same", 250, 50_000, 24),
        (
            "28-word vocabulary, every item within 4 days (a throughput benchmark's feeds)",
            45,
            STEMS.len(),
            1,
        ),
    ];
    let only: Option<usize> = std::env::var("STORY_COST_SCENARIO")
        .ok()
        .map(|v| v.parse().expect("a scenario number"));
    let runs = std::env::var("STORY_COST_RUNS").unwrap_or_default();
    let ingest = |which: &str| runs.is_empty() || runs == which;
    for (k, (name, words, vocab, hours_apart)) in scenarios.into_iter().enumerate() {
        if only.is_some_and(|o| o != k) {
            continue;
        }
        let polls = polls(sources, per_source, words, vocab, hours_apart);
        let n = sources * per_source;
        let chars: usize = polls
            .iter()
            .flat_map(|(_, i)| i)
            .map(|i| i.text.len())
            .sum::<usize>()
            / n;
        let (analysis, ()) = timed(|| {
            for (_, items) in &polls {
                for i in items {
                    std::hint::black_box(Signature::of(&i.title, &i.text));
                }
            }
        });
        let (off, stories_off) = if ingest("off") {
            run(
                &polls,
                Rules {
                    enabled: false,
                    ..Rules::default()
                },
            )
        } else {
            SKIPPED
        };
        let (on, stories_on) = if ingest("on") {
            run(&polls, Rules::default())
        } else {
            SKIPPED
        };
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        let cpu = |t: Took| t.cpu.map(per);
        let cpu_note = |us: Option<f64>| match us {
            Some(us) => format!(" [CPU {us:>7.2}]"),
            None => String::new(),
        };
        println!("{name}: {n} items, text ≈ {chars} bytes");
        println!(
            "  analysis alone        {:>7.2} µs/item{}",
            per(analysis.wall),
            cpu_note(cpu(analysis))
        );
        println!(
            "  ingest, matching off  {:>7.2} µs/item{} ({:>7.0} items/s, {stories_off} entries)",
            per(off.wall),
            cpu_note(cpu(off)),
            n as f64 / off.wall.as_secs_f64()
        );
        println!(
            "  ingest, matching on   {:>7.2} µs/item{} ({:>7.0} items/s, {stories_on} entries)",
            per(on.wall),
            cpu_note(cpu(on)),
            n as f64 / on.wall.as_secs_f64()
        );
        println!(
            "  matching costs        {:>7.2} µs/item{}",
            per(on.wall) - per(off.wall),
            cpu_note(cpu(on).zip(cpu(off)).map(|(on, off)| on - off))
        );
    }
}
