//! Reading news from plain HTML pages, for partners without a feed: a
//! listing page gives links, titles, dates and teasers (`listing`); each
//! article page adds structured metadata and the body (`article`); `merge`
//! combines both by trust. Shared here: the parsed page with its base URL,
//! which parts of a page are chrome (navigation, sidebars, cookie banners),
//! and text helpers.

pub mod article;
pub mod lead_image;
pub mod listing;
pub mod prune;
pub mod structured;

use std::cell::OnceCell;
use std::collections::HashSet;

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use crate::model::{ExtractedItem, Fragment, Origin, Provenance};
use crate::text::collapse_whitespace;

pub use article::{Article, Dated, parse_article};
pub use listing::{Listing, ListingEntry, Selectors, parse_listing};

/// A parsed page and the URL its relative links resolve against.
pub struct Page {
    pub doc: Html,
    /// The page's own URL (after redirects).
    pub url: Url,
    /// `<base href>` if present, else the page URL.
    pub base: Url,
    chrome: OnceCell<HashSet<NodeId>>,
}

impl Page {
    /// Parses a partner page, unless its markup is over
    /// `MarkupBudget::PAGE` (checked first, in linear time).
    pub fn parse(html: &str, url: &Url) -> Result<Page, crate::extract::ExtractError> {
        crate::markup::check(html, crate::markup::MarkupBudget::PAGE)?;
        Ok(Page::parse_unchecked(html, url))
    }

    /// Parses without the budget: for tests of the extractors' own
    /// robustness on trees the budget would have refused.
    pub(crate) fn parse_unchecked(html: &str, url: &Url) -> Page {
        let doc = Html::parse_document(html);
        let base = doc
            .select(&sel("base[href]"))
            .next()
            .and_then(|b| b.value().attr("href"))
            .and_then(|h| url.join(h.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .unwrap_or_else(|| url.clone());
        Page {
            doc,
            url: url.clone(),
            base,
            chrome: OnceCell::new(),
        }
    }

    /// An href resolved against the page's base, if it is an http(s) URL.
    pub fn resolve(&self, href: &str) -> Option<Url> {
        let href = href.trim();
        if href.is_empty()
            || href.starts_with('#')
            || href.starts_with("javascript:")
            || href.starts_with("mailto:")
        {
            return None;
        }
        let mut u = self.base.join(href).ok()?;
        u.set_fragment(None);
        matches!(u.scheme(), "http" | "https").then_some(u)
    }

    /// `<link rel="canonical">`, resolved.
    pub fn canonical(&self) -> Option<Url> {
        self.doc
            .select(&sel("link[rel~=canonical][href]"))
            .next()
            .and_then(|l| self.resolve(l.value().attr("href")?))
    }

    pub fn meta(&self, key: &str) -> Option<String> {
        structured::meta(&self.doc, key)
    }
}

/// Parses a selector written in this file; a typo here is a bug, not input.
pub(crate) fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("invalid built-in selector {css}: {e}"))
}

/// Words in ids and classes that mark page chrome rather than content.
const CHROME_WORDS: &[&str] = &[
    "nav",
    "navi",
    "navigation",
    "navbar",
    "menu",
    "menue",
    "breadcrumb",
    "breadcrumbs",
    "brotkrumen",
    "sidebar",
    "widget",
    "widgets",
    "footer",
    "fuss",
    "comment",
    "comments",
    "kommentare",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "related",
    "share",
    "sharing",
    "social",
    "pagination",
    "pager",
    "paginator",
    "blaettern",
    "skip",
    "topbar",
    "masthead",
    "search",
    "suche",
    "banner",
    "toolbar",
];

fn is_chrome_word(word: &str) -> bool {
    CHROME_WORDS.contains(&word)
}

