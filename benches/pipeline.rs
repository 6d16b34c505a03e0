//! Criterion benchmarks of the pipeline stages in process, no network: feed
//! parsing (feed-rs alone and our adapter), normalising, storing one poll,
//! rendering the site and answering a feed request, and extracting one
//! article page (decode, parse, anatomy, date candidates, merge). They show where a
//! whole-process figure in BENCHMARKS.md goes; benchkit and
//! benches/scripts/run.sh measure the figures themselves.
//!
//! `cargo bench --bench pipeline` (all), `cargo bench --bench pipeline -- ingest` (one group).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use revierfeed::config::Config;
use revierfeed::extract::feed::parse_feed;
use revierfeed::model::Item;
use revierfeed::normalize::{FieldLimits, normalize_item};
use revierfeed::store::{IngestRequest, Store};

use common::{feed_xml, ingest_document, origin};

const ITEMS: usize = 20;

fn feed_url(n: usize) -> url::Url {
    url::Url::parse(&format!("http://{}/feeds/{n}.xml", origin(n))).expect("valid url")
}

/// A config of `sources` feed sources (ids partner-0 …).
fn config(sources: usize, dir: &Path) -> Config {
    let mut text = format!(
        "[feed]\ntitle = \"Benchmark\"\npublic_url = \"http://127.0.0.1:8080/\"\n[storage]\ndatabase = \"{}\"\n",
        dir.join("bench.db").display()
    );
    for n in 0..sources {
        text.push_str(&format!(
            "[[source]]\nid = \"partner-{n}\"\nurl = \"{}\"\nkind = \"feed\"\n",
            feed_url(n)
        ));
    }
    Config::parse(&text, &dir.join("config.toml")).expect("valid generated config")
}

fn normalized(n: usize, first: usize) -> Vec<Item> {
    let xml = feed_xml(n, "", (first..first + ITEMS).rev(), None);
    let extracted =
        parse_feed(xml.as_bytes(), None, &feed_url(n), 500).expect("generated feed parses");
    let now = Utc::now();
    extracted
        .items
        .iter()
        .filter_map(|raw| normalize_item(raw, now, &FieldLimits::default()))
        .collect()
}

fn request(source: usize, items: Vec<Item>) -> IngestRequest {
    common::ingest_request(&format!("partner-{source}"), items, Utc::now())
}

fn parse(c: &mut Criterion) {
    let xml = feed_xml(7, "", (0..ITEMS).rev(), None);
    let url = feed_url(7);
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(ITEMS as u64));
    g.bench_function("feed_rs_alone", |b| {
        b.iter(|| feed_rs::parser::parse(xml.as_bytes()).expect("parses"))
    });
    g.bench_function("extract_adapter", |b| {
        b.iter(|| parse_feed(xml.as_bytes(), None, &url, 500).expect("parses"))
    });
    g.finish();
}

