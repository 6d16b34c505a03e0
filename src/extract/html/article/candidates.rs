//! Every date an article page offers, each with where it was found, whether
//! it says "published" or "modified", and how far it can be trusted; then the
//! one to keep. Places, most trusted first: JSON-LD on any type that can date
//! an article, microdata, `<meta>` names (OpenGraph, Dublin Core, parse.ly,
//! Sailthru, …), `<time datetime>`, date attributes (`abbr[title]`,
//! `data-date`), text after a label ("Datum:", "Veröffentlicht am",
//! "Posted on"; "Stand:" means modified), elements marked as dates, dates on
//! their own line near the headline, a dateline at the start of the text, the
//! headline itself, the URL. Chrome and teaser cards of other articles are
//! never asked, except for properties of the article's own schema.org item
//! (an `<aside>` with author and date inside the `<article>`).

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Berlin;
use regex::Regex;
use scraper::{ElementRef, Selector};
use serde::{Deserialize, Serialize};

use super::anatomy::{Anatomy, title_match};
use crate::extract::dates::{DayOrder, broken_date, parse_timestamp, parse_timestamp_in};
use crate::extract::html::structured::{NodeKind, json_ld_dates};
use crate::extract::html::{Page, sel, text_of};
use crate::model::Provenance;

/// Elements looked at per pass; a page with more is cut short, not slow.
const MAX_ELEMENTS: usize = 400;
/// Candidates kept per page (the most trusted places are asked first).
const MAX_CANDIDATES: usize = 1_000;
/// A line of at most this many characters can be a meta line ("Von X | 3. Februar 2022").
const SHORT_LINE: usize = 100;
/// Where the search for a dateline in running text stops.
const LONG_LINE: usize = 160;
/// How far into the main text a dateline ("DUBLIN, July 2, 2014 — …") may start.
const DATELINE_REACH: usize = 600;
/// A date line this close after the end of the main text is the post's footer.
const FOOTER_REACH: usize = 200;
const FOOTER_TRUST: i32 = 44;
/// Below this a candidate is a guess we do not make.
const MIN_TRUST: i32 = 30;
/// A "published" candidate this trusted can show a creation date to be too late.
const CREATED_CHECK_TRUST: i32 = 45;
/// Trust a creation date loses when it falls after such a published date.
const CREATED_TOO_LATE: i32 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Published,
    /// "dateCreated", "uploadDate", `dcterms.created`: stands for the
    /// publication date unless it falls after a published date the page
    /// names elsewhere (a CMS migration or render time, never the article's).
    Created,
    Modified,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub at: DateTime<Utc>,
    pub kind: Kind,
    pub from: Provenance,
    pub trust: i32,
}

/// The date kept, with where it came from and how far it is trusted (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dated {
    pub at: DateTime<Utc>,
    pub from: Provenance,
    pub trust: u8,
}

/// What the page offers: the candidates and an impossible labelled date, if any.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub candidates: Vec<Candidate>,
    pub broken: Option<String>,
}

impl Found {
    fn push(&mut self, at: Option<DateTime<Utc>>, kind: Kind, from: Provenance, trust: i32) {
        if self.candidates.len() >= MAX_CANDIDATES {
            return;
        }
        if let Some(at) = at {
            self.candidates.push(Candidate {
                at,
                kind,
                from,
                trust,
            });
        }
    }
}

