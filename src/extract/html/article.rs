//! What an article page says about itself, field by field and by trust:
//! JSON-LD, microdata, OpenGraph/meta tags, `<time datetime>`, and finally
//! the visible page (headline, labelled "Datum"/"Autor" blocks, the body),
//! with page chrome (menus, sidebars, "Ähnliche Beiträge") left out.

use chrono::{DateTime, Utc};
use scraper::ElementRef;
use serde::{Deserialize, Serialize};
use url::Url;

use super::listing::{FieldSelector, clean_author};
use super::structured::{itemprop, json_ld_article};
use super::{Page, is_chrome_own, sel, text_of};
use crate::extract::dates::{broken_date, find_date, parse_timestamp};

/// Extracted article fields; serialisable so unchanged pages need not be fetched again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Base for relative URLs in the content.
    pub base: Url,
    pub canonical: Option<Url>,
    /// Headline from JSON-LD or microdata.
    pub title_structured: Option<String>,
    /// The page's `<h1>`, else its OpenGraph/`<title>` without the site name.
    pub title_visible: Option<String>,
    /// JSON-LD, microdata, `article:published_time` or Dublin Core.
    pub published_structured: Option<DateTime<Utc>>,
    /// A `<time datetime>` inside the article.
    pub published_time_element: Option<DateTime<Utc>>,
    /// A date shown near the headline or labelled "Datum".
    pub published_visible: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub description: Option<String>,
    /// The body as found (unsanitised; `normalize` sanitises).
    pub content_html: Option<String>,
    pub categories: Vec<String>,
    /// A labelled date that is impossible ("13.02.206"), reported once and never used.
    #[serde(default)]
    pub broken_date: Option<String>,
    /// The picture the page declares for itself (`lead_image`).
    #[serde(default)]
    pub image: Option<crate::model::Media>,
}

/// The element holding the article: a schema.org Article scope, an `<article>`, or the main area.
fn container(page: &Page) -> Option<ElementRef<'_>> {
    let candidates = [
        r#"[itemscope][itemtype*="Article"], [itemscope][itemtype*="BlogPosting"], [itemscope][itemtype*="NewsArticle"]"#,
        "article",
        "main, [role=main]",
        "#content, #main, #inhalt, .content, #primary",
    ];
    for css in candidates {
        let found: Vec<ElementRef> = page
            .doc
            .select(&sel(css))
            .filter(|e| !page.in_chrome(e))
            .collect();
        // Prefer the one that holds the page headline.
        if let Some(e) = found
            .iter()
            .find(|e| e.select(&sel("h1")).next().is_some())
            .or(found.first())
        {
            return Some(*e);
        }
    }
    page.doc.select(&sel("body")).next()
}

/// The page's main area: `<main>`, else the body.
fn main_area(page: &Page) -> Option<ElementRef<'_>> {
    page.doc
        .select(&sel("main, [role=main]"))
        .find(|e| !page.in_chrome(e))
        .or_else(|| page.doc.select(&sel("body")).next())
}

const LABELS_DATE: &[&str] = &[
    "datum",
    "veröffentlicht",
    "veröffentlicht am",
    "erschienen",
    "erschienen am",
    "publiziert",
    "publiziert am",
    "date",
    "published",
];
const LABELS_AUTHOR: &[&str] = &[
    "autor",
    "autorin",
    "autor/in",
    "autorinnen",
    "verfasser",
    "verfasserin",
    "text",
    "von",
    "author",
    "redaktion",
];

/// The value following a label element such as `<h4>Datum</h4><p>13.02.2026</p>`.
fn labelled(page: &Page, scope: &ElementRef, labels: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for el in scope.descendent_elements() {
        if page.in_chrome(&el) || el.child_elements().next().is_some() {
            continue;
        }
        let own = text_of(&el).trim_end_matches(':').trim().to_lowercase();
        if !labels.contains(&own.as_str()) {
            continue;
        }
        let next = el
            .next_siblings()
            .filter_map(ElementRef::wrap)
            .next()
            .or_else(|| {
                el.parent()
                    .and_then(|p| p.next_siblings().filter_map(ElementRef::wrap).next())
            });
        if let Some(n) = next {
            out.push(text_of(&n));
        }
    }
    out
}