/// Whether the element itself is page chrome (navigation, sidebars,
/// banners ...). A `<header>`/`<footer>` is chrome only outside content
/// (`in_content`: inside article, main or section), where it is the page's own.
pub(crate) fn is_chrome_own(el: &ElementRef, in_content: bool) -> bool {
    let v = el.value();
    if matches!(
        v.name(),
        "nav"
            | "aside"
            | "form"
            | "script"
            | "style"
            | "noscript"
            | "template"
            | "select"
            | "button"
            | "dialog"
    ) {
        return true;
    }
    if matches!(v.name(), "header" | "footer") && !in_content {
        return true;
    }
    if let Some(role) = v.attr("role") {
        if matches!(
            role,
            "navigation"
                | "banner"
                | "contentinfo"
                | "complementary"
                | "search"
                | "dialog"
                | "menu"
                | "menubar"
        ) {
            return true;
        }
    }
    if v.attr("aria-hidden") == Some("true") && v.name() != "a" {
        return true;
    }
    is_chrome_by_words(el, in_content)
}

/// Whether the element's id or classes name chrome ("sidebar", "nav-menu").
/// `<html>` and `<body>` are the page itself: themes put words like
/// "has-sidebar" or "cookies-not-set" there, and they never make the whole page chrome.
/// Inside content, "footer" names the article's own footer (TYPO3's news
/// template keeps the date there), as a `<footer>` element there does.
pub(crate) fn is_chrome_by_words(el: &ElementRef, in_content: bool) -> bool {
    let v = el.value();
    if matches!(v.name(), "html" | "body") {
        return false;
    }
    v.id().into_iter().chain(v.classes()).any(|name| {
        name.to_ascii_lowercase()
            .split(['-', '_', ' '])
            .any(|w| is_chrome_word(w) && !(in_content && matches!(w, "footer" | "fuss")))
    })
}

fn opens_content(el: &ElementRef) -> bool {
    matches!(el.value().name(), "article" | "main" | "section")
        || el.value().attr("role") == Some("main")
}

impl Page {
    /// Every element that is chrome or inside chrome, computed once in one
    /// pass (pages can be deep; per-element ancestor walks would be quadratic).
    pub(crate) fn chrome(&self) -> &HashSet<NodeId> {
        self.chrome
            .get_or_init(|| self.chrome_sparing(&HashSet::new(), None))
    }

    /// Chrome as in [`Page::chrome`], except that no element in `spared` is
    /// chrome (an article page spares whatever holds its headline and main
    /// text). `spared` must hold every ancestor of what it holds.
    /// `content` is an element known to hold the article (as `<article>` would).
    pub(crate) fn chrome_sparing(
        &self,
        spared: &HashSet<NodeId>,
        content: Option<NodeId>,
    ) -> HashSet<NodeId> {
        let mut out = HashSet::new();
        let mut stack: Vec<(ego_tree::NodeRef<scraper::Node>, bool, bool)> =
            vec![(*self.doc.root_element(), false, false)];
        while let Some((node, parent_chrome, in_content)) = stack.pop() {
            let Some(el) = ElementRef::wrap(node) else {
                continue;
            };
            let chrome =
                !spared.contains(&el.id()) && (parent_chrome || is_chrome_own(&el, in_content));
            if chrome {
                out.insert(el.id());
            }
            let content = in_content || opens_content(&el) || Some(el.id()) == content;
            for child in node.children() {
                stack.push((child, chrome, content));
            }
        }
        out
    }

    /// Whether the element is chrome or inside chrome.
    pub(crate) fn in_chrome(&self, el: &ElementRef) -> bool {
        self.chrome().contains(&el.id())
    }
}

/// Screen-reader-only helpers ("Weiterlesen „Title“") repeat text that is
/// visible elsewhere; hidden rich-snippet copies ("rich-snippet-hidden",
/// `hidden`, `display:none`) hold machine dates a reader never sees.
/// "hidden-xs" (hidden on small screens only) is visible text.
pub(crate) fn is_hidden_helper(el: &ElementRef) -> bool {
    let v = el.value();
    v.attr("hidden").is_some()
        || v.attr("style").is_some_and(|s| {
            let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            s.to_ascii_lowercase().contains("display:none")
        })
        || v.classes().any(|c| {
            let c = c.to_ascii_lowercase();
            // Not any "-hidden": Drupal's "field--label-hidden" hides a label, not the field.
            c.contains("screen-reader")
                || c.contains("sr-only")
                || c.contains("visually-hidden")
                || c.contains("visuallyhidden")
                || c.contains("snippet-hidden")
                || matches!(c.as_str(), "hidden" | "is-hidden" | "u-hidden" | "d-none")
        })
}