/// `<meta>` names that date the article, lower case, with their trust.
const META_PUBLISHED: &[(&str, i32)] = &[
    ("article:published_time", 90),
    ("og:article:published_time", 90),
    ("og:published_time", 88),
    ("published_time", 88),
    ("datepublished", 88),
    ("rnews:datepublished", 88),
    ("dc.date.issued", 86),
    ("dcterms.issued", 86),
    ("dcterms.created", 85),
    ("dc.date.created", 85),
    ("dc.created", 85),
    ("citation_publication_date", 85),
    ("citation_date", 84),
    ("parsely-pub-date", 86),
    ("sailthru.date", 84),
    ("publish-date", 85),
    ("publish_date", 85),
    ("publishdate", 85),
    ("published-date", 85),
    ("publication_date", 85),
    ("pubdate", 84),
    ("pub_date", 84),
    ("date_published", 85),
    ("originalpublicationdate", 85),
    ("article.published", 85),
    ("cxenseparse:recs:publishtime", 84),
    ("bt:pubdate", 84),
    ("displaydate", 80),
    ("dc.date", 80),
    ("dcterms.date", 80),
    ("dc:date", 80),
    ("date", 78),
    ("created", 72),
];
const META_MODIFIED: &[(&str, i32)] = &[
    ("article:modified_time", 85),
    ("og:updated_time", 82),
    ("datemodified", 85),
    ("dcterms.modified", 84),
    ("dc.date.modified", 84),
    ("modified_time", 82),
    ("last-modified", 75),
    ("lastmod", 75),
];

static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?:(veröffentlicht|erstellt|publiziert|erschienen|eingestellt|online seit|datum|(?:presse)?(?:mitteilung|meldung|information)(?:\s+nr\.?\s*[\d/-]+)?\s+vom|artikel\s+vom|beitrag\s+vom|nachricht\s+vom|posted|published|date)|(stand|aktualisiert|(?:letzte\s+)?aktualisierung|zuletzt\s+(?:geändert|aktualisiert|bearbeitet)|geändert|letzte\s+änderung|updated|last\s+(?:modified|updated|changed)|modified))(?:\s+(?:am|on|vom|at))?\s*:?",
    )
    .expect("valid regex")
});

/// A label that is written as one: "… am", "… on", "… vom", "…:".
static LABEL_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:(?-u:\b)(?:am|on|vom)\s*:?|:)$").expect("valid regex"));

/// What may stand between a label and its date: a weekday ("Datum: Montag,
/// 3. Februar 2022"), or a byline ending in "on"/"am" ("Posted by Anna,
/// Ben on 2019-02-15", "Veröffentlicht von Karla Krüger am 3. Februar 2022").
static BETWEEN_LABEL_AND_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[\s:,.|–-]*(?:\p{L}{2,10}\.?,?\s+|(?:by|von)\s+[^\n]{1,50}?\s(?:on|am)\s+)?(?:den\s+)?$")
        .expect("valid regex")
});

/// Words before a date that make it the day of printing or reading
/// ("gedruckt am", "abgerufen am", "Retrieved"), or today's date in a masthead.
static NOT_PUBLICATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:gedruckt|druckdatum|abgerufen|zugriff|heute|printed|accessed|retrieved|today)(?-u:\b)")
        .expect("valid regex")
});

/// Words around a date that make it an appointment or a deadline, not the article's date.
static EVENT_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:termin|veranstaltung|uhrzeit|anmeld\w*|frist|bewerbungsschluss|öffnungszeit\w*|einlass|beginn|bis|deadline|event|registration|until)(?-u:\b)|\d\s*[-–]\s*\d{1,2}\.")
        .expect("valid regex")
});

/// What may stand before the date of a dateline: a place ("Forst (Lausitz), "),
/// a byline ("Von Peter Schulz, "), nothing else (a sentence is not a dateline).
static DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:(?:von|by)\s+)?(?:\p{Lu}[\p{L}.()/-]*(?:\s+[\p{Lu}(][\p{L}.()/-]*){0,3}\s*(?:\(\w+\))?\s*[,:–-]\s*)?(?:den\s+)?$")
        .expect("valid regex")
});

static URL_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:[/_.-]|$)").expect("valid regex")
});

/// Rough date shapes, to tell a line with one date from one with a range or a list.
static DATE_SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)\d{1,2}\.\s?\d{1,2}\.(?:\s?\d{2,4})?|(?-u:\b)\d{4}-\d{2}-\d{2}|(?-u:\b)\d{1,2}\.?\s+[a-zä]{3,9}\.?\s+\d{4}|(?-u:\b)[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}")
        .expect("valid regex")
});