fn normalize(c: &mut Criterion) {
    let xml = feed_xml(7, "", (0..ITEMS).rev(), None);
    let extracted = parse_feed(xml.as_bytes(), None, &feed_url(7), 500).expect("parses");
    let now = Utc::now();
    let limits = FieldLimits::default();
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(ITEMS as u64));
    g.bench_function("items", |b| {
        b.iter(|| {
            extracted
                .items
                .iter()
                .filter_map(|raw| normalize_item(raw, now, &limits))
                .count()
        })
    });
    g.bench_function("sanitize_html", |b| {
        let html = extracted.items[0]
            .summary
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default();
        b.iter(|| revierfeed::normalize::sanitize_html(&html, Some(&feed_url(7))))
    });
    // What story matching analyses per new item (title and lead), off the database.
    let items: Vec<_> = extracted
        .items
        .iter()
        .filter_map(|raw| normalize_item(raw, now, &limits))
        .collect();
    g.bench_function("story_signature", |b| {
        b.iter(|| {
            items
                .iter()
                .map(|i| {
                    revierfeed::story::Signature::of(&i.title, &i.text)
                        .terms
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

/// Storing one poll of 20 items, on disk (durable commits included), into a
/// database that grows as the benchmark runs: all new, and all unchanged.
fn ingest(c: &mut Criterion) {
    const SOURCES: usize = 200;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(SOURCES, dir.path());
    let store = Store::open(&config.database_path()).expect("database");
    store
        .sync_sources(&config.registrations())
        .expect("sources");
    let next = AtomicUsize::new(0);
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(ITEMS as u64));
    g.bench_function("poll_20_new", |b| {
        b.iter_batched(
            || {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let source = i % SOURCES;
                request(source, normalized(source, 1000 + (i / SOURCES) * ITEMS))
            },
            |req| store.ingest(req).expect("stored"),
            BatchSize::PerIteration,
        )
    });
    let again = normalized(3, 1000);
    g.bench_function("poll_20_unchanged", |b| {
        b.iter_batched(
            || request(3, again.clone()),
            |req| store.ingest(req).expect("stored"),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("parse_normalize_store_20", |b| {
        let at = Utc::now();
        b.iter_batched(
            || {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let source = i % SOURCES;
                let first = 1000 + (i / SOURCES) * ITEMS;
                (
                    source,
                    feed_xml(source, "", (first..first + ITEMS).rev(), None),
                )
            },
            |(source, xml)| {
                ingest_document(
                    &store,
                    &format!("partner-{source}"),
                    &feed_url(source),
                    xml.as_bytes(),
                    at,
                )
                .expect("stored")
            },
            BatchSize::PerIteration,
        )
    });
    // The fsync's share of storing new items: the same new polls into a
    // second database whose commits do not wait for the disk. Not a setting
    // revierfeed offers for new items (a crash could lose an acknowledged
    // poll on power loss); measured only to show what durability costs.
    let relaxed_dir = tempfile::tempdir().expect("temp dir");
    let relaxed =
        Store::open(&crate::config(SOURCES, relaxed_dir.path()).database_path()).expect("database");
    relaxed
        .sync_sources(&config.registrations())
        .expect("sources");
    relaxed
        .with(|c| Ok(c.pragma_update(None, "synchronous", "NORMAL")?))
        .expect("pragma");
    let relaxed_next = AtomicUsize::new(0);
    g.bench_function("poll_20_new_synchronous_normal", |b| {
        b.iter_batched(
            || {
                let i = relaxed_next.fetch_add(1, Ordering::Relaxed);
                let source = i % SOURCES;
                request(source, normalized(source, 1000 + (i / SOURCES) * ITEMS))
            },
            |req| relaxed.ingest(req).expect("stored"),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Rendering every served file, and serving one, for 1,000 sources of 20 items.
fn render_and_serve(c: &mut Criterion) {
    const SOURCES: usize = 1000;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(SOURCES, dir.path());
    let store = Store::open(&config.database_path()).expect("database");
    store
        .sync_sources(&config.registrations())
        .expect("sources");
    for n in 0..SOURCES {
        store.ingest(request(n, normalized(n, 0))).expect("seeded");
    }
    let mut g = c.benchmark_group("render");
    g.sample_size(10);
    g.bench_function("site_1000_sources", |b| {
        b.iter(|| {
            let states = store.source_states().expect("states");
            revierfeed::publish::render_site(&config, &store, &states).expect("rendered")
        })
    });
    g.finish();

    let app =
        Arc::new(revierfeed::app::App::with_store(config.clone(), store.clone()).expect("app"));
    let router = app.router();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let etag = app.site.get().files["/feed.atom"].etag.clone();
    let mut g = c.benchmark_group("serve");
    for (name, header) in [
        ("feed_atom_200", None),
        (
            "feed_atom_gzip",
            Some(("accept-encoding", "gzip".to_string())),
        ),
        ("feed_atom_304", Some(("if-none-match", etag))),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                use tower::ServiceExt;
                let mut req = axum::http::Request::get("/feed.atom");
                if let Some((k, v)) = &header {
                    req = req.header(*k, v);
                }
                let req = req.body(axum::body::Body::empty()).expect("request");
                rt.block_on(router.clone().oneshot(req)).expect("response")
            })
        });
    }
    g.finish();
}

/// A partner's article page as served (10 KB, tests/fixtures), and the same
/// page grown to the weight of a news site's page: a 300-link menu, 40 teaser
/// cards with dates, comments and inline scripts (~120 KB).
fn article_page(c: &mut Criterion) {
    use revierfeed::extract::html::{ListingEntry, Page, merge, parse_article};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/fixtures/partners/mittelstand/pages/aktuelles/fachgespraech-landtag-attraktive-lausitz/index.html",
    );
    let partner = std::fs::read(path).expect("partner fixture");
    let text = String::from_utf8_lossy(&partner);
    let menu: String = (0..300)
        .map(|i| format!("<li class=\"menu-item\"><a href=\"/bereich/{i}/\">Bereich {i}</a></li>"))
        .collect();
    let cards: String = (0..40)
        .map(|i| format!("<article class=\"card\" itemscope itemtype=\"https://schema.org/NewsArticle\"><h3 itemprop=\"headline\"><a href=\"/n/{i}/\">Weitere Meldung Nummer {i} aus der Region</a></h3><time itemprop=\"datePublished\" datetime=\"2026-01-{:02}\">{:02}.01.2026</time><p>Ein kurzer Anrisstext zur Meldung, damit die Karte so viel Text trägt wie auf echten Seiten.</p></article>", i % 28 + 1, i % 28 + 1))
        .collect();
    let comments: String = (0..30)
        .map(|i| format!("<div class=\"comment\"><p class=\"comment-meta\">{:02}.02.2026</p><p>Kommentar {i}: Das ist ein Beitrag aus der Diskussion unter dem Artikel mit etwas Text.</p></div>", i % 28 + 1))
        .collect();
    let script = format!(
        "<script>var config = {{\"data\": \"{}\"}};</script>",
        "x".repeat(20_000)
    );
    let heavy = text
        .replacen("<body>", &format!("<body class=\"has-sidebar\"><nav class=\"mega-menu\"><ul>{menu}</ul></nav>{script}"), 1)
        .replacen("</body>", &format!("<section class=\"more-news\">{cards}</section><div id=\"comments\">{comments}</div>{script}</body>"), 1);
    let url = url::Url::parse("https://mittelstand.example/aktuelles/fachgespraech/").expect("url");
    let entry = ListingEntry {
        link: url.clone(),
        title: None,
        published: None,
        date_structured: false,
        summary: None,
        author: None,
        categories: vec![],
        fingerprint: String::new(),
        inline: false,
    };
    let mut g = c.benchmark_group("article_page");
    let heavy_bytes = heavy.into_bytes();
    for (name, bytes) in [
        ("partner_10kb", partner.clone()),
        ("news_site_120kb", heavy_bytes.clone()),
    ] {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let text = revierfeed::extract::charset::decode_html(&bytes, None);
                let article = parse_article(&Page::parse(&text, &url).unwrap(), None);
                merge(&entry, Some(&article))
            })
        });
    }
    // The share of HTML parsing (html5ever through scraper) alone, for comparison.
    let heavy_text = String::from_utf8_lossy(&heavy_bytes).into_owned();
    g.bench_function("news_site_120kb_html_parse_only", |b| {
        b.iter(|| Page::parse(&heavy_text, &url))
    });
    g.finish();
}

criterion_group!(
    benches,
    parse,
    normalize,
    ingest,
    render_and_serve,
    article_page
);
criterion_main!(benches);
