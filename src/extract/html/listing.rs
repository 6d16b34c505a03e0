//! Finding the news entries on a listing page, on any CMS.
//!
//! Hand-written because no crate does this. The idea: a news listing is a
//! run of sibling blocks of the same kind (`<article>` cards, list items,
//! table rows, `div.meldung`, or a heading with its following paragraphs),
//! each holding a link to an article on the same site, a title, and usually
//! a date and a teaser. Every group of same-tag siblings outside page chrome
//! (navigation, header, sidebars, footer, cookie banners, pagination) is
//! scored by how many such entries it holds and how news-like they are
//! (dates, headings, teasers, title length); the best group is the listing.
//! Operators can override the guess with CSS selectors from config.toml.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use regex::Regex;
use scraper::{ElementRef, Selector};
use sha2::{Digest, Sha256};
use url::Url;

use super::{Page, is_generic_link_text, same_site, sel, structured, text_of};
use crate::extract::dates::{berlin_day, berlin_local, find_date, parse_timestamp};
use crate::text::truncate_chars;

/// One entry as the listing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingEntry {
    pub link: Url,
    pub title: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// The date came from markup meant for machines (`<time datetime>`, microdata).
    pub date_structured: bool,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub categories: Vec<String>,
    /// Hash of what the listing shows; when it changes the article page is fetched again.
    pub fingerprint: String,
    /// The news is on the listing page itself (no article page to fetch).
    pub inline: bool,
}

/// The entries of a listing page and where the next page is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub entries: Vec<ListingEntry>,
    pub next_page: Option<Url>,
    /// How the entries were found, for logs, `discover` and `preview`.
    pub method: String,
    /// The site's name (og:site_name, else the page title).
    pub site_name: Option<String>,
}

/// Operator-written CSS selectors; `sel@attr` takes an attribute instead of the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selectors {
    pub item: String,
    pub title: Option<String>,
    pub link: Option<String>,
    pub date: Option<String>,
    /// chrono format such as "%d.%m.%Y" for dates the automatic parser can't read.
    pub date_format: Option<String>,
    pub summary: Option<String>,
    pub author: Option<String>,
    /// Applied to article pages: the element holding the article body.
    pub content: Option<String>,
    /// `content`, parsed once when the config is validated; article pages use this.
    pub content_selector: Option<FieldSelector>,
}

/// A selector field split into the CSS part and an optional attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelector {
    pub css: Selector,
    pub attr: Option<String>,
}

impl FieldSelector {
    /// Parses `"h3 a"` or `"a.more@href"`; the error names the problem.
    pub fn parse(spec: &str) -> Result<FieldSelector, String> {
        let (css, attr) = match spec.rsplit_once('@') {
            Some((css, attr))
                if !css.trim().is_empty()
                    && !attr.is_empty()
                    && attr
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c)) =>
            {
                (css.trim(), Some(attr.to_string()))
            }
            _ => (spec.trim(), None),
        };
        let css =
            Selector::parse(css).map_err(|_| format!("`{css}` is not a valid CSS selector"))?;
        Ok(FieldSelector { css, attr })
    }

    fn value(&self, scope: &ElementRef) -> Option<(String, bool)> {
        let el = if scope.value().name() == "html" {
            None
        } else {
            Some(*scope)
        }
        .filter(|s| self.css.matches(s))
        .or_else(|| scope.select(&self.css).next())?;
        match &self.attr {
            Some(a) => el.value().attr(a).map(|v| (v.trim().to_string(), true)),
            None => Some((text_of(&el), false)),
        }
        .filter(|(v, _)| !v.is_empty())
    }
}

/// Reads the listing: with the operator's selectors if given, else automatically.
pub fn parse_listing(page: &Page, selectors: Option<&Selectors>) -> Listing {
    let next_page = next_page(page);
    let site_name = page
        .meta("og:site_name")
        .or_else(|| page.doc.select(&sel("title")).next().map(|t| text_of(&t)))
        .filter(|t| !t.is_empty());
    if let Some(s) = selectors {
        let entries = with_selectors(page, s);
        return Listing {
            method: format!(
                "selectors (item = \"{}\"): {} entries",
                s.item,
                entries.len()
            ),
            entries,
            next_page,
            site_name,
        };
    }
    let (entries, method) = automatic(page);
    Listing {
        entries,
        next_page,
        method,
        site_name,
    }
}

// ---------------------------------------------------------------------------
// Automatic detection.
// ---------------------------------------------------------------------------