static MICRODATA: LazyLock<Selector> = LazyLock::new(|| {
    sel(concat!(
        "[itemprop~=datePublished], [itemprop~=dateCreated], [itemprop~=uploadDate], ",
        "[itemprop~=dateModified], [property$=datePublished], [property$=dateCreated], ",
        "[property$=dateModified], [property$=\"dc:date\"], [property$=\"dcterms:created\"], ",
        "[property$=\"dcterms:issued\"]"
    ))
});
// No "body …" descendant selectors here: matching one walks every ancestor,
// quadratic on deeply nested pages. Elements outside the body have no position.
static TIMES: LazyLock<Selector> = LazyLock::new(|| sel("time"));
static ATTRIBUTES: LazyLock<Selector> = LazyLock::new(|| {
    sel(
        "body [data-date], body [data-published], body [data-pubdate], body [data-publish-date], body [data-datetime], body abbr[title], body [class*=date][title], body [class*=publish][title]",
    )
});
static METAS: LazyLock<Selector> = LazyLock::new(|| sel("meta[content]"));
static BODY: LazyLock<Selector> = LazyLock::new(|| sel("body"));
static BODY_ELEMENTS: LazyLock<Selector> = LazyLock::new(|| sel("[class], [id]"));

/// Class or property words that mark a modification date. WordPress marks an
/// unmodified post's one `<time>` as "published updated": published wins.
fn says_modified(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    (s.contains("update")
        || s.contains("modif")
        || s.contains("aktualis")
        || s.contains("geaendert"))
        && !s.contains("publish")
}

fn class_and_id(el: &ElementRef) -> String {
    let v = el.value();
    let mut s: String = v.classes().collect::<Vec<_>>().join(" ");
    if let Some(id) = v.id() {
        s.push(' ');
        s.push_str(id);
    }
    s.to_ascii_lowercase()
}

static ORDINAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(\d{1,2})(?:st|nd|rd|th)(?-u:\b)").expect("valid regex"));

/// English ordinals ("3rd March 2021", "March 3rd, 2021") as the date parser reads them.
fn without_ordinals(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.bytes().any(|b| b.is_ascii_digit()) {
        return std::borrow::Cow::Borrowed(s);
    }
    ORDINAL.replace_all(s, "$1")
}

fn find_date(s: &str, order: DayOrder) -> Option<DateTime<Utc>> {
    crate::extract::dates::find_date_in(&without_ordinals(s), order)
}

/// Callers slice `s` at the position: pass text that has no ordinals left.
fn find_date_with_position(s: &str, order: DayOrder) -> Option<(DateTime<Utc>, usize)> {
    debug_assert!(!ORDINAL.is_match(s));
    crate::extract::dates::find_date_with_position_in(s, order)
}

/// A timestamp attribute, else a date in the text.
fn date_value(s: &str, order: DayOrder) -> Option<DateTime<Utc>> {
    parse_timestamp(s).or_else(|| find_date(s, order))
}

