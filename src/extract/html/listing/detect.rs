//! Finding the repeated news blocks on a listing page without selectors.
//!
//! Hand-written because no crate does this. The idea: a news listing is a
//! run of sibling blocks of the same kind (`<article>` cards, list items,
//! table rows, `div.meldung`, or a heading with its following paragraphs),
//! each holding a link to an article on the same site, a title, and usually
//! a date and a teaser. Every group of same-tag siblings outside page chrome
//! (navigation, header, sidebars, footer, cookie banners, pagination) is
//! scored by how many such entries it holds and how news-like they are
//! (dates, headings, teasers, title length); the best group is the listing.
//! Pages without such a group fall back to dated sections on the page itself,
//! then to a JSON-LD ItemList.

use std::collections::{HashMap, HashSet};

use scraper::ElementRef;

use super::block::{Draft, analyze_block, block_text, structured_date};
use super::{ListingEntry, entry};
use crate::extract::dates::find_date;
use crate::extract::html::{Page, sel, structured, text_of};
use crate::text::truncate_chars;

/// A news entry is small; a block with more elements than this is a page
/// region, not an entry (and analysing it would cost quadratic time).
const MAX_BLOCK_ELEMENTS: usize = 400;
/// Blocks analysed per page at most: real listings have a few hundred; a
/// hostile page must not buy unbounded CPU.
const MAX_BLOCKS: usize = 5_000;

/// The entries found without selectors, and a label saying how they were found.
pub(super) fn automatic(page: &Page) -> (Vec<ListingEntry>, String) {
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

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use crate::extract::dates::berlin_day;
    use crate::extract::html::listing::{parse_listing, test_page as page};

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
    fn hostile_nesting_and_size_neither_overflow_nor_hang() {
        // 20,000 nested elements: recursion would overflow the stack; ancestor
        // walks per element would be quadratic.
        let deep = format!(
            "<html><body>{}<p>Text 13.02.2026</p>{}</body></html>",
            "<div class=\"x\">".repeat(20_000),
            "</div>".repeat(20_000)
        );
        let url = url::Url::parse("https://x.example/").unwrap();
        // Refused before parsing (crate::markup); the extractors must cope anyway.
        assert!(super::Page::parse(&deep, &url).is_err());
        let p = super::Page::parse_unchecked(&deep, &url);
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
}