fn plausible_name(s: &str) -> bool {
    let words = s.split_whitespace().count();
    (1..=6).contains(&words)
        && s.chars().count() <= 80
        && !s.contains("http")
        && !s.chars().any(|c| c.is_ascii_digit())
}

/// Strips " - Site Name" from an OpenGraph or `<title>` headline.
fn without_site_name(title: &str, site: Option<&str>) -> String {
    for sep in [" - ", " | ", " – ", " — ", " :: ", " · "] {
        if let Some(site) = site {
            if let Some(stripped) = title.strip_suffix(&format!("{sep}{site}")) {
                return stripped.trim().to_string();
            }
        }
    }
    match site {
        Some(_) => title.to_string(),
        // Without a known site name, cut at the last separator only if what remains is substantial.
        None => [" | ", " - ", " – "]
            .iter()
            .find_map(|sep| {
                title
                    .rsplit_once(sep)
                    .filter(|(head, tail)| head.chars().count() > 20 && tail.chars().count() < 40)
                    .map(|(h, _)| h.trim().to_string())
            })
            .unwrap_or_else(|| title.to_string()),
    }
}

pub fn parse_article(page: &Page, content_selector: Option<&FieldSelector>) -> Article {
    let ld = json_ld_article(&page.doc).unwrap_or_default();
    let scope = container(page);
    let micro = |prop: &str| scope.as_ref().and_then(|s| itemprop(s, prop));
    let meta = |k: &str| page.meta(k);

    let h1_sel = sel("h1");
    let h1 = scope
        .iter()
        .flat_map(|s| s.select(&h1_sel))
        .chain(page.doc.select(&h1_sel))
        .find(|h| !page.in_chrome(h))
        .map(|h| text_of(&h))
        .filter(|t| !t.is_empty());
    let site_name = meta("og:site_name");
    let og_title = meta("og:title").map(|t| without_site_name(&t, site_name.as_deref()));
    let html_title = page
        .doc
        .select(&sel("title"))
        .next()
        .map(|t| without_site_name(&text_of(&t), site_name.as_deref()));

    let published_structured = ld
        .published
        .or_else(|| micro("datePublished").and_then(|d| parse_timestamp(&d)))
        .or_else(|| meta("article:published_time").and_then(|d| parse_timestamp(&d)))
        .or_else(|| {
            [
                "dc.date.issued",
                "dcterms.issued",
                "dc.date",
                "date",
                "pubdate",
                "publishdate",
                "publish-date",
            ]
            .iter()
            .find_map(|k| meta(k).and_then(|d| parse_timestamp(&d)))
        });
    let updated = ld
        .modified
        .or_else(|| micro("dateModified").and_then(|d| parse_timestamp(&d)))
        .or_else(|| meta("article:modified_time").and_then(|d| parse_timestamp(&d)));
    let published_time_element = scope.as_ref().and_then(|s| {
        let times: Vec<ElementRef> = s
            .select(&sel("time[datetime]"))
            .filter(|t| !page.in_chrome(t))
            .collect();
        let is_update = |t: &ElementRef| {
            t.value()
                .classes()
                .any(|c| c.contains("updated") || c.contains("modified"))
        };
        times
            .iter()
            .filter(|t| !is_update(t))
            .find_map(|t| parse_timestamp(t.value().attr("datetime")?))
    });
    let labelled_dates = main_area(page)
        .map(|m| labelled(page, &m, LABELS_DATE))
        .unwrap_or_default();
    let published_visible = scope
        .as_ref()
        .and_then(|s| visible_date(page, s, h1.as_deref()))
        .or_else(|| labelled_dates.iter().find_map(|t| find_date(t)));
    let impossible_date = labelled_dates.iter().find_map(|t| broken_date(t));

    let mut authors: Vec<String> = ld.authors.clone();
    if authors.is_empty() {
        authors.extend(
            micro("author")
                .map(|a| clean_author(&a))
                .filter(|a| plausible_name(a)),
        );
    }
    if authors.is_empty() {
        authors.extend(
            meta("author")
                .or_else(|| meta("article:author"))
                .or_else(|| meta("dc.creator"))
                .filter(|a| plausible_name(a)),
        );
    }
    if authors.is_empty() {
        // The article element first, then the whole main area (CMSs put "Autor" boxes beside the article).
        let main = main_area(page);
        for area in scope.iter().chain(main.iter()) {
            let byline = area
                .select(&sel(
                    "[rel~=author], [class*=author], [class*=byline], [class*=autor], .vcard",
                ))
                .filter(|e| !page.in_chrome(e))
                .map(|e| clean_author(&text_of(&e)))
                .find(|a| plausible_name(a));
            if let Some(a) = byline.or_else(|| {
                labelled(page, area, LABELS_AUTHOR)
                    .into_iter()
                    .map(|a| clean_author(&a))
                    .find(|a| plausible_name(a))
            }) {
                authors.push(a);
                break;
            }
        }
    }

    let mut categories = ld.sections.clone();
    for key in ["article:section", "article:tag"] {
        for m in page.doc.select(&sel("meta[content]")) {
            let v = m.value();
            if v.attr("property")
                .or_else(|| v.attr("name"))
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
            {
                if let Some(c) = v
                    .attr("content")
                    .map(str::trim)
                    .filter(|c| !c.is_empty() && !categories.iter().any(|x| x == c))
                {
                    categories.push(c.to_string());
                }
            }
        }
    }

    Article {
        base: page.base.clone(),
        canonical: page.canonical(),
        title_structured: ld.headline.clone().or_else(|| micro("headline")),
        title_visible: h1
            .clone()
            .or(og_title)
            .or(html_title)
            .filter(|t| !t.is_empty()),
        published_structured,
        published_time_element,
        published_visible,
        updated,
        authors,
        description: ld
            .description
            .clone()
            .or_else(|| meta("og:description"))
            .or_else(|| meta("description")),
        content_html: body(page, scope.as_ref(), content_selector),
        categories,
        broken_date: impossible_date,
        image: super::lead_image::lead_image(page),
    }
}