/// One candidate entry inside a block.
struct Draft {
    entry: ListingEntry,
    has_heading: bool,
}

/// A news entry is small; a block with more elements than this is a page
/// region, not an entry (and analysing it would cost quadratic time).
const MAX_BLOCK_ELEMENTS: usize = 400;
/// Blocks analysed per page at most: real listings have a few hundred; a
/// hostile page must not buy unbounded CPU.
const MAX_BLOCKS: usize = 5_000;

fn automatic(page: &Page) -> (Vec<ListingEntry>, String) {
    let chrome = page.chrome();
    let mut best: Option<(f64, Vec<ListingEntry>, String)> = None;
    let mut budget = MAX_BLOCKS;
    for parent in page.doc.root_element().descendent_elements() {
        if chrome.contains(&parent.id()) {
            continue;
        }
        let mut by_tag: HashMap<&str, Vec<ElementRef>> = HashMap::new();
        for child in parent.child_elements() {
            if !chrome.contains(&child.id()) {
                by_tag.entry(child.value().name()).or_default().push(child);
            }
        }
        for (tag, members) in by_tag {
            if members.len() < 2 && tag != "article" {
                continue;
            }
            let small = |m: &&ElementRef| {
                m.descendent_elements().take(MAX_BLOCK_ELEMENTS + 1).count() <= MAX_BLOCK_ELEMENTS
            };
            let blocks: Vec<Vec<ElementRef>> = if matches!(tag, "h2" | "h3" | "h4" | "h5") {
                members.iter().map(|h| heading_run(page, h, tag)).collect()
            } else {
                members.iter().filter(small).map(|m| vec![*m]).collect()
            };
            if blocks.len() > budget {
                break;
            }
            budget -= blocks.len();
            let mut seen = HashSet::new();
            let drafts: Vec<Draft> = blocks
                .iter()
                .filter_map(|b| analyze_block(page, b))
                .filter(|d| seen.insert(d.entry.link.clone()))
                .collect();
            // In a listing where nearly every entry is dated, an undated block
            // ("older news in the archive") is not an entry.
            let dated = drafts
                .iter()
                .filter(|d| d.entry.published.is_some())
                .count();
            let drafts: Vec<Draft> = if dated * 4 >= drafts.len() * 3 {
                drafts
                    .into_iter()
                    .filter(|d| d.entry.published.is_some())
                    .collect()
            } else {
                drafts
            };
            let min = if tag == "article" { 1 } else { 2 };
            if drafts.len() < min {
                continue;
            }
            let score = group_score(&parent, &drafts);
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                let label = describe(&parent, tag, drafts.len());
                best = Some((score, drafts.into_iter().map(|d| d.entry).collect(), label));
            }
        }
    }
    if let Some((_, entries, label)) = best {
        return (entries, label);
    }
    let inline = inline_sections(page, chrome);
    if inline.len() >= 2 {
        let label = format!(
            "{} dated sections on the page itself (no article pages)",
            inline.len()
        );
        return (inline, label);
    }
    // A listing that only describes itself in JSON-LD.
    let listed: Vec<ListingEntry> = structured::json_ld_item_list(&page.doc)
        .into_iter()
        .filter_map(|(url, name)| {
            let link = page.resolve(&url)?;
            Some(entry(link, name, None, false, None, None, vec![]))
        })
        .collect();
    let label = format!("JSON-LD ItemList: {} entries", listed.len());
    (listed, label)
}

/// Small sites often keep all news on one page: a heading, a date and the
/// text, repeated, with no article pages. Each dated heading section is an
/// entry; its link is the page (with the heading's anchor, when there is one).
fn inline_sections(page: &Page, chrome: &HashSet<ego_tree::NodeId>) -> Vec<ListingEntry> {
    for tag in ["h2", "h3", "h4"] {
        let level = tag.as_bytes()[1];
        let mut out = Vec::new();
        for h in page
            .doc
            .select(&sel(tag))
            .filter(|h| !chrome.contains(&h.id()))
        {
            let title = text_of(&h);
            if title.chars().count() < 8 {
                continue;
            }
            let mut run = vec![h];
            for sib in h.next_siblings().filter_map(ElementRef::wrap).take(12) {
                let name = sib.value().name();
                let is_heading =
                    name.len() == 2 && name.starts_with('h') && name.as_bytes()[1].is_ascii_digit();
                if (is_heading && name.as_bytes()[1] <= level) || chrome.contains(&sib.id()) {
                    break;
                }
                run.push(sib);
            }
            let text = block_text(&run[1..]);
            let head: String = text.chars().take(300).collect();
            let Some(published) = structured_date(&run).or_else(|| find_date(&head)) else {
                continue;
            };
            let mut link = page.url.clone();
            if let Some(id) = h.value().id().or_else(|| {
                h.parent()
                    .and_then(ElementRef::wrap)
                    .and_then(|p| p.value().id())
            }) {
                link.set_fragment(Some(id));
            }
            let summary = Some(truncate_chars(text.trim(), 1000)).filter(|s| !s.is_empty());
            let mut e = entry(
                link,
                Some(title),
                Some(published),
                false,
                summary,
                None,
                vec![],
            );
            e.inline = true;
            out.push(e);
        }
        if out.len() >= 2 {
            return out;
        }
    }
    Vec::new()
}

