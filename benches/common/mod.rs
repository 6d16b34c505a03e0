//! Shared by the benchmarks: synthetic German-ish partner feeds (the
//! vocabulary of shared/partners/farm.py), deterministic so every run
//! measures the same bytes, and the loopback origin of each partner.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::Path;

use chrono::{DateTime, Utc};
use revierfeed::config::{Config, SourceConfig};
use revierfeed::extract::feed::parse_feed;
use revierfeed::model::Item;
use revierfeed::normalize::{FieldLimits, normalize_item};
use revierfeed::store::{IngestRequest, PollRecord, Store};

// ---------------------------------------------------------------------------

pub const WORDS: &[&str] = &[
    "Lausitz",
    "Cottbus",
    "Görlitz",
    "Hoyerswerda",
    "Spremberg",
    "Weißwasser",
    "Senftenberg",
    "Guben",
    "Forst",
    "Bautzen",
    "Kamenz",
    "Lübbenau",
    "Welzow",
    "Boxberg",
    "Jänschwalde",
    "Schwarze-Pumpe",
    "Wasserstoff",
    "Bahnstrecke",
    "Fachkräfte",
    "Kohleausstieg",
    "Strukturwandel",
    "Tagebau",
    "Seenland",
    "Forschung",
    "Gründung",
    "Ausbildung",
    "Weiterbildung",
    "Förderung",
    "Landtag",
    "Kreistag",
    "Gemeinderat",
    "Investition",
    "Ansiedlung",
    "Netzwerk",
    "Konferenz",
    "Werkstatt",
    "Energiepark",
    "Solarpark",
    "Windpark",
    "Speicher",
    "Batterie",
    "Elektrolyse",
    "Universität",
    "Hochschule",
    "Klinikum",
    "Museum",
    "Festival",
    "Radweg",
    "Brücke",
    "Bahnhof",
    "Busnetz",
    "Breitband",
    "Rechenzentrum",
    "Handwerk",
    "Mittelstand",
    "Kommune",
    "Bürger",
    "Beteiligung",
    "Studie",
    "Bilanz",
    "Haushalt",
];

/// splitmix64: deterministic, so every run generates the same feeds.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn word(&mut self) -> &'static str {
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }
}

/// Loopback origin of source n: one partner per address, as in real life.
pub fn origin(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 77, (n / 250) as u8, (n % 250 + 1) as u8)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One RSS 2.0 document of partner `n` with the items `indices` (newest
/// first); `edited` is an item whose text carries a revision note.
pub fn feed_xml(
    n: usize,
    base: &str,
    indices: impl Iterator<Item = usize>,
    edited: Option<(usize, usize)>,
) -> String {
    let mut out = String::with_capacity(32 * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>");
    out.push_str(&format!(
        "<title>Synthetischer Partner {n}</title><link>{base}/</link><description>Neuigkeiten des Partners {n} im Lausitzer Strukturwandel</description><language>de</language>"
    ));
    for i in indices {
        let mut rng = Rng((n as u64) * 100_003 + i as u64);
        let title: Vec<&str> = (0..6).map(|_| rng.word()).collect();
        let title = format!("{} {}", title.join(" "), i);
        let words: Vec<&str> = (0..45).map(|_| rng.word()).collect();
        let mut text = format!(
            "<p>{} <strong>{}</strong> {}.</p><p>Mehr dazu <a href=\"/meldungen/{i}\">auf unserer Seite</a>.</p>",
            words[..20].join(" "),
            words[20..23].join(" "),
            words[23..].join(" ")
        );
        if let Some((e, rev)) = edited {
            if e == i {
                text.push_str(&format!("<p>Aktualisiert (Fassung {rev}).</p>"));
            }
        }
        // Older items have smaller numbers and earlier dates; every date is in the past.
        let when =
            DateTime::<Utc>::from_timestamp(1_700_000_000 + (i as i64) * 3600 + (n as i64) * 7, 0)
                .unwrap_or_default();
        out.push_str(&format!(
            "<item><title>{}</title><link>{base}/meldungen/{i}</link><guid isPermaLink=\"false\">partner-{n}-{i}</guid><pubDate>{}</pubDate><dc:creator>Pressestelle {}</dc:creator><category>{}</category><category>{}</category><description>{}</description></item>",
            xml_escape(&title),
            when.to_rfc2822(),
            rng.word(),
            rng.word(),
            rng.word(),
            xml_escape(&text)
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

/// One poll's worth of work, from document bytes to a committed transaction;
/// the same steps as `app::store_document` for a source without rules.
pub fn ingest_document(
    store: &Store,
    source_id: &str,
    url: &url::Url,
    bytes: &[u8],
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let request = prepare_document(source_id, url, bytes, at)?;
    Ok(store.ingest(request)?.new)
}

/// Parses and normalises one fetched document into what one poll stores:
/// the work the daemon does on its blocking threads before it takes the
/// database connection.
pub fn prepare_document(
    source_id: &str,
    url: &url::Url,
    bytes: &[u8],
    at: DateTime<Utc>,
) -> anyhow::Result<IngestRequest> {
    let extracted = parse_feed(bytes, Some("application/rss+xml"), url, 500)?;
    let limits = FieldLimits::default();
    let items: Vec<_> = extracted
        .items
        .iter()
        .filter_map(|raw| normalize_item(raw, at, &limits))
        .collect();
    let mut request = ingest_request(source_id, items, at);
    request.feed_title = extracted.title;
    Ok(request)
}

/// One poll's items as the store takes them: a plain 200, no validators,
/// no retention limits.
pub fn ingest_request(source_id: &str, items: Vec<Item>, at: DateTime<Utc>) -> IngestRequest {
    IngestRequest {
        source_id: source_id.to_string(),
        items,
        record: PollRecord {
            at,
            status: Some(200),
            error: None,
            duration_ms: 1,
            not_before: None,
            validators: None,
            moved_to: None,
            warning: None,
            resolution: None,
        },
        feed_title: None,
        home_url: None,
        keep_days: None,
        keep_items: None,
        pages: Vec::new(),
    }
}

/// A feed source as `config.toml` would give it.
pub fn source_config(id: &str, url: &url::Url) -> SourceConfig {
    let text = format!(
        "[feed]\ntitle = \"t\"\npublic_url = \"http://127.0.0.1/\"\n[[source]]\nid = \"{id}\"\nurl = \"{url}\"\nkind = \"feed\"\n"
    );
    let config = Config::parse(&text, Path::new("bench.toml")).expect("valid generated config");
    config.sources[0].clone()
}