/// A date shown as text: in date-marked elements, after a "Datum" label, or right below the headline.
fn visible_date(page: &Page, scope: &ElementRef, headline: Option<&str>) -> Option<DateTime<Utc>> {
    let hinted = scope
        .descendent_elements()
        .filter(|e| !page.in_chrome(e))
        .find_map(|e| {
            let v = e.value();
            let hint = v.id().into_iter().chain(v.classes()).any(|c| {
                let c = c.to_ascii_lowercase();
                ["date", "datum", "posted", "published", "veroeffentlicht"]
                    .iter()
                    .any(|w| c.contains(w))
                    && !c.contains("update")
                    && !c.contains("related")
            });
            if hint { find_date(&text_of(&e)) } else { None }
        });
    if hinted.is_some() {
        return hinted;
    }
    if let Some(d) = labelled(page, scope, LABELS_DATE)
        .iter()
        .find_map(|t| find_date(t))
    {
        return Some(d);
    }
    // Just below the headline, where bylines put the date; never deep in the body text.
    let text = text_of(scope);
    let after = match headline.and_then(|h| text.find(h).map(|i| i + h.len())) {
        Some(i) => &text[i..],
        None => &text[..],
    };
    let window: String = after.chars().take(120).collect();
    find_date(&window)
}

const BODY_HINTS: &[&str] = &[
    "entry-content",
    "post-content",
    "article-content",
    "article-body",
    "article__body",
    "articlebody",
    "news-text",
    "article-text",
    "content-text",
    "text-content",
    "bodytext",
    "story-body",
    "post-body",
    "field-body",
    "rte",
    "news-body",
    "beitrag",
    "artikel",
];

fn body(
    page: &Page,
    scope: Option<&ElementRef>,
    selector: Option<&FieldSelector>,
) -> Option<String> {
    let chosen = if let Some(f) = selector {
        page.doc.select(&f.css).next()
    } else {
        page.doc
            .select(&sel("[itemprop~=articleBody]"))
            .find(|e| !page.in_chrome(e))
            .or_else(|| {
                let scope = scope?;
                scope
                    .descendent_elements()
                    .filter(|e| {
                        !page.in_chrome(e)
                            && e.value().classes().any(|c| {
                                BODY_HINTS
                                    .iter()
                                    .any(|h| c.to_ascii_lowercase().contains(h))
                            })
                    })
                    .max_by_key(|e| text_of(e).len())
            })
            .or_else(|| scope.and_then(|s| densest_paragraphs(page, s)))
    }?;
    let html = serialize_without_chrome(&chosen);
    (!text_of(&chosen).is_empty()).then_some(html)
}

