//! The operator's CSS selectors for a listing (`[sources.selectors]` in
//! config.toml): the types config validates, and applying them to a page.
//! A field without a selector falls back to reading the block automatically.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use scraper::{ElementRef, Selector};

use super::block::{analyze_block, select_all, structured_date, teaser, visible_date};
use super::{ListingEntry, clean_author, entry};
use crate::extract::dates::{berlin_day, berlin_local, find_date, parse_timestamp};
use crate::extract::html::{Page, sel, text_of};
use crate::text::truncate_chars;

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
}

/// A selector field split into the CSS part and an optional attribute.
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

/// The entries the operator's selectors pick out, one per `item` match with a link.
pub(super) fn with_selectors(page: &Page, s: &Selectors) -> Vec<ListingEntry> {
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
fn parse_date_with(text: &str, format: Option<&str>) -> Option<DateTime<Utc>> {
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

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::extract::html::listing::{parse_listing, test_page as page};

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
}
