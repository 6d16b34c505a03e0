//! What an article page says about itself, field by field and by trust.
//! The rooms: `anatomy` decides what the page is made of (headline, main
//! text, chrome, teaser cards of other articles); `candidates` gathers every
//! date the page offers and keeps the most trusted publication date. Owned
//! here: the `Article` record (stored per page, so unchanged pages are not
//! fetched again), titles, authors, categories and the body.

mod anatomy;
mod candidates;

use chrono::{DateTime, Utc};
use scraper::ElementRef;
use serde::{Deserialize, Serialize};
use url::Url;

pub(crate) use anatomy::fold as fold_title;
pub use candidates::Dated;

use super::listing::{FieldSelector, clean_author};
use super::structured::{itemprop, json_ld_article};
use super::{Page, is_chrome_own, sel, text_of};
use crate::model::Provenance;
use anatomy::Anatomy;

/// Extracted article fields; serialisable so unchanged pages need not be fetched again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Base for relative URLs in the content.
    pub base: Url,
    pub canonical: Option<Url>,
    /// Headline from JSON-LD or microdata.
    pub title_structured: Option<String>,
    /// Where `title_structured` came from.
    #[serde(default)]
    pub title_structured_from: Option<Provenance>,
    /// The page's headline (its `<h1>`, or the heading matching its title), else its
    /// OpenGraph/`<title>` without the site name.
    pub title_visible: Option<String>,
    /// Where `title_visible` came from.
    #[serde(default)]
    pub title_visible_from: Option<Provenance>,
    /// Other full titles the page gives (og:title, `<title>` without the site
    /// name), for completing a listing title cut short with "…".
    #[serde(default)]
    pub titles_other: Vec<String>,
    /// The publication date the page states, chosen among every candidate by trust.
    #[serde(default)]
    pub published: Option<Dated>,
    /// Records written before dates were chosen by trust (read, never written).
    #[serde(default, skip_serializing)]
    pub published_structured: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing)]
    pub published_time_element: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing)]
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

impl Article {
    /// The publication date, also from records written before [`Article::published`]
    /// existed (with the trust their place has now).
    pub fn publication(&self) -> Option<Dated> {
        let legacy =
            |at: Option<DateTime<Utc>>, from, trust| at.map(|at| Dated { at, from, trust });
        self.published
            .or_else(|| legacy(self.published_structured, Provenance::Meta, 90))
            .or_else(|| legacy(self.published_time_element, Provenance::TimeElement, 72))
            .or_else(|| legacy(self.published_visible, Provenance::VisibleText, 54))
    }
}

/// The element holding the article: the schema.org scope or `<article>` around
/// the headline, else the one around the main text, else `<main>`, else the body.
fn container<'a>(page: &'a Page, anatomy: &Anatomy<'a>) -> Option<ElementRef<'a>> {
    let is_container = |e: &ElementRef| {
        let v = e.value();
        v.name() == "article"
            || v.name() == "main"
            || v.attr("role") == Some("main")
            || (v.attr("itemscope").is_some()
                && v.attr("itemtype")
                    .is_some_and(|t| t.contains("Article") || t.contains("Posting")))
    };
    let around = |el: &ElementRef<'a>| {
        el.ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| is_container(a) && !anatomy.excluded(a))
    };
    anatomy
        .headline
        .as_ref()
        .and_then(around)
        .or_else(|| anatomy.main.as_ref().and_then(around))
        .or_else(|| {
            page.doc
                .select(&sel(
                    "main, [role=main], #content, #main, #inhalt, .content, #primary",
                ))
                .find(|e| !anatomy.excluded(e))
        })
        .or_else(|| page.doc.select(&sel("body")).next())
}

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