fn describe(parent: &ElementRef, tag: &str, n: usize) -> String {
    let v = parent.value();
    let mut name = v.name().to_string();
    if let Some(id) = v.id() {
        name.push('#');
        name.push_str(id);
    } else if let Some(c) = v.classes().next() {
        name.push('.');
        name.push_str(c);
    }
    format!("{n} repeated <{tag}> blocks in <{name}>")
}

/// A heading and the siblings that belong to it, for listings without wrappers.
fn heading_run<'a>(page: &Page, h: &ElementRef<'a>, tag: &str) -> Vec<ElementRef<'a>> {
    let mut run = vec![*h];
    for sib in h.next_siblings().filter_map(ElementRef::wrap).take(6) {
        if sib.value().name() == tag
            || matches!(sib.value().name(), "h1" | "h2" | "hr")
            || page.in_chrome(&sib)
        {
            break;
        }
        run.push(sib);
    }
    run
}

fn group_score(parent: &ElementRef, drafts: &[Draft]) -> f64 {
    let mut score = 0.0;
    for d in drafts {
        let e = &d.entry;
        let mut s = 1.0;
        if e.published.is_some() {
            s += 1.5;
        }
        if d.has_heading {
            s += 0.5;
        }
        if e.summary.as_ref().is_some_and(|t| t.chars().count() >= 40) {
            s += 0.5;
        }
        if e.title.as_ref().is_none_or(|t| t.chars().count() < 20) {
            s *= 0.5;
        }
        score += s;
    }
    let in_main = std::iter::once(*parent)
        .chain(parent.ancestors().filter_map(ElementRef::wrap))
        .any(|a| {
            let v = a.value();
            v.name() == "main"
                || v.attr("role") == Some("main")
                || v.id().is_some_and(|id| {
                    matches!(
                        id.to_ascii_lowercase().as_str(),
                        "main" | "content" | "inhalt" | "primary" | "main-content" | "maincontent"
                    )
                })
        });
    if in_main { score * 1.3 } else { score }
}

static PAGINATION_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(^|/)(seite|page|p)[-_/]?\d+/?$").expect("valid regex"));

const NON_ARTICLE_SEGMENTS: &[&str] = &[
    "tag",
    "tags",
    "category",
    "categories",
    "kategorie",
    "kategorien",
    "author",
    "autor",
    "autorin",
    "login",
    "anmelden",
    "logout",
    "suche",
    "search",
    "impressum",
    "datenschutz",
    "datenschutzerklaerung",
    "privacy",
    "kontakt",
    "contact",
    "barrierefreiheit",
    "sitemap",
    "feed",
    "rss",
    "wp-login.php",
    "wp-admin",
    "warenkorb",
    "cart",
];

const FILE_TYPES: &[&str] = &[
    ".pdf", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".zip", ".doc", ".docx", ".xls",
    ".xlsx", ".ppt", ".pptx", ".mp3", ".mp4", ".ics", ".xml", ".rss",
];

/// Whether a link can point to an article of this listing.
fn is_article_link(page: &Page, url: &Url) -> bool {
    if !same_site(url, &page.url) {
        return false;
    }
    let path = url.path().to_ascii_lowercase();
    if path == "/" || url.as_str() == page.url.as_str() {
        return false;
    }
    if FILE_TYPES.iter().any(|ext| path.ends_with(ext)) {
        return false;
    }
    if path
        .split('/')
        .any(|seg| NON_ARTICLE_SEGMENTS.contains(&seg))
    {
        return false;
    }
    if PAGINATION_PATH.is_match(path.trim_end_matches('/')) {
        return false;
    }
    // The listing itself with another page number.
    if url.path() == page.url.path()
        && url.query_pairs().any(|(k, _)| {
            matches!(
                k.as_ref(),
                "page" | "seite" | "p" | "start" | "offset" | "pg"
            )
        })
    {
        return false;
    }
    true
}