pub(crate) fn gather(
    page: &Page,
    anatomy: &Anatomy,
    headline: Option<&str>,
    titles: &[(Provenance, &str)],
) -> Found {
    let mut found = Found::default();
    structured(page, headline, &mut found);
    microdata(page, anatomy, &mut found);
    metas(page, anatomy.order, &mut found);
    times(page, anatomy, &mut found);
    attributes(page, anatomy, &mut found);
    labelled(anatomy, &mut found);
    hinted(page, anatomy, &mut found);
    lines(anatomy, &mut found);
    if let Some(h) = headline {
        found.push(
            find_date(h, anatomy.order),
            Kind::Published,
            Provenance::Headline,
            52,
        );
    }
    // "Briefe - 26 Oktober 2010 - Blog": a day in what the page calls itself.
    if let Some((from, at)) = titles
        .iter()
        .find_map(|(p, t)| Some((*p, find_date(t, anatomy.order)?)))
    {
        found.push(Some(at), Kind::Published, from, 48);
    }
    if !found.candidates.iter().any(|c| c.trust >= MIN_TRUST) {
        labelled_anywhere(page, anatomy, &mut found);
    }
    if let Some(c) = URL_DATE.captures(page.url.path()) {
        let ymd = (
            c[1].parse::<i32>(),
            c[2].parse::<u32>(),
            c[3].parse::<u32>(),
        );
        if let (Ok(y), Ok(m), Ok(d)) = ymd {
            let at = chrono::NaiveDate::from_ymd_opt(y, m, d)
                .and_then(crate::extract::dates::berlin_day);
            found.push(at, Kind::Published, Provenance::Url, 46);
        }
    }
    found
}

fn structured(page: &Page, headline: Option<&str>, found: &mut Found) {
    let dates = json_ld_dates(&page.doc);
    let articles: Vec<&Option<String>> = dates
        .iter()
        .filter(|d| d.kind == NodeKind::Article)
        .map(|d| &d.headline)
        .collect();
    let several = articles.windows(2).any(|w| w[0] != w[1]);
    for d in &dates {
        let mut trust = match (d.kind, d.secondary) {
            (NodeKind::Article, false) => 95,
            (NodeKind::Article, true) => 88,
            (NodeKind::WebPage, false) => 85,
            (NodeKind::WebPage, true) => 80,
            (NodeKind::Other, false) => 75,
            (NodeKind::Other, true) => 70,
        };
        // Several articles described: the ones that are not this page are related posts.
        if several && d.kind == NodeKind::Article {
            let names_page = match (headline, &d.headline) {
                (Some(h), Some(l)) => title_match(h, l) >= 0.5,
                _ => false,
            };
            let is_page = d
                .url
                .as_deref()
                .and_then(|u| page.url.join(u).ok())
                .is_some_and(|u| {
                    u.path() == page.url.path() && u.host_str() == page.url.host_str()
                });
            if !names_page && !is_page {
                trust -= 30;
            }
        }
        let kind = if d.modified {
            Kind::Modified
        } else if d.secondary {
            Kind::Created
        } else {
            Kind::Published
        };
        found.push(parse_timestamp(&d.value), kind, Provenance::JsonLd, trust);
    }
}

/// Whether `scope` is the schema.org article around the headline.
fn is_own_article_item(anatomy: &Anatomy, scope: &ElementRef) -> bool {
    scope
        .value()
        .attr("itemtype")
        .is_some_and(|t| t.contains("Article") || t.contains("Posting"))
        && anatomy
            .headline
            .as_ref()
            .is_some_and(|h| h.ancestors().any(|a| a.id() == scope.id()))
}

fn microdata(page: &Page, anatomy: &Anatomy, found: &mut Found) {
    for el in page.doc.select(&MICRODATA).take(MAX_ELEMENTS) {
        // The item a property belongs to: the nearest scope around it.
        let item = el
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| a.value().attr("itemscope").is_some());
        // A property of the article's own item is the article's, wherever the
        // template puts it (an `<aside>` with author and date inside the
        // `<article>` reads as chrome); teaser cards are other articles.
        let own_item = item
            .as_ref()
            .is_some_and(|s| is_own_article_item(anatomy, s));
        if anatomy.teasers.contains(&el.id()) || (anatomy.excluded(&el) && !own_item) {
            continue;
        }
        let v = el.value();
        let prop = v
            .attr("itemprop")
            .or_else(|| v.attr("property"))
            .unwrap_or_default();
        let kind = if prop.contains("dateModified") {
            Kind::Modified
        } else {
            Kind::Published
        };
        let value = v
            .attr("content")
            .or_else(|| v.attr("datetime"))
            .map(str::to_string)
            .unwrap_or_else(|| text_of(&el));
        // The scope that holds the headline is this article; another scope outside teasers is weaker.
        let own = match &anatomy.headline {
            Some(h) => item.is_none_or(|scope| h.ancestors().any(|a| a.id() == scope.id())),
            None => true,
        };
        let secondary =
            !(prop.contains("datePublished") || prop.contains("issued")) && kind == Kind::Published;
        let trust = if own { 90 } else { 80 } - if secondary { 5 } else { 0 };
        let kind = if secondary { Kind::Created } else { kind };
        found.push(
            date_value(&value, anatomy.order),
            kind,
            Provenance::Microdata,
            trust,
        );
    }
}