/// The value following a label element such as `<h4>Autor</h4><p>Karla Krüger</p>`.
fn labelled(anatomy: &Anatomy, scope: &ElementRef, labels: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for el in scope.descendent_elements() {
        if anatomy.excluded(&el) || el.child_elements().next().is_some() {
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
    let meta = |k: &str| page.meta(k);
    let site_name = meta("og:site_name");
    let og_title = meta("og:title").map(|t| without_site_name(&t, site_name.as_deref()));
    let html_title = page
        .doc
        .select(&sel("title"))
        .next()
        .map(|t| without_site_name(&text_of(&t), site_name.as_deref()))
        .filter(|t| !t.is_empty());
    // Outside teaser cards (decided below, once the headline is known).
    let micro_headlines: Vec<(ElementRef, String)> = page
        .doc
        .select(&sel("[itemprop~=headline]"))
        .take(50)
        .map(|e| (e, text_of(&e)))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    // What the page calls itself, to recognise its headline among the headings.
    let names: Vec<String> = [
        ld.headline.clone(),
        og_title.clone(),
        meta("twitter:title"),
        html_title.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let anatomy = Anatomy::read(page, &names);
    let micro_headline = micro_headlines
        .iter()
        .find(|(e, _)| !anatomy.excluded(e))
        .map(|(_, t)| t.clone());
    let scope = container(page, &anatomy);
    let micro = |prop: &str| scope.as_ref().and_then(|s| itemprop(s, prop));
    let headline = anatomy
        .headline
        .as_ref()
        .map(|h| text_of(h))
        .filter(|t| !t.is_empty());

    let page_titles: Vec<(Provenance, &str)> = [
        (Provenance::OgTitle, og_title.as_deref()),
        (Provenance::DocumentTitle, html_title.as_deref()),
    ]
    .into_iter()
    .filter_map(|(p, t)| Some((p, t?)))
    .collect();
    let found = candidates::gather(page, &anatomy, headline.as_deref(), &page_titles);
    let (published, updated) = candidates::choose(&found.candidates);

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
        // The article element first, then the main area (CMSs put "Autor" boxes beside the article).
        let main = page
            .doc
            .select(&sel("main, [role=main]"))
            .find(|e| !anatomy.excluded(e));
        for area in scope.iter().chain(main.iter()) {
            let byline = area
                .select(&sel(
                    "[rel~=author], [class*=author], [class*=byline], [class*=autor], .vcard",
                ))
                .filter(|e| !anatomy.excluded(e))
                .map(|e| clean_author(&text_of(&e)))
                .find(|a| plausible_name(a));
            if let Some(a) = byline.or_else(|| {
                labelled(&anatomy, area, LABELS_AUTHOR)
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

    let (title_visible, title_visible_from) = match (&headline, &og_title, &html_title) {
        (Some(h), _, _) => (Some(h.clone()), Some(Provenance::Heading)),
        (None, Some(o), _) if !o.is_empty() => (Some(o.clone()), Some(Provenance::OgTitle)),
        (None, _, Some(t)) => (Some(t.clone()), Some(Provenance::DocumentTitle)),
        _ => (None, None),
    };
    let titles_other = [og_title, html_title]
        .into_iter()
        .flatten()
        .filter(|t| Some(t) != title_visible.as_ref())
        .collect();
    let content_html = body(page, &anatomy, scope.as_ref(), content_selector);
    Article {
        base: page.base.clone(),
        canonical: page.canonical(),
        title_structured_from: if ld.headline.is_some() {
            Some(Provenance::JsonLd)
        } else {
            micro_headline.as_ref().map(|_| Provenance::Microdata)
        },
        title_structured: ld.headline.clone().or(micro_headline),
        title_visible,
        title_visible_from,
        titles_other,
        published,
        published_structured: None,
        published_time_element: None,
        published_visible: None,
        updated,
        authors,
        description: ld
            .description
            .clone()
            .or_else(|| meta("og:description"))
            .or_else(|| meta("description")),
        content_html,
        categories,
        broken_date: if published.is_none() {
            found.broken
        } else {
            None
        },
        image: crate::extract::html::lead_image::lead_image(page),
    }
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
    anatomy: &Anatomy,
    scope: Option<&ElementRef>,
    selector: Option<&FieldSelector>,
) -> Option<String> {
    let chosen = if let Some(f) = selector {
        page.doc.select(&f.css).next()
    } else {
        page.doc
            .select(&sel("[itemprop~=articleBody]"))
            .find(|e| !anatomy.excluded(e))
            .or_else(|| {
                let scope = scope?;
                scope
                    .descendent_elements()
                    .filter(|e| {
                        !anatomy.excluded(e)
                            && e.value().classes().any(|c| {
                                BODY_HINTS
                                    .iter()
                                    .any(|h| c.to_ascii_lowercase().contains(h))
                            })
                    })
                    .max_by_key(|e| text_of(e).len())
            })
            .or(anatomy.main)
    }?;
    let html = serialize_without_chrome(&chosen);
    (!text_of(&chosen).is_empty()).then_some(html)
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
        let published = a.published.expect("the labelled date");
        assert_eq!(
            published.at.date_naive(),
            chrono::NaiveDate::from_ymd_opt(2026, 2, 14).unwrap(),
            "the labelled date, not the sidebar <time> (2026-05-01)"
        );
        assert_eq!(published.from, Provenance::Labelled);
        let body = a.content_html.unwrap();
        assert!(
            body.contains("300 Menschen") && !body.contains("Teilen"),
            "{body}"
        );
    }

    #[test]
    fn deep_and_wide_pages_stay_linear() {
        // 20,000 nested containers with text at every level, then 5,000 teaser cards.
        let depth = 20_000;
        let mut html = String::from("<html><body><h1>Tief verschachtelt</h1>");
        for i in 0..depth {
            html.push_str(&format!(
                "<div class=\"sidebar\">Ein Absatz mit genug Text Nummer {i} "
            ));
        }
        html.push_str(&"</div>".repeat(depth));
        for i in 0..5_000 {
            html.push_str(&format!(
                "<article><h3>Karte {i}</h3><time datetime=\"2026-01-02\">2.1.2026</time></article>"
            ));
        }
        let url = Url::parse("https://partner.example/news/a/").unwrap();
        // Deeper than the markup budget allows: the extractor must stay linear anyway.
        let page = Page::parse_unchecked(&html, &url);
        let started = std::time::Instant::now();
        let a = parse_article(&page, None);
        assert_eq!(a.title_visible.as_deref(), Some("Tief verschachtelt"));
        assert_eq!(a.published, None, "teaser cards date other articles");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn records_stored_before_date_candidates_keep_their_dates() {
        let old = r#"{"base":"https://p.example/a/","canonical":null,"title_structured":null,
            "title_visible":"T","published_structured":null,"published_time_element":"2026-02-13T09:00:00Z",
            "published_visible":"2026-02-12T11:00:00Z","updated":null,"authors":[],"description":null,
            "content_html":null,"categories":[]}"#;
        let a: Article = serde_json::from_str(old).unwrap();
        let d = a.publication().unwrap();
        assert_eq!(
            (d.at.to_rfc3339(), d.from),
            ("2026-02-13T09:00:00+00:00".into(), Provenance::TimeElement)
        );
        // Written anew, a record carries the chosen date only.
        let fresh = article(r#"<main><h1>Neu</h1><p>Datum: 13.02.2026</p></main>"#);
        let json = serde_json::to_string(&fresh).unwrap();
        assert!(!json.contains("published_visible"), "{json}");
        let back: Article = serde_json::from_str(&json).unwrap();
        assert_eq!(back.publication(), fresh.published);
        assert!(fresh.published.is_some());
    }

    #[test]
    fn the_articles_own_microdata_counts_inside_an_aside() {
        // The date sits in an <aside> inside the <article>: chrome by its tag,
        // but a property of the article's own item. A teaser's item is not.
        let a = article(
            r#"<head><title>Code coverage for the frontend | Code</title></head><body><main><article itemscope itemtype="http://schema.org/BlogPosting"><header><h2 itemprop="name">Code coverage for the frontend</h2></header>
            <section><p>So finally you are testing your frontend code? The more tests you write, the more confident you are with your code, but how much precisely?</p></section>
            <aside><span itemprop="author">Nicolas</span> <time datetime="2013-09-29" itemprop="datePublished">2013-09-29</time></aside></article>
            <article itemscope itemtype="http://schema.org/BlogPosting"><h3 itemprop="name">Older post</h3><time itemprop="datePublished" datetime="2013-08-01">1 Aug</time></article></main></body>"#,
        );
        let d = a.published.expect("the article's datePublished");
        assert_eq!(
            (d.at.date_naive(), d.from),
            (
                chrono::NaiveDate::from_ymd_opt(2013, 9, 29).unwrap(),
                Provenance::Microdata
            )
        );
    }

    #[test]
    fn a_last_updated_line_is_no_publication_date() {
        // The page shows only the modification; the publication date is in
        // a US CMS's <meta> as month/day/year.
        let html = r#"<html lang="en-US"><head><meta name="publish_date" content="05/08/2014 07:01:00"></head>
            <body><main><h1>Throw a party on a budget</h1><div class="article-date">Last updated September 14, 2016</div>
            <p>The average cost of a graduation party in 2013 was a whopping sum, according to a survey of many families across the country.</p></main></body></html>"#;
        let d = article(html).published.expect("the published meta");
        assert_eq!(
            (d.at.date_naive(), d.from),
            (
                chrono::NaiveDate::from_ymd_opt(2014, 5, 8).unwrap(),
                Provenance::Meta
            )
        );
    }

    #[test]
    fn a_byline_may_stand_between_label_and_date() {
        for (line, day) in [
            (
                "Posted by kovarex, TOGos, Ernestas on 2019-02-15, all posts",
                (2019, 2, 15),
            ),
            (
                "Veröffentlicht von Karla Krüger am 3. Februar 2022",
                (2022, 2, 3),
            ),
        ] {
            let a = article(&format!(
                r#"<main><h1>Friday Facts</h1><div class="blog-post">{line}</div>
                <p>This week we have been working on the new release, which is getting very close now, with many fixes to the interface.</p></main>"#
            ));
            let d = a.published.expect(line);
            assert_eq!(
                (d.at.date_naive(), d.from),
                (
                    chrono::NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap(),
                    Provenance::Labelled
                ),
                "{line}"
            );
        }
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
        assert_eq!(a.published, None);
        assert_eq!(a.broken_date.as_deref(), Some("13.02.206"));
    }
}
