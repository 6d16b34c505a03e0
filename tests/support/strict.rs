//! Served feeds read by strict, independent clients instead of the forgiving
//! parsers the code itself uses: libxml2's `xmllint` for well-formed XML with
//! its namespaces, Python's feedparser (the library most feed readers trust)
//! with `bozo` false, and a field-by-field JSON Feed 1.1 check written from
//! the spec (<https://www.jsonfeed.org/version/1.1/>; no Rust crate checks it).
//! Also: what a merged feed credits, and the three formats agreeing entry by entry.

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::Value;

use super::tools;

fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strict client starts");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread: a large feed would fill the pipe while the client fills stdout.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// `xmllint --noout` on `xml`: panics with libxml2's message unless the
/// document is well-formed and namespace-correct XML.
pub fn xmllint(xml: &[u8], what: &str) {
    let out = run_with_stdin(
        Command::new(tools::xmllint()).args(["--noout", "--nonet", "-"]),
        xml,
    );
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{what}: xmllint rejects it:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What feedparser made of a document.
#[derive(Debug, Deserialize)]
pub struct Parsed {
    /// feedparser's name of the format, e.g. `atom10`, `rss20`.
    pub version: String,
    pub entries: Vec<ParsedEntry>,
}

#[derive(Debug, Deserialize)]
pub struct ParsedEntry {
    pub id: Option<String>,
    pub title: Option<String>,
    pub link: Option<String>,
    /// Every link href of the entry (alternate, related, …).
    pub links: Vec<String>,
    /// The HTML content or description.
    pub content: Option<String>,
    pub published: bool,
}

const FEEDPARSER: &str = r#"
import json, sys, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
def content(e):
    if e.get("content"):
        return e["content"][0].get("value")
    return e.get("summary")
print(json.dumps({
    "bozo": bool(d.bozo),
    "bozo_exception": repr(d.get("bozo_exception")),
    "version": d.version,
    "entries": [{
        "id": e.get("id"),
        "title": e.get("title"),
        "link": e.get("link"),
        "links": [l.get("href") for l in e.get("links", [])],
        "content": content(e),
        "published": e.get("published_parsed") is not None,
    } for e in d.entries],
}))
"#;

/// Python feedparser on `feed`: panics unless it parses without `bozo`
/// (feedparser's flag for anything it had to forgive) as `version`.
pub fn feedparser(feed: &[u8], version: &str, what: &str) -> Parsed {
    let out = run_with_stdin(
        Command::new(tools::python_with_feedparser()).args(["-c", FEEDPARSER]),
        feed,
    );
    assert!(
        out.status.success(),
        "{what}: feedparser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["bozo"], false,
        "{what}: feedparser had to forgive it: {}",
        v["bozo_exception"]
    );
    let parsed: Parsed = serde_json::from_value(v).unwrap();
    assert_eq!(parsed.version, version, "{what}: read as another format");
    parsed
}

const TOP_KEYS: &[&str] = &[
    "version",
    "title",
    "home_page_url",
    "feed_url",
    "description",
    "user_comment",
    "next_url",
    "icon",
    "favicon",
    "authors",
    "language",
    "expired",
    "hubs",
    "items",
];
const ITEM_KEYS: &[&str] = &[
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "image",
    "banner_image",
    "date_published",
    "date_modified",
    "authors",
    "tags",
    "language",
    "attachments",
];

/// Checks a JSON Feed 1.1 document field by field: the version URL, the
/// required fields, every known field's type, absolute URLs, RFC 3339
/// dates, authors with at least one field, unique non-empty item ids, no
/// 1.0-only `author`, and no unknown key unless it is an extension (`_…`,
/// an object with `about`). Returns the parsed document.
pub fn json_feed_1_1(body: &[u8], what: &str) -> Value {
    let doc: Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    let mut problems = Vec::new();
    let top = doc.as_object().expect("a JSON Feed is an object");
    if doc["version"] != "https://jsonfeed.org/version/1.1" {
        problems.push(format!("version is {}", doc["version"]));
    }
    check_object(top, TOP_KEYS, "feed", &mut problems);
    if !doc["title"].is_string() {
        problems.push("feed: title missing".into());
    }
    for key in ["home_page_url", "feed_url", "next_url", "icon", "favicon"] {
        check_url(&doc[key], &format!("feed.{key}"), &mut problems);
    }
    for key in ["description", "user_comment", "language"] {
        check_string(&doc[key], &format!("feed.{key}"), &mut problems);
    }
    if !(doc["expired"].is_null() || doc["expired"].is_boolean()) {
        problems.push("feed.expired is not a boolean".into());
    }
    check_authors(&doc["authors"], "feed", &mut problems);
    if let Some(hubs) = non_null(&doc["hubs"]) {
        for (i, hub) in hubs.as_array().into_iter().flatten().enumerate() {
            if !hub["type"].is_string() {
                problems.push(format!("hubs[{i}].type missing"));
            }
            check_url(&hub["url"], &format!("hubs[{i}].url"), &mut problems);
            if hub["url"].is_null() {
                problems.push(format!("hubs[{i}].url missing"));
            }
        }
        if !hubs.is_array() {
            problems.push("feed.hubs is not an array".into());
        }
    }
    let mut ids = HashSet::new();
    match doc["items"].as_array() {
        None => problems.push("feed: items missing".into()),
        Some(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("items[{i}]");
                let Some(obj) = item.as_object() else {
                    problems.push(format!("{at} is not an object"));
                    continue;
                };
                check_object(obj, ITEM_KEYS, &at, &mut problems);
                match item["id"].as_str() {
                    Some(id) if !id.is_empty() => {
                        if !ids.insert(id.to_string()) {
                            problems.push(format!("{at}: id {id} used twice"));
                        }
                    }
                    _ => problems.push(format!("{at}: id must be a non-empty string")),
                }
                if !item["content_html"].is_string() && !item["content_text"].is_string() {
                    problems.push(format!("{at}: neither content_html nor content_text"));
                }
                for key in ["url", "external_url", "image", "banner_image"] {
                    check_url(&item[key], &format!("{at}.{key}"), &mut problems);
                }
                for key in [
                    "title",
                    "content_html",
                    "content_text",
                    "summary",
                    "language",
                ] {
                    check_string(&item[key], &format!("{at}.{key}"), &mut problems);
                }
                for key in ["date_published", "date_modified"] {
                    if let Some(d) = non_null(&item[key]) {
                        if d.as_str()
                            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                            .is_none()
                        {
                            problems.push(format!("{at}.{key} is not RFC 3339: {d}"));
                        }
                    }
                }
                check_authors(&item["authors"], &at, &mut problems);
                if let Some(tags) = non_null(&item["tags"]) {
                    if !tags
                        .as_array()
                        .is_some_and(|t| t.iter().all(Value::is_string))
                    {
                        problems.push(format!("{at}.tags is not an array of strings"));
                    }
                }
                if let Some(att) = non_null(&item["attachments"]) {
                    for (j, a) in att.as_array().into_iter().flatten().enumerate() {
                        if a["url"].is_null() || !a["mime_type"].is_string() {
                            problems.push(format!("{at}.attachments[{j}] needs url and mime_type"));
                        }
                        check_url(
                            &a["url"],
                            &format!("{at}.attachments[{j}].url"),
                            &mut problems,
                        );
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{what} is not valid JSON Feed 1.1:\n{}",
        problems.join("\n")
    );
    doc
}

fn non_null(v: &Value) -> Option<&Value> {
    (!v.is_null()).then_some(v)
}

fn check_object(
    obj: &serde_json::Map<String, Value>,
    known: &[&str],
    at: &str,
    problems: &mut Vec<String>,
) {
    for (key, value) in obj {
        if key == "author" {
            problems.push(format!(
                "{at}: `author` is JSON Feed 1.0; 1.1 uses `authors`"
            ));
        } else if let Some(_ext) = key.strip_prefix('_') {
            if !value["about"].is_string() {
                problems.push(format!(
                    "{at}.{key}: an extension object names its `about` URL"
                ));
            }
        } else if !known.contains(&key.as_str()) {
            problems.push(format!("{at}: unknown key `{key}`"));
        }
    }
}

fn check_string(v: &Value, at: &str, problems: &mut Vec<String>) {
    if !(v.is_null() || v.is_string()) {
        problems.push(format!("{at} is not a string"));
    }
}

fn check_url(v: &Value, at: &str, problems: &mut Vec<String>) {
    if v.is_null() {
        return;
    }
    match v.as_str().map(url::Url::parse) {
        Some(Ok(u)) if matches!(u.scheme(), "http" | "https") => {}
        _ => problems.push(format!("{at} is not an absolute http(s) URL: {v}")),
    }
}

fn check_authors(v: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(authors) = non_null(v) else { return };
    let Some(authors) = authors.as_array() else {
        problems.push(format!("{at}.authors is not an array"));
        return;
    };
    for (i, a) in authors.iter().enumerate() {
        let fields = ["name", "url", "avatar"];
        if !fields.iter().any(|f| a[*f].is_string()) {
            problems.push(format!("{at}.authors[{i}] has no name, url or avatar"));
        }
        check_string(&a["name"], &format!("{at}.authors[{i}].name"), problems);
        check_url(&a["url"], &format!("{at}.authors[{i}].url"), problems);
        check_url(&a["avatar"], &format!("{at}.authors[{i}].avatar"), problems);
    }
}

/// Every (source id, that source's link) a merged JSON Feed credits: one per
/// stored item, however the items are grouped into stories.
pub fn credited(feed: &Value) -> Vec<(String, Option<String>)> {
    feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .flat_map(|item| item["_revierfeed"]["sources"].as_array().expect("sources"))
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["url"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// The number of items a served JSON Feed credits (see [`credited`]); 0 if
/// `text` is not a feed yet.
pub fn credited_items(text: &str) -> usize {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v["items"].is_array())
        .map_or(0, |v| credited(&v).len())
}

/// The served Atom, RSS and JSON Feed of one feed read by the strict clients,
/// checked to carry the same entries in the same order, with the same ids,
/// titles and links, and every partner of a merged story credited in each
/// format (Atom: a link to each partner's article; RSS: the credits in the
/// description). Returns the JSON Feed and how many entries merge several items.
pub fn three_formats_agree(atom: &[u8], rss: &[u8], json: &[u8], what: &str) -> (Value, usize) {
    xmllint(atom, &format!("{what} Atom"));
    xmllint(rss, &format!("{what} RSS"));
    let a = feedparser(atom, "atom10", &format!("{what} Atom"));
    let r = feedparser(rss, "rss20", &format!("{what} RSS"));
    let j = json_feed_1_1(json, &format!("{what} JSON Feed"));
    let items = j["items"].as_array().unwrap();
    assert_eq!(
        a.entries.len(),
        items.len(),
        "{what}: Atom and JSON entries"
    );
    assert_eq!(r.entries.len(), items.len(), "{what}: RSS and JSON entries");
    let mut merged = 0;
    for (i, item) in items.iter().enumerate() {
        let (ae, re) = (&a.entries[i], &r.entries[i]);
        let id = item["id"].as_str().unwrap();
        let at = format!("{what}: entry {i} ({id})");
        assert_eq!(ae.id.as_deref(), Some(id), "{at}: Atom id");
        assert_eq!(re.id.as_deref(), Some(id), "{at}: RSS guid");
        assert!(
            ae.published && re.published,
            "{at}: a date feedparser reads"
        );
        let title = item["title"].as_str();
        assert_eq!(ae.title.as_deref(), title, "{at}: Atom title");
        assert_eq!(re.title.as_deref(), title, "{at}: RSS title");
        let link = item["url"].as_str();
        assert_eq!(ae.link.as_deref(), link, "{at}: Atom link");
        assert_eq!(re.link.as_deref(), link, "{at}: RSS link");
        let sources = item["_revierfeed"]["sources"].as_array().unwrap();
        if sources.len() > 1 {
            merged += 1;
        }
        for s in sources {
            let Some(url) = s["url"].as_str() else {
                continue;
            };
            assert!(
                ae.links.iter().any(|l| l == url),
                "{at}: Atom does not link {}'s article {url}",
                s["id"]
            );
            for (format, content) in [("Atom", &ae.content), ("RSS", &re.content)] {
                // In HTML an `&` of the link is written `&amp;`.
                let escaped = url.replace('&', "&amp;");
                assert!(
                    content
                        .as_deref()
                        .is_some_and(|c| c.contains(url) || c.contains(&escaped)),
                    "{at}: the {format} content does not credit {}'s article {url}",
                    s["id"]
                );
            }
        }
    }
    (j, merged)
}
