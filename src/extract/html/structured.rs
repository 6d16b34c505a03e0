//! Machine-readable metadata inside HTML: JSON-LD (schema.org Article types,
//! `@graph` with `@id` references, ItemList), microdata (`itemprop`), and
//! `<meta>` tags (OpenGraph, article:*, Dublin Core, name=author/date).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use scraper::{ElementRef, Html};
use serde_json::Value;

use super::{sel, text_of};
use crate::extract::dates::parse_timestamp;

/// What schema.org data says about an article.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ArticleData {
    pub headline: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub description: Option<String>,
    pub sections: Vec<String>,
    pub url: Option<String>,
}

const ARTICLE_TYPES: &[&str] = &[
    "Article",
    "NewsArticle",
    "BlogPosting",
    "Report",
    "ScholarlyArticle",
    "TechArticle",
    "AnalysisNewsArticle",
    "ReportageNewsArticle",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "PressRelease",
    "SocialMediaPosting",
    "LiveBlogPosting",
    "Blog",
    "Posting",
];

/// Every JSON-LD object on the page, with `@graph` arrays flattened.
/// Invalid JSON in one script block is skipped (CMS plugins often emit some).
pub fn json_ld_nodes(doc: &Html) -> Vec<Value> {
    let mut out = Vec::new();
    for_each_json_ld(doc, |block| {
        if let Ok(value) = block {
            flatten(value, &mut out, 0);
        }
    });
    out
}

/// Every JSON-LD script block of the page up to 1 MB, parsed, or its raw
/// text when it is no valid JSON.
fn for_each_json_ld(doc: &Html, mut block: impl FnMut(Result<Value, &str>)) {
    for script in doc.select(&sel(r#"script[type="application/ld+json"]"#)) {
        let raw: String = script.text().collect();
        if raw.len() > 1_000_000 {
            continue;
        }
        match serde_json::from_str::<Value>(unwrapped(&raw)) {
            Ok(value) => block(Ok(value)),
            Err(_) => block(Err(&raw)),
        }
    }
}

/// The JSON inside a script block, without the `<![CDATA[ … ]]>` or
/// `<!-- … -->` wrapper XHTML-minded templates put around it (JSON parsers
/// refuse the wrapper, so the whole block would be lost).
fn unwrapped(raw: &str) -> &str {
    let mut s = raw.trim();
    for (open, close) in [("<![CDATA[", "]]>"), ("<!--", "-->")] {
        // Also the script-comment forms "//<![CDATA[" … "//]]>".
        let body = s.trim_start_matches('/').trim_start();
        if let Some(rest) = body.strip_prefix(open) {
            let rest = rest.trim_end();
            let rest = rest.strip_suffix(close).unwrap_or(rest).trim_end();
            s = rest.trim_end_matches('/').trim();
        }
    }
    s
}

fn flatten(v: Value, out: &mut Vec<Value>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Array(items) => items.into_iter().for_each(|i| flatten(i, out, depth + 1)),
        Value::Object(mut map) => {
            if let Some(graph) = map.remove("@graph") {
                flatten(graph, out, depth + 1);
            }
            if map.contains_key("@type") {
                out.push(Value::Object(map));
            }
        }
        _ => {}
    }
}