fn metas(page: &Page, order: DayOrder, found: &mut Found) {
    for m in page.doc.select(&METAS).take(MAX_ELEMENTS) {
        let v = m.value();
        let Some(key) = v
            .attr("property")
            .or_else(|| v.attr("name"))
            .or_else(|| v.attr("itemprop"))
            .or_else(|| v.attr("http-equiv"))
        else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let content = v.attr("content").unwrap_or_default();
        if let Some((_, t)) = META_PUBLISHED.iter().find(|(k, _)| *k == key) {
            let kind = if key.contains("created") {
                Kind::Created
            } else {
                Kind::Published
            };
            found.push(
                parse_timestamp_in(content, order),
                kind,
                Provenance::Meta,
                *t,
            );
        } else if let Some((_, t)) = META_MODIFIED.iter().find(|(k, _)| *k == key) {
            found.push(
                parse_timestamp_in(content, order),
                Kind::Modified,
                Provenance::Meta,
                *t,
            );
        }
    }
}

/// Nearness lost by a date outside the article element.
const OUTSIDE_ARTICLE: i32 = 3;

/// Trust lost with distance from the headline: a date beside it is the
/// article's, one deep in the text or below it may be anything.
fn nearness(anatomy: &Anatomy, at: Option<usize>) -> i32 {
    // Below the end of the main text lie lists of more news: far, unless the text is short.
    let below_text = match (at, anatomy.main_span) {
        (Some(p), Some((_, end))) => p > end,
        _ => false,
    };
    // Outside the element that holds headline and main text (a masthead's
    // "today" date, a sidebar): a little less than the same distance inside.
    let outside_article = match (at, anatomy.article_span) {
        (Some(p), Some((s, e))) => !(s..=e).contains(&p),
        _ => false,
    };
    let distance = match at.and_then(|p| anatomy.offset_from_headline(p)) {
        Some(d) if below_text && d > 600 => -18,
        Some(d) if (-400..=600).contains(&d) => 0,
        Some(d) if (-1500..=2500).contains(&d) => -8,
        Some(_) => -18,
        None => -4,
    };
    distance - if outside_article { OUTSIDE_ARTICLE } else { 0 }
}

/// The words just before a position: "Aktualisiert am <time>" makes the time a modification.
fn preceded_by_update(anatomy: &Anatomy, at: Option<usize>) -> bool {
    let Some(at) = at else { return false };
    let before: String = anatomy.text[..at.min(anatomy.text.len())]
        .chars()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    LABEL
        .captures_iter(&before)
        .last()
        .is_some_and(|c| c.get(2).is_some())
}

fn times(page: &Page, anatomy: &Anatomy, found: &mut Found) {
    for t in page.doc.select(&TIMES).take(MAX_ELEMENTS) {
        if anatomy.position(&t).is_none() {
            continue;
        }
        let v = t.value();
        let names = format!(
            "{} {}",
            class_and_id(&t),
            v.attr("itemprop").unwrap_or_default()
        );
        let at = anatomy.position(&t);
        let kind = if says_modified(&names) || preceded_by_update(anatomy, at) {
            Kind::Modified
        } else {
            Kind::Published
        };
        let marked = v.attr("pubdate").is_some()
            || names.contains("publish")
            || names.contains("entry-date")
            || names.contains("pub");
        let (value, trust) = match v.attr("datetime") {
            Some(d) => (date_value(d, anatomy.order), if marked { 76 } else { 72 }),
            None => (find_date(&text_of(&t), anatomy.order), 66),
        };
        found.push(
            value,
            kind,
            Provenance::TimeElement,
            trust + 2 * nearness(anatomy, at),
        );
    }
}