fn select_all<'a>(block: &[ElementRef<'a>], css: &Selector) -> Vec<ElementRef<'a>> {
    let mut out = Vec::new();
    for node in block {
        if css.matches(node) {
            out.push(*node);
        }
        out.extend(node.select(css));
    }
    out
}

fn block_text(block: &[ElementRef]) -> String {
    block.iter().map(text_of).collect::<Vec<_>>().join(" ")
}

/// Whether an id or class contains one of `words` as a word ("entry-date", "news_datum").
fn class_or_id_has(el: &ElementRef, words: &[&str]) -> bool {
    let v = el.value();
    v.id().into_iter().chain(v.classes()).any(|c| {
        let c = c.to_ascii_lowercase();
        c.split(['-', '_']).any(|part| words.contains(&part))
    })
}

const DATE_HINTS: &[&str] = &[
    "date",
    "datum",
    "time",
    "zeit",
    "posted",
    "published",
    "veroeffentlicht",
    "meta",
    "created",
    "pubdate",
    "info",
];
const TEASER_HINTS: &[&str] = &[
    "teaser",
    "summary",
    "excerpt",
    "description",
    "intro",
    "abstract",
    "lead",
    "snippet",
    "vorspann",
    "body",
    "text",
    "kurztext",
];
const AUTHOR_HINTS: &[&str] = &[
    "author",
    "autor",
    "byline",
    "vcard",
    "verfasser",
    "createdby",
];

/// A date from markup for machines (`<time datetime>`, microdata).
fn structured_date(block: &[ElementRef]) -> Option<DateTime<Utc>> {
    let published = select_all(block, &sel("[itemprop~=datePublished]"));
    let times = select_all(block, &sel("time[datetime]"));
    // A time marked as "updated" is not the publication.
    let times = times
        .iter()
        .filter(|t| !class_or_id_has(t, &["updated", "modified"]));
    published
        .iter()
        .chain(times)
        .filter_map(|el| {
            el.value()
                .attr("datetime")
                .or_else(|| el.value().attr("content"))
        })
        .find_map(parse_timestamp)
}

/// A date from visible text: elements hinting at dates first, then the whole block.
fn visible_date(block: &[ElementRef], title: Option<&str>) -> Option<DateTime<Utc>> {
    let all = select_all(block, &sel("*"));
    for el in &all {
        if class_or_id_has(el, DATE_HINTS) {
            if let Some(d) = find_date(&text_of(el)) {
                return Some(d);
            }
        }
    }
    let mut text = block_text(block);
    if let Some(t) = title {
        text = text.replacen(t, " ", 1);
    }
    find_date(&text)
}