fn types(v: &Value) -> Vec<&str> {
    match v.get("@type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(crate::text::collapse_whitespace(s)).filter(|s| !s.is_empty()),
        Value::Array(a) => a.iter().find_map(|x| string(Some(x))),
        Value::Object(o) => string(o.get("@value").or_else(|| o.get("name"))),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Person/Organization names, following `@id` references into the graph.
fn names(v: Option<&Value>, graph: &[Value]) -> Vec<String> {
    let Some(v) = v else { return vec![] };
    match v {
        Value::String(s) => vec![s.trim().to_string()]
            .into_iter()
            .filter(|s| !s.is_empty() && !s.starts_with("http"))
            .collect(),
        Value::Array(a) => a.iter().flat_map(|x| names(Some(x), graph)).collect(),
        Value::Object(o) => {
            if let Some(name) = o.get("name").and_then(|n| string(Some(n))) {
                return vec![name];
            }
            let Some(id) = o.get("@id").and_then(Value::as_str) else {
                return vec![];
            };
            graph
                .iter()
                .find(|n| n.get("@id").and_then(Value::as_str) == Some(id))
                .and_then(|n| n.get("name").and_then(|x| string(Some(x))))
                .into_iter()
                .collect()
        }
        _ => vec![],
    }
}

/// The page's main schema.org article, if it declares one.
pub fn json_ld_article(doc: &Html) -> Option<ArticleData> {
    let graph = json_ld_nodes(doc);
    let node = graph
        .iter()
        .find(|n| types(n).iter().any(|t| ARTICLE_TYPES.contains(t)))?;
    let date = |key: &str| string(node.get(key)).and_then(|s| parse_timestamp(&s));
    let sections = match node.get("articleSection") {
        Some(Value::Array(a)) => a.iter().filter_map(|x| string(Some(x))).collect(),
        Some(v) => string(Some(v)).into_iter().collect(),
        None => vec![],
    };
    Some(ArticleData {
        headline: string(node.get("headline")).or_else(|| string(node.get("name"))),
        published: date("datePublished").or_else(|| date("dateCreated")),
        modified: date("dateModified"),
        authors: names(node.get("author"), &graph),
        description: string(node.get("description")),
        sections,
        url: string(node.get("url")).or_else(|| match node.get("mainEntityOfPage") {
            Some(Value::Object(o)) => string(o.get("@id")),
            other => string(other),
        }),
    })
}

/// What kind of schema.org node gave a date: an article's own date is
/// worth more than a web page's, and some types never date the article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Article,
    WebPage,
    Other,
}

/// One date a JSON-LD node states, with the node's headline and URL so the
/// caller can tell the page's own article from related ones.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LdDate {
    pub value: String,
    /// `dateModified` rather than `datePublished`/`dateCreated`/`uploadDate`.
    pub modified: bool,
    /// `dateCreated`/`uploadDate`, weaker than `datePublished`.
    pub secondary: bool,
    pub kind: NodeKind,
    pub headline: Option<String>,
    pub url: Option<String>,
}

/// Types whose dates are never the article's: the site, its publisher,
/// people, pictures, events, breadcrumbs and lists of other articles.
const UNDATED_TYPES: &[&str] = &[
    "WebSite",
    "Organization",
    "NewsMediaOrganization",
    "GovernmentOrganization",
    "Corporation",
    "LocalBusiness",
    "Person",
    "ImageObject",
    "VideoObject",
    "AudioObject",
    "BreadcrumbList",
    "ItemList",
    "ListItem",
    "SiteNavigationElement",
    "Event",
    "Place",
    "PostalAddress",
    "Product",
    "Offer",
    "Comment",
    "Rating",
    "SearchAction",
];

fn node_kind(v: &Value) -> Option<NodeKind> {
    let ts = types(v);
    if ts
        .iter()
        .any(|t| ARTICLE_TYPES.contains(t) || t.ends_with("Article") || t.ends_with("Posting"))
    {
        return Some(NodeKind::Article);
    }
    if ts
        .iter()
        .any(|t| t.ends_with("WebPage") || t.ends_with("Page"))
    {
        return Some(NodeKind::WebPage);
    }
    if ts.iter().any(|t| UNDATED_TYPES.contains(t)) {
        return None;
    }
    Some(NodeKind::Other)
}

/// Every publication and modification date in the page's JSON-LD, from
/// nodes of any type that can date an article (Article family, WebPage,
/// other creative works), inside `@graph`, arrays and `mainEntity`.
pub(crate) fn json_ld_dates(doc: &Html) -> Vec<LdDate> {
    let mut out = Vec::new();
    let mut nodes = Vec::new();
    for_each_json_ld(doc, |block| match block {
        Ok(value) => flatten(value, &mut nodes, 0),
        // CMS plugins write raw line breaks or stray commas into their JSON:
        // the dates are still there to be read, from a node of unknown type.
        Err(raw) => out.extend(dates_in_broken_json(raw)),
    });
    let nested: Vec<Value> = nodes
        .iter()
        .filter_map(|n| n.get("mainEntity"))
        .cloned()
        .collect();
    for v in nested {
        flatten(v, &mut nodes, 1);
    }
    for node in nodes.iter().take(200) {
        let Some(kind) = node_kind(node) else {
            continue;
        };
        let headline = string(node.get("headline")).or_else(|| string(node.get("name")));
        let url = string(node.get("url")).or_else(|| string(node.get("@id")));
        for (key, modified, secondary) in [
            ("datePublished", false, false),
            ("dateCreated", false, true),
            ("uploadDate", false, true),
            ("dateModified", true, false),
        ] {
            if let Some(value) = string(node.get(key)) {
                out.push(LdDate {
                    value,
                    modified,
                    secondary,
                    kind,
                    headline: headline.clone(),
                    url: url.clone(),
                });
            }
        }
    }
    out
}