pub(crate) const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "td",
    "th",
    "tr",
    "dd",
    "dt",
    "section",
    "article",
    "header",
    "footer",
    "figcaption",
];

/// Visible text of an element, whitespace collapsed, without script/style and
/// screen-reader helpers. Iterative, so deeply nested pages can't overflow the stack.
pub(crate) fn text_of(el: &ElementRef) -> String {
    enum Step<'a> {
        Visit(ego_tree::NodeRef<'a, scraper::Node>),
        Space,
    }
    let mut out = String::new();
    let mut stack: Vec<Step> = el.children().rev().map(Step::Visit).collect();
    while let Some(step) = stack.pop() {
        let node = match step {
            Step::Space => {
                out.push(' ');
                continue;
            }
            Step::Visit(node) => node,
        };
        if let Some(t) = node.value().as_text() {
            out.push_str(t);
            continue;
        }
        let Some(e) = ElementRef::wrap(node) else {
            continue;
        };
        let name = e.value().name();
        if matches!(name, "script" | "style" | "noscript" | "template") || is_hidden_helper(&e) {
            continue;
        }
        let block = BLOCK_TAGS.contains(&name);
        if block {
            out.push(' ');
            stack.push(Step::Space);
        }
        stack.extend(node.children().rev().map(Step::Visit));
    }
    collapse_whitespace(&out)
}

/// Link texts that say "read more" rather than naming the article.
pub(crate) fn is_generic_link_text(text: &str) -> bool {
    let t = text
        .trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    t.is_empty()
        || matches!(
            t.as_str(),
            "weiterlesen"
                | "mehr"
                | "mehr lesen"
                | "mehr erfahren"
                | "mehr dazu"
                | "zum artikel"
                | "zur meldung"
                | "details"
                | "more"
                | "read more"
                | "continue reading"
                | "hier"
                | "link"
                | "lesen"
                | "artikel lesen"
                | "meldung lesen"
                | "zum beitrag"
                | "beitrag lesen"
                | "mehr informationen"
                | "weiter"
        )
        || t.starts_with("weiterlesen")
        || t.starts_with("mehr zu")
        || t.starts_with("read more")
}

/// How far a listing's date is trusted, on the scale of [`article::Dated::trust`]:
/// machine-readable markup there beats a `<time>` on the article page; a date
/// the listing merely shows beats what the article page merely shows (a typo
/// there must not win), but not the page's markup.
fn listing_date_trust(entry: &ListingEntry) -> u8 {
    if entry.date_structured { 80 } else { 62 }
}

/// A listing title cut short ("Neue Halle für …") gives way to the article
/// page's full title that it is the start of.
fn completed_title(listing: &str, full: &[(&String, Provenance)]) -> Option<(String, Provenance)> {
    let stem = listing.trim_end();
    let stem = stem
        .strip_suffix('…')
        .or_else(|| stem.strip_suffix("..."))?
        .trim_end();
    let stem = article::fold_title(stem);
    if stem.chars().count() < 3 {
        return None;
    }
    full.iter()
        .find(|(t, _)| {
            let t = article::fold_title(t);
            t.len() > stem.len() && t.starts_with(&stem)
        })
        .map(|(t, p)| ((*t).clone(), *p))
}