fn analyze_block(page: &Page, block: &[ElementRef]) -> Option<Draft> {
    let links: Vec<(ElementRef, Url)> = select_all(block, &sel("a[href]"))
        .into_iter()
        .filter_map(|a| Some((a, page.resolve(a.value().attr("href")?)?)))
        .filter(|(_, u)| is_article_link(page, u))
        .collect();
    if links.is_empty() {
        return None;
    }
    let heading = select_all(block, &sel("h1, h2, h3, h4, h5, h6"))
        .into_iter()
        .find(|h| text_of(h).chars().count() >= 3);
    let heading_link = heading.and_then(|h| {
        links
            .iter()
            .find(|(a, _)| {
                h.id() == a.id()
                    || a.ancestors().any(|x| x.id() == h.id())
                    || h.ancestors().any(|x| x.id() == a.id())
            })
            .map(|(_, u)| u.clone())
    });
    // The link named by the longest descriptive text, when no heading links it.
    let named_link = links
        .iter()
        .filter(|(a, _)| !is_generic_link_text(&text_of(a)))
        .max_by_key(|(a, _)| text_of(a).chars().count())
        .map(|(a, u)| (text_of(a), u.clone()));
    let link = heading_link
        .clone()
        .or_else(|| named_link.as_ref().map(|(_, u)| u.clone()))
        .unwrap_or_else(|| links[0].1.clone());
    let headline = select_all(block, &sel("[itemprop~=headline]"))
        .first()
        .map(text_of);
    let title = heading
        .filter(|_| heading_link.is_some() || named_link.is_none())
        .map(|h| text_of(&h))
        .or(headline)
        .or_else(|| {
            named_link
                .as_ref()
                .filter(|(_, u)| *u == link)
                .map(|(t, _)| t.clone())
        })
        .or_else(|| {
            links.iter().find_map(|(a, u)| {
                (*u == link)
                    .then(|| a.value().attr("title").map(str::to_string))
                    .flatten()
            })
        })
        .filter(|t| t.chars().count() >= 5 && !is_generic_link_text(t))?;

    let (published, date_structured) = match structured_date(block) {
        Some(d) => (Some(d), true),
        None => (visible_date(block, Some(&title)), false),
    };
    let summary = teaser(block, &title);
    let author = select_all(block, &sel("[itemprop~=author], [rel~=author], *"))
        .into_iter()
        .find(|el| {
            el.value()
                .attr("itemprop")
                .is_some_and(|p| p.contains("author"))
                || el.value().attr("rel").is_some_and(|r| r.contains("author"))
                || class_or_id_has(el, AUTHOR_HINTS)
        })
        .map(|el| {
            let name = el.select(&sel("[itemprop~=name]")).next().unwrap_or(el);
            clean_author(&text_of(&name))
        })
        .filter(|a| !a.is_empty() && a.chars().count() <= 80);
    let categories: Vec<String> = select_all(
        block,
        &sel("a[rel~=tag], a[rel~=category], [class*=cat-links] a, [class*=categor] a"),
    )
    .iter()
    .map(text_of)
    .filter(|c| !c.is_empty() && c.chars().count() <= 60)
    .collect();
    Some(Draft {
        has_heading: heading.is_some(),
        entry: entry(
            link,
            Some(title),
            published,
            date_structured,
            summary,
            author,
            categories,
        ),
    })
}

fn entry(
    link: Url,
    title: Option<String>,
    published: Option<DateTime<Utc>>,
    date_structured: bool,
    summary: Option<String>,
    author: Option<String>,
    categories: Vec<String>,
) -> ListingEntry {
    let mut h = Sha256::new();
    for part in [
        link.as_str(),
        title.as_deref().unwrap_or(""),
        summary.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(published.map(|p| p.timestamp()).unwrap_or(0).to_le_bytes());
    ListingEntry {
        fingerprint: hex::encode(&h.finalize()[..8]),
        link,
        title,
        published,
        date_structured,
        summary,
        author,
        categories,
        inline: false,
    }
}

/// "von Max Muster", "Autor: Max Muster" → "Max Muster".
pub(crate) fn clean_author(raw: &str) -> String {
    let mut s = raw.trim();
    for prefix in [
        "Geschrieben von",
        "Verfasst von",
        "Erstellt von",
        "von ",
        "Von ",
        "by ",
        "By ",
        "Autor:",
        "Autorin:",
        "Autor",
        "Autorin",
        "Text:",
        "Text",
        "Verfasser:",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.trim_start_matches([':', ' ']);
        }
    }
    s.trim()
        .trim_end_matches(['|', ',', '·'])
        .trim()
        .to_string()
}

/// The entry's teaser: an element marked as such, else the longest text
/// that is neither the title nor a date line nor "read more".
fn teaser(block: &[ElementRef], title: &str) -> Option<String> {
    let usable = |t: &str| {
        t.chars().count() >= 25
            && !t.contains(title)
            && !is_generic_link_text(t)
            && find_date(t).is_none_or(|_| t.chars().count() > 60)
    };
    let all = select_all(block, &sel("*"));
    let hinted = all
        .iter()
        .filter(|el| {
            el.value()
                .attr("itemprop")
                .is_some_and(|p| p.contains("description"))
                || class_or_id_has(el, TEASER_HINTS)
        })
        .map(text_of)
        .find(|t| usable(t));
    // Text leaves: elements with enough text of which no child element has as much.
    let leaf = || {
        all.iter()
            .filter(|el| {
                !matches!(
                    el.value().name(),
                    "a" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "time" | "small"
                )
            })
            .map(|el| (el, text_of(el)))
            .filter(|(el, t)| {
                usable(t)
                    && el
                        .child_elements()
                        .all(|c| text_of(&c).chars().count() < 25)
            })
            .map(|(_, t)| t)
            .max_by_key(|t| t.chars().count())
    };
    // Mixed content ("<b>date</b> – <a>title</a><br>text"): what remains besides title and date.
    let rest = || {
        let text = block_text(block).replacen(title, " ", 1);
        let rest = text
            .trim_start_matches(|c: char| {
                c.is_ascii_digit() || c.is_whitespace() || ".,:;|–-".contains(c)
            })
            .trim();
        Some(rest.to_string()).filter(|t| usable(t))
    };
    hinted
        .or_else(leaf)
        .or_else(rest)
        .map(|t| truncate_chars(&t, 1000))
}