static JSON_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(datePublished|dateCreated|dateModified)"\s*:\s*"([^"]{6,40})""#)
        .expect("valid regex")
});

/// Dates in a JSON-LD block that is not valid JSON: the first of each key.
fn dates_in_broken_json(raw: &str) -> Vec<LdDate> {
    let mut out: Vec<LdDate> = Vec::new();
    for c in JSON_DATE.captures_iter(raw).take(20) {
        let modified = &c[1] == "dateModified";
        let secondary = &c[1] == "dateCreated";
        if out
            .iter()
            .any(|d| d.modified == modified && d.secondary == secondary)
        {
            continue;
        }
        out.push(LdDate {
            value: c[2].to_string(),
            modified,
            secondary,
            kind: NodeKind::Other,
            headline: None,
            url: None,
        });
    }
    out
}

/// Links and names of a schema.org ItemList (a listing page that describes itself).
pub fn json_ld_item_list(doc: &Html) -> Vec<(String, Option<String>)> {
    let graph = json_ld_nodes(doc);
    let mut out = Vec::new();
    for list in graph.iter().filter(|n| types(n).contains(&"ItemList")) {
        let Some(Value::Array(items)) = list.get("itemListElement") else {
            continue;
        };
        for it in items {
            let inner = it.get("item");
            let url = string(it.get("url")).or_else(|| {
                inner.and_then(|i| string(i.get("url")).or_else(|| string(i.get("@id"))))
            });
            let name = string(it.get("name")).or_else(|| {
                inner.and_then(|i| string(i.get("headline")).or_else(|| string(i.get("name"))))
            });
            if let Some(url) = url {
                out.push((url, name));
            }
        }
    }
    out
}

/// Value of a microdata property within `scope`: `content`, `datetime`, or the text.
pub fn itemprop(scope: &ElementRef, prop: &str) -> Option<String> {
    let css = format!("[itemprop~={prop}]");
    let el = scope.select(&sel(&css)).next()?;
    let v = el.value();
    v.attr("content")
        .or_else(|| v.attr("datetime"))
        .map(crate::text::collapse_whitespace)
        .or_else(|| {
            // An author is usually a Person scope with a name inside.
            el.select(&sel("[itemprop~=name]"))
                .next()
                .map(|n| text_of(&n))
        })
        .or_else(|| Some(text_of(&el)))
        .filter(|s| !s.is_empty())
}

