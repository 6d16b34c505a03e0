//! Reading one news block of a listing: which link is the article's, its
//! title, date (machine markup before visible text), teaser, author and
//! categories. Used by automatic detection and as the fallback for fields the
//! operator's selectors leave out.

use chrono::{DateTime, Utc};
use scraper::{ElementRef, Selector};
use url::Url;

use super::pagination::PAGINATION_PATH;
use super::{ListingEntry, entry};
use crate::extract::dates::{find_date, parse_timestamp};
use crate::extract::html::{Page, is_generic_link_text, same_site, sel, text_of};
use crate::text::truncate_chars;

/// One candidate entry inside a block.
pub(super) struct Draft {
    pub(super) entry: ListingEntry,
    pub(super) has_heading: bool,
}

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

pub(super) fn select_all<'a>(block: &[ElementRef<'a>], css: &Selector) -> Vec<ElementRef<'a>> {
    let mut out = Vec::new();
    for node in block {
        if css.matches(node) {
            out.push(*node);
        }
        out.extend(node.select(css));
    }
    out
}

pub(super) fn block_text(block: &[ElementRef]) -> String {
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
pub(super) fn structured_date(block: &[ElementRef]) -> Option<DateTime<Utc>> {
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
pub(super) fn visible_date(block: &[ElementRef], title: Option<&str>) -> Option<DateTime<Utc>> {
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

/// The entry a block holds, if it links to an article and names it.
pub(super) fn analyze_block(page: &Page, block: &[ElementRef]) -> Option<Draft> {
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
pub(super) fn teaser(block: &[ElementRef], title: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_lose_their_labels() {
        assert_eq!(clean_author(" von Dr. Ines Wuttke "), "Dr. Ines Wuttke");
        assert_eq!(clean_author("Autor: Max Muster"), "Max Muster");
    }
}