// ---------------------------------------------------------------------------
// Operator selectors.
// ---------------------------------------------------------------------------

fn with_selectors(page: &Page, s: &Selectors) -> Vec<ListingEntry> {
    let Ok(item) = Selector::parse(&s.item) else {
        return vec![];
    };
    let field = |spec: &Option<String>| spec.as_deref().and_then(|x| FieldSelector::parse(x).ok());
    let (title_sel, link_sel, date_sel, summary_sel, author_sel) = (
        field(&s.title),
        field(&s.link),
        field(&s.date),
        field(&s.summary),
        field(&s.author),
    );
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for block in page.doc.select(&item) {
        let nodes = [block];
        let link = match &link_sel {
            Some(f) => f.value(&block).and_then(|(v, is_attr)| {
                if is_attr {
                    page.resolve(&v)
                } else {
                    block
                        .select(&f.css)
                        .next()
                        .and_then(|a| a.value().attr("href"))
                        .and_then(|h| page.resolve(h))
                }
            }),
            None => select_all(
                &nodes,
                &sel("h1 a[href], h2 a[href], h3 a[href], h4 a[href], a[href]"),
            )
            .into_iter()
            .find_map(|a| page.resolve(a.value().attr("href")?)),
        };
        let Some(link) = link else { continue };
        if !seen.insert(link.clone()) {
            continue;
        }
        let title = match &title_sel {
            Some(f) => f.value(&block).map(|(v, _)| v),
            None => analyze_block(page, &nodes).and_then(|d| d.entry.title),
        };
        let (published, structured) = match &date_sel {
            Some(f) => match f.value(&block) {
                Some((v, is_attr)) => (parse_date_with(&v, s.date_format.as_deref()), is_attr),
                None => (None, false),
            },
            None => match structured_date(&nodes) {
                Some(d) => (Some(d), true),
                None => (visible_date(&nodes, title.as_deref()), false),
            },
        };
        let summary = match &summary_sel {
            Some(f) => f.value(&block).map(|(v, _)| truncate_chars(&v, 1000)),
            None => title.as_deref().and_then(|t| teaser(&nodes, t)),
        };
        let author = author_sel
            .as_ref()
            .and_then(|f| f.value(&block))
            .map(|(v, _)| clean_author(&v));
        out.push(entry(
            link,
            title,
            published,
            structured,
            summary,
            author,
            vec![],
        ));
    }
    out
}

/// A date read with the operator's chrono format, else by the automatic parser.
pub fn parse_date_with(text: &str, format: Option<&str>) -> Option<DateTime<Utc>> {
    if let Some(f) = format {
        let t = text.trim();
        if let Ok(dt) = DateTime::parse_from_str(t, f) {
            return Some(dt.with_timezone(&Utc));
        }
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, f) {
            return berlin_local(naive);
        }
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return berlin_day(d);
        }
    }
    parse_timestamp(text).or_else(|| find_date(text))
}

// ---------------------------------------------------------------------------
// Pagination.
// ---------------------------------------------------------------------------

const NEXT_WORDS: &[&str] = &[
    "weiter",
    "nächste",
    "naechste",
    "next",
    "ältere",
    "aeltere",
    "older",
    "vorwärts",
    "mehr meldungen",
    "mehr nachrichten",
    "weitere meldungen",
    "weitere beiträge",
];
const BACK_WORDS: &[&str] = &[
    "zurück",
    "vorherige",
    "neuere",
    "newer",
    "previous",
    "prev",
    "«",
    "‹",
    "<",
];

