//! The sample partner sites' answer keys (`tests/fixtures/partners/*/site.toml`):
//! what each site publishes, how it is served, and the items a poll must yield;
//! and the rows of the tab-separated answer keys of the other corpora.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Where the sample sites live.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/partners")
}

/// One answer-key entry of a site.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    pub title: String,
    pub link: String,
    pub published: Option<String>,
    pub author: Option<String>,
    pub story: Option<String>,
    #[serde(default)]
    pub content_must_not_contain: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct FileRule {
    pub(super) path: String,
    pub(super) content_type: Option<String>,
    pub(super) file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Snapshot {
    pub(super) path: String,
    pub(super) poll: usize,
    pub(super) file: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SiteToml {
    pub name: String,
    pub entry: String,
    pub kind: String,
    pub feed: Option<String>,
    #[serde(default)]
    pub(super) files: Vec<FileRule>,
    #[serde(default)]
    pub(super) snapshots: Vec<Snapshot>,
    #[serde(default)]
    pub expected: Vec<Expected>,
}

pub fn site(name: &str) -> SiteToml {
    try_site(name).unwrap_or_else(|| panic!("no fixture site {name}"))
}

pub(super) fn try_site(name: &str) -> Option<SiteToml> {
    let text = std::fs::read_to_string(fixtures().join(name).join("site.toml")).ok()?;
    Some(toml::from_str(&text).unwrap())
}

/// Whether a published time matches an answer-key value (a date, or a full RFC 3339 time).
pub fn published_matches(expected: &str, actual: DateTime<Utc>) -> bool {
    if let Ok(t) = DateTime::parse_from_rfc3339(expected) {
        return t.with_timezone(&Utc) == actual;
    }
    let day = chrono::NaiveDate::parse_from_str(expected, "%Y-%m-%d").expect("answer key date");
    actual
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
        == day
        && actual.date_naive() == day
}

/// The rows of a tab-separated answer key, each with exactly `columns`
/// fields; lines starting with `#` and blank lines are skipped.
pub fn tsv_rows(text: &str, columns: usize) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let row: Vec<String> = l.split('\t').map(str::to_string).collect();
            assert_eq!(row.len(), columns, "{columns} tab-separated columns: {l}");
            row
        })
        .collect()
}