/// The element whose own `<p>` children hold the most text: the body on pages without markup hints.
fn densest_paragraphs<'a>(page: &Page, scope: &ElementRef<'a>) -> Option<ElementRef<'a>> {
    scope
        .descendent_elements()
        .filter(|e| !page.in_chrome(e))
        .map(|e| {
            let own: usize = e
                .child_elements()
                .filter(|c| c.value().name() == "p")
                .map(|p| text_of(&p).len())
                .sum();
            (own, e)
        })
        .filter(|(n, _)| *n >= 100)
        .max_by_key(|(n, _)| *n)
        .map(|(_, e)| e)
}

/// Inner HTML without the chrome inside an article body (share buttons, related links, scripts).
fn serialize_without_chrome(el: &ElementRef) -> String {
    let mut out = String::new();
    for child in el.children() {
        write_node(child, &mut out, 0);
    }
    out
}

fn write_node(node: ego_tree::NodeRef<scraper::Node>, out: &mut String, depth: usize) {
    if depth > 64 {
        return;
    }
    if let Some(t) = node.value().as_text() {
        out.push_str(&html_escape::encode_text(&**t));
        return;
    }
    let Some(e) = ElementRef::wrap(node) else {
        return;
    };
    if is_chrome_own(&e, true) || matches!(e.value().name(), "h1" | "script" | "style") {
        return;
    }
    let name = e.value().name();
    out.push('<');
    out.push_str(name);
    for (k, v) in e.value().attrs() {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&html_escape::encode_double_quoted_attribute(v));
        out.push('"');
    }
    out.push('>');
    if matches!(
        name,
        "br" | "img"
            | "hr"
            | "source"
            | "wbr"
            | "input"
            | "meta"
            | "link"
            | "area"
            | "col"
            | "embed"
            | "track"
    ) {
        return;
    }
    for child in e.children() {
        write_node(child, out, depth + 1);
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(html: &str) -> Article {
        parse_article(
            &Page::parse(
                html,
                &Url::parse("https://partner.example/news/a/").unwrap(),
            )
            .unwrap(),
            None,
        )
    }

    #[test]
    fn visible_fields_on_a_page_without_metadata() {
        let a = article(
            r#"<body><nav><a href="/">Start</a></nav><main><h1>Neue Halle eröffnet</h1><p class="byline">Von Karla Krüger</p>
            <div class="text"><p>Die neue Halle wurde am Montag eröffnet. Sie bietet Platz für 300 Menschen und wurde in nur zwei Jahren gebaut.</p><div class="share">Teilen</div></div>
            <h4>Datum</h4><p>14.02.2026</p></main><aside><time datetime="2026-05-01">Termin</time></aside></body>"#,
        );
        assert_eq!(a.title_visible.as_deref(), Some("Neue Halle eröffnet"));
        assert_eq!(a.authors, vec!["Karla Krüger"]);
        assert!(a.published_visible.is_some());
        assert_eq!(
            a.published_time_element, None,
            "a sidebar <time> is not the article's"
        );
        let body = a.content_html.unwrap();
        assert!(
            body.contains("300 Menschen") && !body.contains("Teilen"),
            "{body}"
        );
    }

    #[test]
    fn og_title_loses_the_site_name() {
        assert_eq!(
            without_site_name(
                "Frühjahrsumfrage: Betriebe blicken - Mittelstandsnetzwerk Lausitz e.V.",
                Some("Mittelstandsnetzwerk Lausitz e.V.")
            ),
            "Frühjahrsumfrage: Betriebe blicken"
        );
        assert_eq!(without_site_name("Kurz | Site", None), "Kurz | Site");
    }

    #[test]
    fn an_impossible_labelled_date_is_no_date() {
        let a = article(
            r#"<main><div class="article"><h1>QLEE im Landtag</h1><div><header><h4>Datum</h4></header><p>13.02.206</p></div></div></main>"#,
        );
        assert_eq!(a.published_visible, None);
    }
}