/// The next listing page: `rel=next`, else a link saying "Weiter"/"Nächste"/"ältere ...".
pub fn next_page(page: &Page) -> Option<Url> {
    let ok = |u: &Url| same_site(u, &page.url) && u.as_str() != page.url.as_str();
    if let Some(u) = page
        .doc
        .select(&sel("link[rel~=next][href], a[rel~=next][href]"))
        .find_map(|l| page.resolve(l.value().attr("href")?))
        .filter(ok)
    {
        return Some(u);
    }
    let mut numbered = None;
    for a in page.doc.select(&sel("a[href]")) {
        let Some(url) = a.value().attr("href").and_then(|h| page.resolve(h)) else {
            continue;
        };
        if !ok(&url) || in_site_menu(&a) {
            continue;
        }
        let label = [
            text_of(&a),
            a.value().attr("aria-label").unwrap_or("").to_string(),
            a.value().attr("title").unwrap_or("").to_string(),
        ]
        .iter()
        .map(|s| s.trim().to_lowercase())
        .find(|s| !s.is_empty())
        .unwrap_or_default();
        if BACK_WORDS.iter().any(|w| label.starts_with(w)) {
            continue;
        }
        if !is_listing_page(&url, page) {
            continue;
        }
        let only_arrows = label
            .chars()
            .all(|c| "»›>".contains(c) || c.is_whitespace());
        if only_arrows
            || (NEXT_WORDS.iter().any(|w| label.starts_with(w))
                && !is_generic_link_text_for_article(&label))
        {
            return Some(url);
        }
        if label == "2" && numbered.is_none() {
            numbered = Some(url);
        }
    }
    numbered
}

/// A further page of the same listing: same path with another query, or a
/// paginated path (`/page/2/`, `/seite-2/`) — never an article.
fn is_listing_page(url: &Url, page: &Page) -> bool {
    (url.path() == page.url.path() && url.query() != page.url.query())
        || PAGINATION_PATH.is_match(url.path().trim_end_matches('/'))
}

/// "Weiterlesen" starts with "weiter" but leads to an article, not the next page.
fn is_generic_link_text_for_article(label: &str) -> bool {
    label.starts_with("weiterlesen")
        || label.starts_with("weiter lesen")
        || label.starts_with("weiter zum")
}