/// Combines what a listing says about an entry with what its article page says,
/// each field taken from the most trustworthy place that has it.
pub fn merge(entry: &ListingEntry, article: Option<&Article>) -> ExtractedItem {
    let Some(a) = article else {
        return ExtractedItem {
            link: Some(entry.link.clone()),
            title: entry.title.clone().map(Fragment::plain),
            summary: entry.summary.clone().map(Fragment::plain),
            published: entry.published,
            authors: entry.author.clone().into_iter().collect(),
            categories: entry.categories.clone(),
            base: Some(entry.link.clone()),
            origin: Origin {
                title: entry.title.as_ref().map(|_| Provenance::Listing),
                date: entry.published.map(|_| Provenance::Listing),
            },
            ..Default::default()
        };
    };
    let link = a
        .canonical
        .clone()
        .filter(|c| same_site(c, &entry.link))
        .unwrap_or_else(|| entry.link.clone());
    // Structured article metadata beats the listing; the listing's own headline beats
    // what a page merely shows, unless the listing cut it short.
    let full: Vec<(&String, Provenance)> = a
        .title_structured
        .iter()
        .map(|t| (t, a.title_structured_from.unwrap_or(Provenance::JsonLd)))
        .chain(
            a.title_visible
                .iter()
                .map(|t| (t, a.title_visible_from.unwrap_or(Provenance::Heading))),
        )
        .chain(a.titles_other.iter().map(|t| (t, Provenance::OgTitle)))
        .collect();
    let title = full
        .first()
        .filter(|_| a.title_structured.is_some())
        .map(|(t, p)| ((*t).clone(), *p))
        .or_else(|| {
            let listing = entry.title.as_ref()?;
            completed_title(listing, &full).or_else(|| Some((listing.clone(), Provenance::Listing)))
        })
        .or_else(|| full.first().map(|(t, p)| ((*t).clone(), *p)));
    let listing_date = entry
        .published
        .map(|at| (at, Provenance::Listing, listing_date_trust(entry)));
    let page_date = a.publication().map(|d| (d.at, d.from, d.trust));
    let published = match (page_date, listing_date) {
        (Some(p), Some(l)) => Some(if p.2 > l.2 { p } else { l }),
        (p, l) => p.or(l),
    };
    let mut authors: Vec<String> = a.authors.clone();
    if authors.is_empty() {
        authors.extend(entry.author.clone());
    }
    let mut categories = entry.categories.clone();
    for c in &a.categories {
        if !categories.contains(c) {
            categories.push(c.clone());
        }
    }
    ExtractedItem {
        guid: None,
        link: Some(link.clone()),
        origin: Origin {
            title: title.as_ref().map(|(_, p)| *p),
            date: published.map(|(_, p, _)| p),
        },
        title: title.map(|(t, _)| Fragment::plain(t)),
        summary: entry
            .summary
            .clone()
            .or_else(|| a.description.clone())
            .map(Fragment::plain),
        content: a.content_html.clone().map(Fragment::html),
        published: published.map(|(at, _, _)| at),
        updated: a.updated,
        authors,
        categories,
        base: Some(a.base.clone()),
        media: a.image.clone().into_iter().collect(),
    }
}

/// Same website: the same registrable domain, so that a listing on
/// www.stadt.de may link to news.stadt.de.
pub(crate) fn same_site(a: &Url, b: &Url) -> bool {
    match (a.host_str(), b.host_str()) {
        (Some(x), Some(y)) => site_key(x) == site_key(y),
        _ => false,
    }
}

/// The registrable part of a host, approximated without the public suffix
/// list: the last two labels, three under generic second levels (co.uk,
/// com.pl); IP addresses as they are.
fn site_key(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let take = if n >= 3
        && matches!(
            labels[n - 2],
            "co" | "com" | "org" | "net" | "gov" | "ac" | "edu"
        ) {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_are_the_same_site_but_neighbours_are_not() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_site(
            &u("https://www.stadt-forst.de/a"),
            &u("https://news.stadt-forst.de/b")
        ));
        assert!(same_site(
            &u("https://www.forst.co.uk/"),
            &u("https://forst.co.uk/x")
        ));
        assert!(!same_site(
            &u("https://forst.co.uk/"),
            &u("https://guben.co.uk/x")
        ));
        assert!(!same_site(
            &u("https://stadt-forst.de/"),
            &u("https://stadt-guben.de/")
        ));
        assert!(same_site(
            &u("http://127.0.0.1:8080/a"),
            &u("http://127.0.0.1:9/b")
        ));
    }
}