fn attributes(page: &Page, anatomy: &Anatomy, found: &mut Found) {
    for el in page.doc.select(&ATTRIBUTES).take(MAX_ELEMENTS) {
        if anatomy.position(&el).is_none() || el.value().name() == "time" {
            continue;
        }
        let v = el.value();
        let names = class_and_id(&el);
        let value = [
            "data-published",
            "data-pubdate",
            "data-publish-date",
            "data-date",
            "data-datetime",
            "title",
        ]
        .iter()
        .filter_map(|a| v.attr(a))
        .find_map(parse_timestamp);
        let kind = if says_modified(&names) {
            Kind::Modified
        } else {
            Kind::Published
        };
        let at = anatomy.position(&el);
        found.push(
            value,
            kind,
            Provenance::Attribute,
            70 + 2 * nearness(anatomy, at),
        );
    }
}

/// Text after a label, in the same text node or the next element:
/// `<span>Datum:</span>26. Januar 2022`, `<p>Veröffentlicht am 16.08.2019<br>`.
fn labelled(anatomy: &Anatomy, found: &mut Found) {
    let text = &anatomy.text;
    for c in LABEL.captures_iter(text).take(MAX_ELEMENTS) {
        let Some(m) = c.get(0) else { continue };
        let rest: String = text[m.end()..].chars().take(60).collect();
        let rest = without_ordinals(&rest);
        let kind = if c.get(2).is_some() {
            Kind::Modified
        } else {
            Kind::Published
        };
        match find_date_with_position(&rest, anatomy.order) {
            // Only a weekday may stand between label and date ("Datum: Montag, 3. Februar 2022");
            // "Datum Veranstaltung 12.03." is the head of a table of events.
            Some((at, pos)) if BETWEEN_LABEL_AND_DATE.is_match(&rest[..pos]) => {
                let trust = 60 + nearness(anatomy, Some(m.start())) / 2;
                found.push(Some(at), kind, Provenance::Labelled, trust);
            }
            _ => {
                let head: String = rest.chars().take(24).collect();
                if found.broken.is_none() && kind == Kind::Published {
                    found.broken = broken_date(&head);
                }
            }
        }
    }
}

/// Last resort: "Veröffentlicht am 07.06.2019" in a sidebar box beside the
/// article (chrome to everything else). Taken only when the whole page names
/// exactly one day after such a label; a list of posts names several.
fn labelled_anywhere(page: &Page, anatomy: &Anatomy, found: &mut Found) {
    let Some(body) = page.doc.select(&BODY).next() else {
        return;
    };
    let text = text_of(&body);
    let mut days: Vec<DateTime<Utc>> = Vec::new();
    for c in LABEL.captures_iter(&text).take(MAX_ELEMENTS) {
        let (Some(m), Some(label)) = (c.get(0), c.get(1)) else {
            continue;
        };
        // "Datum"/"Date" alone heads tables and forms; only words that say
        // published count, and only as a label ("veröffentlicht am", "Posted
        // on", "Erstellt:"), not as a verb in a teaser ("Förderaufruf veröffentlicht").
        if matches!(label.as_str().to_lowercase().as_str(), "datum" | "date")
            || !LABEL_SHAPE.is_match(m.as_str())
        {
            continue;
        }
        let rest: String = text[m.end()..].chars().take(60).collect();
        let rest = without_ordinals(&rest);
        if let Some((at, pos)) = find_date_with_position(&rest, anatomy.order) {
            if BETWEEN_LABEL_AND_DATE.is_match(&rest[..pos]) {
                days.push(at);
            }
        }
    }
    let first_day = days.first().map(|d| d.with_timezone(&Berlin).date_naive());
    if days
        .iter()
        .all(|d| Some(d.with_timezone(&Berlin).date_naive()) == first_day)
    {
        found.push(
            days.first().copied(),
            Kind::Published,
            Provenance::Labelled,
            40,
        );
    }
}