/// A `<meta>` value by `property` or `name` (case-insensitive), e.g. `og:title`, `author`.
pub fn meta(doc: &Html, key: &str) -> Option<String> {
    doc.select(&sel("meta[content]"))
        .find(|m| {
            let v = m.value();
            v.attr("property")
                .or_else(|| v.attr("name"))
                .or_else(|| v.attr("itemprop"))
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
        })
        .and_then(|m| m.value().attr("content"))
        .map(crate::text::collapse_whitespace)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yoast_graph_with_author_reference() {
        let html = r##"<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
            {"@type":"WebPage","@id":"x","datePublished":"2026-09-20T09:00:00+00:00"},
            {"@type":"BlogPosting","headline":"Azubis gesucht","datePublished":"2026-09-20T11:00:00+02:00","author":{"@id":"#p1"},"articleSection":["Fachkräfte"]},
            {"@type":"Person","@id":"#p1","name":"Ronny Kaschube"}]}</script>
            <script type="application/ld+json">{ broken json</script>"##;
        let a = json_ld_article(&Html::parse_document(html)).unwrap();
        assert_eq!(a.headline.as_deref(), Some("Azubis gesucht"));
        assert_eq!(a.published, Some("2026-09-20T09:00:00Z".parse().unwrap()));
        assert_eq!(a.authors, vec!["Ronny Kaschube"]);
        assert_eq!(a.sections, vec!["Fachkräfte"]);
    }

    #[test]
    fn json_ld_wrapped_in_cdata_or_a_comment_is_read() {
        for (open, close) in [
            ("<![CDATA[", "]]>"),
            ("//<![CDATA[", "//]]>"),
            ("<!--", "-->"),
        ] {
            let html = format!(
                r#"<script type="application/ld+json">
                {open}
                {{"@type":"NewsArticle","headline":"H","datePublished":"2015-10-15T02:19:15Z"}}
                {close}
                </script>"#
            );
            let doc = Html::parse_document(&html);
            let dates = json_ld_dates(&doc);
            assert_eq!(dates.len(), 1, "{open}");
            assert_eq!(
                (dates[0].value.as_str(), dates[0].kind),
                ("2015-10-15T02:19:15Z", NodeKind::Article),
                "{open}: the node's type is known, not guessed from broken JSON"
            );
            assert_eq!(
                json_ld_article(&doc).unwrap().headline.as_deref(),
                Some("H")
            );
        }
    }

    #[test]
    fn organization_author_and_item_list() {
        let html = r#"<script type="application/ld+json">[{"@type":"NewsArticle","headline":"H","author":[{"@type":"Organization","name":"Geschäftsstelle"}]},
            {"@type":"ItemList","itemListElement":[{"@type":"ListItem","position":1,"url":"/a","name":"A"},{"@type":"ListItem","item":{"@id":"/b","headline":"B"}}]}]</script>"#;
        let doc = Html::parse_document(html);
        assert_eq!(
            json_ld_article(&doc).unwrap().authors,
            vec!["Geschäftsstelle"]
        );
        assert_eq!(
            json_ld_item_list(&doc),
            vec![
                ("/a".into(), Some("A".into())),
                ("/b".into(), Some("B".into()))
            ]
        );
    }

    #[test]
    fn dates_from_any_node_that_can_date_an_article_even_in_broken_json() {
        let html = r#"<script type="application/ld+json">{"@graph":[{"@type":"WebSite","datePublished":"2010-01-01"},
            {"@type":"ImageObject","uploadDate":"2022-01-01"},{"@type":"WebPage","datePublished":"2022-04-12","dateModified":"2022-04-13"}]}</script>
            <script type="application/ld+json">{"@type":"NewsArticle","headline":"Zwei
            Zeilen","datePublished":"2021-02-08T15:00:00+01:00",}</script>"#;
        let dates = json_ld_dates(&Html::parse_document(html));
        let got: Vec<(&str, bool, NodeKind)> = dates
            .iter()
            .map(|d| (d.value.as_str(), d.modified, d.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("2021-02-08T15:00:00+01:00", false, NodeKind::Other),
                ("2022-04-12", false, NodeKind::WebPage),
                ("2022-04-13", true, NodeKind::WebPage),
            ],
            "the site's and the picture's dates are not the article's"
        );
    }

    #[test]
    fn meta_and_microdata() {
        let html = r#"<head><meta property="article:published_time" content="2026-02-28T23:15:00+00:00"><meta name="Author" content="Ronny"></head>
            <body><div itemscope itemtype="http://schema.org/Article"><span itemprop="headline"> Titel </span><time itemprop="datePublished" datetime="2026-03-01">1. März</time>
            <span itemprop="author" itemscope><span itemprop="name">Esther</span></span></div></body>"#;
        let doc = Html::parse_document(html);
        assert_eq!(
            meta(&doc, "article:published_time").as_deref(),
            Some("2026-02-28T23:15:00+00:00")
        );
        assert_eq!(meta(&doc, "author").as_deref(), Some("Ronny"));
        let root = doc.root_element();
        assert_eq!(itemprop(&root, "headline").as_deref(), Some("Titel"));
        assert_eq!(
            itemprop(&root, "datePublished").as_deref(),
            Some("2026-03-01")
        );
        assert_eq!(itemprop(&root, "author").as_deref(), Some("Esther"));
    }
}