/// The site menu (header, footer, navigation) never paginates; a pagination
/// block may itself be a `<nav>`, so it is recognised by its class first.
fn in_site_menu(a: &ElementRef) -> bool {
    let mut in_menu = false;
    for x in a.ancestors().filter_map(ElementRef::wrap) {
        if x.value()
            .id()
            .into_iter()
            .chain(x.value().classes())
            .any(|c| {
                let c = c.to_ascii_lowercase();
                c.contains("pag") || c.contains("blaettern") || c.contains("seiten")
            })
        {
            return false;
        }
        let v = x.value();
        if matches!(v.name(), "header" | "footer" | "nav") || v.attr("role") == Some("navigation") {
            in_menu = true;
        }
    }
    in_menu
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str, url: &str) -> Page {
        Page::parse(html, &Url::parse(url).unwrap())
    }

    #[test]
    fn table_rows_and_flat_headings_are_listings_too() {
        let rows = r#"<html><body><table><tr><td>12.03.2026</td><td><a href="/n/1">Stadtrat beschließt neuen Haushalt für 2026</a></td></tr>
            <tr><td>05.03.2026</td><td><a href="/n/2">Neue Buslinie verbindet Ortsteile mit dem Bahnhof</a></td></tr></table></body></html>"#;
        let l = parse_listing(&page(rows, "https://stadt.example/aktuelles"), None);
        assert_eq!(l.entries.len(), 2, "{}", l.method);
        assert_eq!(
            l.entries[1].title.as_deref(),
            Some("Neue Buslinie verbindet Ortsteile mit dem Bahnhof")
        );
        assert_eq!(
            l.entries[0].published,
            berlin_day(NaiveDate::from_ymd_opt(2026, 3, 12).unwrap())
        );

        let flat = r#"<main><h1>Neuigkeiten</h1><h3><a href="a.html">Erste Meldung mit langem Titel</a></h3><p>3. März 2026</p><p>Ein Teaser, der erklärt, worum es in der Meldung geht.</p>
            <h3><a href="b.html">Zweite Meldung mit langem Titel</a></h3><p>1. März 2026</p><p>Noch ein Teaser, der erklärt, worum es hier geht.</p></main>"#;
        let l = parse_listing(&page(flat, "https://verein.example/news/"), None);
        assert_eq!(l.entries.len(), 2, "{}", l.method);
        assert_eq!(
            l.entries[0].link.as_str(),
            "https://verein.example/news/a.html"
        );
        assert!(
            l.entries[0]
                .summary
                .as_deref()
                .unwrap()
                .starts_with("Ein Teaser")
        );
        assert!(l.entries[1].published.is_some());
    }

    #[test]
    fn navigation_and_sidebars_are_not_news() {
        let html = r#"<body><nav><ul><li><a href="/a">Über uns und unsere Arbeit</a></li><li><a href="/b">Kontakt und Anfahrt zum Büro</a></li></ul></nav>
            <div class="content"><div class="item"><a href="/news/x">Förderbescheid für das neue Gründerzentrum übergeben</a><span class="date">02.02.2026</span></div>
            <div class="item"><a href="/news/y">Radweg zwischen Forst und Guben wird gebaut</a><span class="date">01.02.2026</span></div></div>
            <aside><ul><li>03.03.2026 <a href="/termine">Sprechstunde im Rathaus mit der Bürgermeisterin</a></li><li>04.03.2026 <a href="/termine2">Ausschusssitzung zum Haushalt im Rathaus</a></li></ul></aside></body>"#;
        let l = parse_listing(&page(html, "https://x.example/news/"), None);
        let links: Vec<&str> = l.entries.iter().map(|e| e.link.path()).collect();
        assert_eq!(links, vec!["/news/x", "/news/y"], "{}", l.method);
    }

    #[test]
    fn selectors_override_the_guess() {
        let html = r#"<ul class="x"><li class="n"><span class="d">2026-03-02</span><b>Titel eins</b><a href="/1">mehr</a></li><li class="n"><span class="d">2026-03-01</span><b>Titel zwei</b><a href="/2">mehr</a></li></ul>"#;
        let s = Selectors {
            item: "li.n".into(),
            title: Some("b".into()),
            link: Some("a@href".into()),
            date: Some("span.d".into()),
            date_format: Some("%Y-%m-%d".into()),
            ..Default::default()
        };
        let l = parse_listing(&page(html, "https://x.example/"), Some(&s));
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].title.as_deref(), Some("Titel eins"));
        assert_eq!(l.entries[0].link.as_str(), "https://x.example/1");
        assert_eq!(
            l.entries[0].published,
            berlin_day(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap())
        );
        assert!(FieldSelector::parse("a:no-such-pseudo").is_err());
        assert!(FieldSelector::parse("").is_err());
    }

    #[test]
    fn next_page_by_rel_or_by_words_but_never_back() {
        let p = page(
            r#"<p><a href="./">« neuere Meldungen</a> <a href="?page=3">ältere Meldungen »</a></p>"#,
            "https://x.example/presse/?page=2",
        );
        assert_eq!(
            next_page(&p).unwrap().as_str(),
            "https://x.example/presse/?page=3"
        );
        let p = page(
            r#"<p><a href="./">« neuere Meldungen</a> Seite 2 von 2</p>"#,
            "https://x.example/presse/?page=2",
        );
        assert_eq!(next_page(&p), None);
        let p = page(
            r#"<head><link rel="next" href="/news/seite-2/"></head><a href="/x">Weiterlesen</a>"#,
            "https://x.example/news/",
        );
        assert_eq!(next_page(&p).unwrap().path(), "/news/seite-2/");
        let p = page(r#"<a href="/x">Weiterlesen</a>"#, "https://x.example/news/");
        assert_eq!(next_page(&p), None);
    }

    #[test]
    fn hostile_nesting_and_size_neither_overflow_nor_hang() {
        // 20,000 nested elements: recursion would overflow the stack; ancestor
        // walks per element would be quadratic.
        let deep = format!(
            "<html><body>{}<p>Text 13.02.2026</p>{}</body></html>",
            "<div class=\"x\">".repeat(20_000),
            "</div>".repeat(20_000)
        );
        let p = page(&deep, "https://x.example/");
        let l = parse_listing(&p, None);
        let a = crate::extract::html::parse_article(&p, None);
        assert!(l.entries.is_empty() && a.title_visible.is_none());
        // Many repeated blocks: the analysis budget caps the work.
        let wide = format!(
            "<ul>{}</ul>",
            "<li><a href=\"/n/x\">Eine Meldung mit Titel</a> 01.02.2026</li>".repeat(20_000)
        );
        let l = parse_listing(&page(&wide, "https://x.example/"), None);
        assert!(l.entries.len() <= 1, "all entries share one link");
    }

    #[test]
    fn authors_lose_their_labels() {
        assert_eq!(clean_author(" von Dr. Ines Wuttke "), "Dr. Ines Wuttke");
        assert_eq!(clean_author("Autor: Max Muster"), "Max Muster");
    }
}