/// Elements whose class or id says date ("entry-date", "news-meta", "byline").
fn hinted(page: &Page, anatomy: &Anatomy, found: &mut Found) {
    const HINTS: &[&str] = &[
        "date",
        "datum",
        "posted",
        "publish",
        "veroeffentlicht",
        "meta",
        "byline",
        "info",
        "dateline",
        "timestamp",
        "created",
        "erstellt",
    ];
    const NOT: &[&str] = &[
        "related",
        "event",
        "termin",
        "veranstaltung",
        "teaser",
        "comment",
    ];
    for el in page.doc.select(&BODY_ELEMENTS).take(MAX_ELEMENTS * 5) {
        if anatomy.position(&el).is_none() {
            continue;
        }
        let names = class_and_id(&el);
        if !HINTS.iter().any(|h| names.contains(h)) || NOT.iter().any(|n| names.contains(n)) {
            continue;
        }
        // A meta line is small: a container named "main-info" is not read whole.
        if el.descendants().nth(60).is_some() {
            continue;
        }
        let text = text_of(&el);
        if text.chars().count() > 200 || EVENT_WORDS.is_match(&text) {
            continue;
        }
        let text = without_ordinals(&text);
        let date = find_date_with_position(&text, anatomy.order);
        // "Last updated September 14, 2016" in an element named "date": the label decides.
        let after_update_label = date.is_some_and(|(_, pos)| {
            LABEL
                .captures_iter(&text[..pos])
                .last()
                .is_some_and(|c| c.get(2).is_some())
        });
        let kind = if says_modified(&names) || after_update_label {
            Kind::Modified
        } else {
            Kind::Published
        };
        let at = anatomy.position(&el);
        found.push(
            date.map(|(t, _)| t),
            kind,
            Provenance::VisibleText,
            57 + nearness(anatomy, at),
        );
    }
}

/// Dates on a short line of their own (a meta line above or below the
/// headline), and a dateline at the start of the text or right after the headline.
fn lines(anatomy: &Anatomy, found: &mut Found) {
    let text = &anatomy.text;
    let mut start = 0;
    // Short lines that are dates: (line number, date, trust).
    let mut date_lines: Vec<(usize, DateTime<Utc>, i32)> = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let here = start;
        start += line.len() + 1;
        // Every date has digits; in running text only a dateline at its start counts.
        if !line.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        let line = match line.char_indices().nth(LONG_LINE) {
            Some((cut, _)) => &line[..cut],
            None => line,
        };
        let line = &*without_ordinals(line);
        let Some((at, pos)) = find_date_with_position(line, anatomy.order) else {
            continue;
        };
        if anatomy.in_headline(here + pos) {
            continue; // the headline's own date is asked separately
        }
        let offset = anatomy.offset_from_headline(here + pos);
        if LABEL.is_match(&line[..pos]) {
            continue; // after a label: the labelled pass knows published from modified
        }
        if NOT_PUBLICATION.is_match(&line[..pos]) {
            continue; // the day the page was printed or read, not written
        }
        let short = line.chars().count() <= SHORT_LINE;
        if short && !EVENT_WORDS.is_match(line) && DATE_SHAPES.find_iter(line).count() <= 1 {
            // A post's own footer ("Mai 03, 2017 / Sandra / 1 Kommentar") follows
            // its text directly; lists of more posts start further down.
            let footer = anatomy.main_span.is_some_and(|(_, end)| {
                here + pos > end && here + pos - end <= FOOTER_REACH && line.chars().count() <= 60
            });
            let trust = (54 + nearness(anatomy, Some(here + pos)) * 2).max(if footer {
                FOOTER_TRUST
            } else {
                0
            });
            date_lines.push((n, at, trust));
        } else if !short && DATELINE.is_match(&line[..pos]) {
            // Running text: only a dateline ("Cottbus, 3. Februar 2022 – Die Stadt …")
            // right after the headline or at the start of the main text.
            let after_headline = offset.is_some_and(|d| (1..=120).contains(&d));
            let at_text_start = anatomy
                .main_span
                .is_some_and(|(s, _)| here + pos >= s && here + pos - s <= DATELINE_REACH);
            if after_headline || at_text_start {
                found.push(Some(at), Kind::Published, Provenance::VisibleText, 48);
            }
        }
    }
    // A date with other dates on the lines around it is one of a list (events,
    // more news, a table), not the article's own.
    let days: Vec<NaiveDate> = date_lines
        .iter()
        .map(|(_, t, _)| t.with_timezone(&Berlin).date_naive())
        .collect();
    for (i, (n, at, trust)) in date_lines.iter().enumerate() {
        // Entries are in line order: neighbours within 3 lines are within 3 entries.
        let window = i.saturating_sub(3)..(i + 4).min(date_lines.len());
        let listed = window
            .into_iter()
            .any(|j| j != i && n.abs_diff(date_lines[j].0) <= 3 && days[j] != days[i]);
        if !listed {
            found.push(Some(*at), Kind::Published, Provenance::VisibleText, *trust);
        }
    }
}

