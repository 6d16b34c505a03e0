//! The link to a listing's next page: `rel=next`, else a link saying
//! "Weiter"/"Nächste"/"ältere ..." (never "zurück", never "Weiterlesen"),
//! else the link labelled "2".

use std::sync::LazyLock;

use regex::Regex;
use scraper::ElementRef;
use url::Url;

use crate::extract::html::{Page, same_site, sel, text_of};

/// A paginated path (`/page/2/`, `/seite-2/`); such a link is never an article.
pub(super) static PAGINATION_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(^|/)(seite|page|p)[-_/]?\d+/?$").expect("valid regex"));

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
pub(super) fn next_page(page: &Page) -> Option<Url> {
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
    use crate::extract::html::listing::test_page as page;

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
}
