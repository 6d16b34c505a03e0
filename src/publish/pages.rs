//! The news pages for people: `/` (the merged feed), `/tags/<tag>.html`,
//! `/sources/<id>.html` and `/archive/<n>.html` (the RFC 5005 archive
//! document n, with the same stories). Each shows the entries of the feed it
//! belongs to, grouped by day (Berlin time) under a heading per day, with
//! every partner that reported a story credited, links to the topics' pages,
//! and a pager to older pages. The layout around them is `html::page`.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Europe::Berlin;

use super::Format;
use super::entries::{Credit, Entry, FeedDoc};
use super::html::{PAGE_EXTENSION, alternates, attr, esc, feed_links_in, href, page};
use crate::config::{Config, SourceConfig};

/// German names by hand: chrono's locales need a feature and a locale
/// database for fourteen words.
const WEEKDAYS: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];

/// "Montag, 16.11.2026": the heading of a day.
fn day_heading(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Berlin);
    format!(
        "{}, {}",
        WEEKDAYS[local.weekday().num_days_from_monday() as usize],
        local.format("%d.%m.%Y")
    )
}

/// A credited partner: its name linking to its own article (or website).
fn credit(c: &Credit) -> String {
    match c.link.as_deref().or(c.home_url.as_deref()) {
        Some(l) => format!("<a href=\"{}\">{}</a>", attr(l), esc(&c.name)),
        None => esc(&c.name),
    }
}

/// One story or item: title, time, credits, teaser and topics.
fn entry_html(config: &Config, e: &Entry) -> String {
    let title = match &e.link {
        Some(l) => format!("<a href=\"{}\">{}</a>", attr(l), esc(&e.title)),
        None => esc(&e.title),
    };
    let local = e.published.with_timezone(&Berlin);
    let mut out = format!(
        "<article><h3>{title}</h3><p class=\"meta\"><time datetime=\"{}\">{} Uhr</time> · Quelle: {}",
        e.published.to_rfc3339(),
        local.format("%H:%M"),
        credit(&e.origin),
    );
    if !e.also.is_empty() {
        let also: Vec<String> = e.also.iter().map(credit).collect();
        out.push_str(&format!(" · Auch berichtet von: {}", also.join(", ")));
    }
    out.push_str("</p>");
    out.push_str(&super::media::thumbnail_html(&e.media, &e.title));
    if let Some(s) = &e.summary {
        out.push_str(&format!("<p>{}</p>", esc(s)));
    }
    if !e.tags.is_empty() {
        let tags: Vec<String> = e
            .tags
            .iter()
            .map(|t| {
                format!(
                    "<li><a href=\"{}\">#{}</a></li>",
                    attr(&href(config, &format!("/tags/{t}.{PAGE_EXTENSION}"))),
                    esc(t)
                )
            })
            .collect();
        out.push_str(&format!(
            "<ul class=\"tags\" aria-label=\"Themen\">{}</ul>",
            tags.concat()
        ));
    }
    out.push_str("</article>");
    out
}

/// The entries under one heading per day; `entries` are newest first.
fn days(config: &Config, entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "<p>Noch keine Meldungen.</p>".into();
    }
    let mut out = String::new();
    let mut day = None;
    for e in entries {
        let this = e.published.with_timezone(&Berlin).date_naive();
        if day != Some(this) {
            if day.is_some() {
                out.push_str("</section>");
            }
            let id = format!("tag-{}", this.format("%Y-%m-%d"));
            out.push_str(&format!(
                "<section aria-labelledby=\"{id}\"><h2 id=\"{id}\">{}</h2>",
                day_heading(e.published)
            ));
            day = Some(this);
        }
        out.push_str(&entry_html(config, e));
    }
    out.push_str("</section>");
    out
}

/// Links to newer and older pages: `(label, path)` each.
fn pager(config: &Config, newer: Option<(&str, String)>, older: Option<(&str, String)>) -> String {
    if newer.is_none() && older.is_none() {
        return String::new();
    }
    let link = |rel: &str, (label, path): (&str, String)| {
        format!(
            "<a rel=\"{rel}\" href=\"{}\">{}</a>",
            attr(&href(config, &path)),
            esc(label)
        )
    };
    format!(
        "<nav class=\"pager\" aria-label=\"Blättern\">{}{}</nav>",
        newer.map(|n| link("prev", n)).unwrap_or_default(),
        older.map(|o| link("next", o)).unwrap_or_default()
    )
}

/// The path of the page for archive document `n`.
fn archive_page_path(n: i64) -> String {
    format!("{}.{PAGE_EXTENSION}", super::archive_base(n))
}

/// A news page: heading, intro, the feed's links, the entries by day, the pager.
fn news_page(
    config: &Config,
    heading: &str,
    intro: &str,
    doc: &FeedDoc,
    formats: &[Format],
    pager_html: &str,
) -> String {
    let main = format!(
        "<h1>{}</h1>{intro}<p class=\"meta\">Abonnieren: {}</p>{}{pager_html}",
        esc(heading),
        feed_links_in(&doc.self_base, formats),
        days(config, &doc.entries),
    );
    let title = if heading == config.feed.title {
        heading.to_string()
    } else {
        format!("{heading} – {}", config.feed.title)
    };
    page(
        config,
        &title,
        &alternates(&doc.title, &doc.self_base, formats),
        &main,
    )
}

/// `/`: the merged feed's stories; older ones in the newest complete archive.
pub(super) fn index(config: &Config, merged: &FeedDoc, complete_archives: i64) -> String {
    let older =
        (complete_archives > 0).then(|| ("Ältere Meldungen", archive_page_path(complete_archives)));
    news_page(
        config,
        &config.feed.title,
        "<p>Die neuesten Meldungen aller Partner, nach Tagen.</p>",
        merged,
        &Format::ALL,
        &pager(config, None, older),
    )
}

/// `/tags/<tag>.html`: the tag feed's stories.
pub(super) fn tag(config: &Config, tag: &str, doc: &FeedDoc) -> String {
    news_page(
        config,
        &format!("Thema #{tag}"),
        "<p>Meldungen aller Partner zu diesem Thema.</p>",
        doc,
        &Format::ALL,
        "",
    )
}

/// `/sources/<id>.html`: one partner's items.
pub(super) fn source(config: &Config, source: &SourceConfig, doc: &FeedDoc) -> String {
    let intro = match &source.homepage {
        Some(home) => format!(
            "<p>Meldungen von {}. Website: <a href=\"{}\">{}</a></p>",
            esc(&source.name),
            attr(home.as_str()),
            esc(home.as_str())
        ),
        None => format!("<p>Meldungen von {}.</p>", esc(&source.name)),
    };
    news_page(config, &source.name, &intro, doc, &Format::ALL, "")
}

/// `/archive/<n>.html`: archive document `n` of `complete`.
pub(super) fn archive(config: &Config, n: i64, complete: i64, doc: &FeedDoc) -> String {
    let newer = if n < complete {
        ("Neuere Meldungen", archive_page_path(n + 1))
    } else {
        ("Neueste Meldungen", "/".to_string())
    };
    let older = (n > 1).then(|| ("Ältere Meldungen", archive_page_path(n - 1)));
    news_page(
        config,
        &format!("Archiv, Seite {n} von {complete}"),
        "<p>Ältere Meldungen aller Partner, in der Reihenfolge, in der sie hier ankamen.</p>",
        doc,
        &super::ARCHIVE_FORMATS,
        &pager(config, Some(newer), older),
    )
}