/// The publication date to keep: the most trusted "published" candidate
/// (agreement between places adds a little), else the most trusted
/// modification date, trusted less. Also the modification date.
pub(crate) fn choose(candidates: &[Candidate]) -> (Option<Dated>, Option<DateTime<Utc>>) {
    let days: Vec<NaiveDate> = candidates
        .iter()
        .map(|c| c.at.with_timezone(&Berlin).date_naive())
        .collect();
    let mut per_day: HashMap<NaiveDate, usize> = HashMap::new();
    let mut per_place: HashMap<(NaiveDate, Provenance), usize> = HashMap::new();
    for (c, d) in candidates.iter().zip(&days) {
        *per_day.entry(*d).or_default() += 1;
        *per_place.entry((*d, c.from)).or_default() += 1;
    }
    // The earliest day a fairly trusted "published" candidate names: a
    // creation date after it is not the article's (nothing is published
    // before it is created).
    let earliest_published = candidates
        .iter()
        .zip(&days)
        .filter(|(c, _)| c.kind == Kind::Published && c.trust >= CREATED_CHECK_TRUST)
        .map(|(_, d)| *d)
        .min();
    let trust = |i: usize, c: &Candidate| match (c.kind, earliest_published) {
        (Kind::Created, Some(p)) if days[i] > p => c.trust - CREATED_TOO_LATE,
        _ => c.trust,
    };
    let score = |i: usize, c: &Candidate| {
        // Other places that name the same day.
        let agreeing = per_day[&days[i]] - per_place[&(days[i], c.from)];
        trust(i, c) + (2 * agreeing as i32).min(6)
    };
    let best = |kind: Kind| {
        candidates
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                let published = kind == Kind::Published && c.kind == Kind::Created;
                (c.kind == kind || published) && trust(*i, c) >= MIN_TRUST
            })
            // Highest score; among equals the one found first (more trusted place).
            .max_by_key(|(i, c)| (score(*i, c), -(*i as i64)))
            .map(|(i, c)| (c, trust(i, c)))
    };
    let modified = best(Kind::Modified);
    let published = best(Kind::Published)
        .or_else(|| {
            modified
                .map(|(c, t)| (c, t - 15))
                .filter(|(_, t)| *t >= MIN_TRUST)
        })
        .map(|(c, trust)| Dated {
            at: c.at,
            from: c.from,
            trust: trust.clamp(0, 100) as u8,
        });
    (published, modified.map(|(c, _)| c.at))
}
