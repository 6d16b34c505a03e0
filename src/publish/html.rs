//! The layout every HTML page shares — language, landmarks (banner,
//! navigation, main, contentinfo), the style with its dark variant, the
//! footer with the legal links of `[site]` — and the operator's `/status`
//! page (with the pictures of `charts`) plus `/status.json`. The news pages are in `pages`. No JavaScript:
//! the served Content-Security-Policy forbids it.
//! Markup is written by hand: a few small pages don't justify a template
//! engine, and every interpolated value goes through `esc` or `attr`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Berlin;
use serde::Serialize;

use super::{Format, charts};
use crate::config::Config;
use crate::model::ResolvedKind;
use crate::schedule;
use crate::store::{Activity, PollPoint, SourceState, StoryCounts};

/// The `Content-Type` of the pages.
pub(crate) const HTML_TYPE: &str = "text/html; charset=utf-8";
/// The `Content-Type` of `/status.json`.
pub(crate) const STATUS_JSON_TYPE: &str = "application/json";
/// The extension of the pages for people below `/tags/`, `/sources/` and `/archive/`.
pub(crate) const PAGE_EXTENSION: &str = "html";

pub(super) fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

pub(super) fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

pub(super) fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Berlin)
        .format("%d.%m.%Y, %H:%M")
        .to_string()
}

/// A link target on this site: `path` (starting with `/`) below the path of
/// the public URL, so pages work behind a proxy that serves them under a
/// prefix and in an `export`ed copy, whatever host answers.
pub(super) fn href(config: &Config, path: &str) -> String {
    format!(
        "{}{path}",
        config.feed.public_url.path().trim_end_matches('/')
    )
}

/// Colours meet WCAG AA contrast (4.5:1 for text) in both schemes; the dark
/// scheme follows the reader's `prefers-color-scheme`.
const STYLE: &str = ":root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#595959;--link:#0b5394;--line:#d0d0d0;--bad:#fde8e8;--err:#a00000;--warn:#7a4d00;--ok:#1a6b1a}\
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#121212;--muted:#b3b3b3;--link:#8cb8ff;--line:#3a3a3a;--bad:#3b1f1f;--err:#ff9b9b;--warn:#f0c070;--ok:#8fd88f}}\
body{font-family:system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:0 1rem 1rem;line-height:1.5;color:var(--fg);background:var(--bg)}\
a{color:var(--link)}a:focus-visible{outline:2px solid var(--link);outline-offset:2px}\
.skip{position:absolute;left:0;top:0;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}.skip:focus{position:static;width:auto;height:auto;clip-path:none;display:inline-block;padding:.25rem}\
header{border-bottom:1px solid var(--line);padding:.5rem 0}header .site{font-size:1.25rem;font-weight:700;margin:0}header .site a{color:var(--fg);text-decoration:none}\
header p{margin:.25rem 0}nav ul,.tags,.feeds{list-style:none;padding:0;margin:.25rem 0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}\
h1{font-size:1.5rem;margin:1rem 0 .5rem}main h2{font-size:1.15rem;margin:1.5rem 0 .25rem;border-bottom:2px solid var(--line)}\
article{border-bottom:1px solid var(--line);padding:.75rem 0}article h3{font-size:1.05rem;margin:0}article p{margin:.25rem 0}\
img.thumb{display:block;max-width:100%;height:auto;margin:.5rem 0;object-fit:cover}\
.meta{color:var(--muted);font-size:.9rem}.pager{display:flex;justify-content:space-between;gap:1rem;margin:1.5rem 0}\
footer{margin-top:2rem;border-top:1px solid var(--line);font-size:.9rem}footer h2{font-size:1rem;margin:1rem 0 .25rem}footer ul.list{padding-left:1.25rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid var(--line);padding:.35rem;text-align:left;vertical-align:top}\
tr.failing{background:var(--bad)}.error{color:var(--err);font-weight:600}.warning{color:var(--warn);font-weight:400}p.ok{color:var(--ok);font-weight:600}\
@media (max-width:40rem){table,thead,tbody,tr,td,th{display:block}thead{display:none}td{border:none;padding:.1rem 0}tr{border-bottom:1px solid var(--line);padding:.5rem}\
td[data-label]::before{content:attr(data-label) \": \";color:var(--muted)}}";

/// One whole page: the site's banner and navigation, `main` (which starts
/// with the page's one `h1`), and the footer with every topic and partner,
/// the feeds and the legal links.
pub(super) fn page(config: &Config, title: &str, head_extra: &str, main: &str) -> String {
    let nav = format!(
        "<nav aria-label=\"Hauptnavigation\"><ul><li><a href=\"{}\">Neueste Meldungen</a></li>\
         <li><a href=\"#themen\">Themen</a></li><li><a href=\"#quellen\">Quellen</a></li></ul></nav>",
        attr(&href(config, "/"))
    );
    let subtitle = config
        .feed
        .subtitle
        .as_deref()
        .map(|s| format!("<p class=\"meta\">{}</p>", esc(s)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{title}</title>{head_extra}<style>{STYLE}</style></head><body>\
         <a class=\"skip\" href=\"#inhalt\">Zum Inhalt</a>\
         <header><p class=\"site\"><a href=\"{home}\">{site}</a></p>{subtitle}{nav}</header>\
         <main id=\"inhalt\">{main}</main>{footer}</body></html>\n",
        lang = attr(&config.feed.language),
        title = esc(title),
        home = attr(&href(config, "/")),
        site = esc(&config.feed.title),
        footer = footer(config),
    )
}

/// Every topic and partner with its page and feeds, the merged feeds, and
/// the legal links of `[site]`.
fn footer(config: &Config) -> String {
    let base = super::public_base(config);
    let mut out = String::from("<footer>");
    let tags = config.tags();
    out.push_str("<nav id=\"themen\" aria-labelledby=\"themen-h\"><h2 id=\"themen-h\">Themen</h2>");
    if tags.is_empty() {
        out.push_str("<p>Noch keine Themen.</p>");
    } else {
        out.push_str("<ul class=\"list\">");
        for t in &tags {
            out.push_str(&format!(
                "<li><a href=\"{}\">#{}</a> <small>({})</small></li>",
                attr(&href(config, &format!("/tags/{t}.{PAGE_EXTENSION}"))),
                esc(t),
                feed_links(&format!("{base}/tags/{t}"))
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str("</nav><nav id=\"quellen\" aria-labelledby=\"quellen-h\"><h2 id=\"quellen-h\">Quellen</h2><ul class=\"list\">");
    for s in config.sources.iter().filter(|s| s.enabled) {
        out.push_str(&format!(
            "<li><a href=\"{}\">{}</a> <small>({})</small></li>",
            attr(&href(
                config,
                &format!("/sources/{}.{PAGE_EXTENSION}", s.id)
            )),
            esc(&s.name),
            feed_links(&format!("{base}/sources/{}", s.id))
        ));
    }
    out.push_str(&format!(
        "</ul></nav><h2>Abonnieren</h2><p>Alle Meldungen als {}; <a href=\"{}\">alle Quellen als OPML</a>. \
         Feeds nach Wahl: <code>feed.atom?tag=…&amp;not-source=…</code></p>",
        feed_links(&format!("{base}/feed")),
        attr(&format!("{base}/sources.opml")),
    ));
    let mut legal = Vec::new();
    if let Some(u) = &config.site.impressum {
        legal.push(format!(
            "<li><a href=\"{}\">Impressum</a></li>",
            attr(u.as_str())
        ));
    }
    if let Some(u) = &config.site.datenschutz {
        legal.push(format!(
            "<li><a href=\"{}\">Datenschutz</a></li>",
            attr(u.as_str())
        ));
    }
    legal.push(format!(
        "<li><a href=\"{}\">Status der Quellen</a></li>",
        attr(&href(config, "/status"))
    ));
    if let Some(text) = &config.site.footer {
        out.push_str(&format!("<p>{}</p>", esc(text)));
    }
    out.push_str(&format!(
        "<nav aria-label=\"Rechtliches\"><ul>{}</ul></nav></footer>",
        legal.join("")
    ));
    out
}

/// One link per format to the feed at `url_base` (a URL without extension).
pub(super) fn feed_links(url_base: &str) -> String {
    feed_links_in(url_base, &Format::ALL)
}

/// One link per format of `formats` to the feed at `url_base`.
pub(super) fn feed_links_in(url_base: &str, formats: &[Format]) -> String {
    formats
        .iter()
        .map(|format| {
            format!(
                "<a href=\"{}\">{}</a>",
                attr(&format.path(url_base)),
                format.short_name()
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `<link rel="alternate">` for the feed at `url_base` in every format.
pub(super) fn alternates(title: &str, url_base: &str, formats: &[Format]) -> String {
    formats
        .iter()
        .map(|format| {
            format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">",
                format.media_type(),
                attr(&format!("{title} ({})", format.name())),
                attr(&format.path(url_base))
            )
        })
        .collect()
}

/// A config reload that failed: the running config stays in force, and
/// /status says so until a reload succeeds (the log alone is easily missed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    pub at: DateTime<Utc>,
    pub error: String,
}

/// One row of the status page and of `/status.json`.
#[derive(Debug, Serialize)]
struct SourceStatus<'a> {
    id: &'a str,
    name: &'a str,
    kind: &'a str,
    /// What kind "auto" turned out to be.
    resolved_kind: Option<&'a str>,
    /// How the feed or listing was found.
    discovery: Option<&'a str>,
    url: &'a str,
    ok: bool,
    last_poll: Option<DateTime<Utc>>,
    last_success: Option<DateTime<Utc>>,
    http_status: Option<u16>,
    items: i64,
    last_new: i64,
    next_poll: Option<DateTime<Utc>>,
    consecutive_failures: u32,
    last_error: Option<&'a str>,
    /// Read anyway, but with repairs or lost entries (see `PollRecord::warning`).
    warning: Option<&'a str>,
    /// Items published per week, the last `store::WEEKS` weeks, oldest first.
    weekly_items: &'a [u32],
    /// The last polls (at most `store::RECENT_POLLS`), oldest first.
    recent_polls: &'a [PollPoint],
}

/// What a source without stored activity shows: no polls, empty weeks.
static NO_WEEKS: [u32; crate::store::WEEKS] = [0; crate::store::WEEKS];

fn statuses<'a>(
    config: &'a Config,
    states: &'a [SourceState],
    activity: &'a HashMap<String, Activity>,
    now: DateTime<Utc>,
) -> Vec<SourceStatus<'a>> {
    states
        .iter()
        .map(|s| {
            let act = activity.get(&s.id);
            let source = config.source(&s.id);
            let next_poll = source.map(|src| {
                schedule::next_poll(
                    &src.id,
                    &src.schedule,
                    &s.history,
                    config.fetch.jitter,
                    config.fetch.max_backoff,
                    now,
                )
            });
            SourceStatus {
                id: &s.id,
                name: &s.name,
                kind: s.kind.as_str(),
                resolved_kind: s.resolved_kind.map(ResolvedKind::as_str),
                discovery: s.discovery.as_deref(),
                url: s.poll_url(),
                ok: s.last_error.is_none(),
                last_poll: s.history.last_attempt,
                last_success: s.last_success_at,
                http_status: s.last_status,
                items: s.item_count,
                last_new: s.last_new,
                next_poll,
                consecutive_failures: s.history.consecutive_failures,
                last_error: s.last_error.as_deref(),
                warning: s.last_warning.as_deref(),
                weekly_items: act
                    .map(|a| a.weekly_items.as_slice())
                    .filter(|w| !w.is_empty())
                    .unwrap_or(&NO_WEEKS),
                recent_polls: act.map(|a| a.recent_polls.as_slice()).unwrap_or(&[]),
            }
        })
        .collect()
}

/// The operator's page: failing sources first.
pub(crate) fn status(
    config: &Config,
    states: &[SourceState],
    problem: Option<&ConfigProblem>,
    activity: &HashMap<String, Activity>,
    stories: StoryCounts,
    now: DateTime<Utc>,
) -> String {
    let mut rows = statuses(config, states, activity, now);
    // Failing sources first: that is what an operator opens this page for.
    rows.sort_by_key(|r| r.ok);
    let failing = rows.iter().filter(|r| !r.ok).count();
    let mut body = format!("<h1>Status der Quellen – {}</h1>", esc(&config.feed.title));
    body.push_str(&format!(
        "<p class=\"{}\">{} Quellen, {} mit Fehler. Stand: {}</p>",
        if failing > 0 { "error" } else { "ok" },
        rows.len(),
        failing,
        local(now)
    ));
    body.push_str(&format!(
        "<p id=\"stories\">{} Meldungen im Gesamtfeed; {} davon von mehreren Quellen, mit zusammen {} Einträgen.</p>",
        stories.stories, stories.merged_stories, stories.merged_items
    ));
    if let Some(p) = problem {
        body.push_str(&format!(
            "<p class=\"error\" id=\"config-reload\">Konfiguration am {} nicht neu geladen; die vorherige gilt weiter: <code>{}</code></p>",
            local(p.at),
            esc(&p.error)
        ));
    }
    body.push_str("<table><thead><tr><th>Quelle</th><th>Art</th><th>Letzter Abruf</th><th>HTTP</th><th>Einträge</th><th>Nächster Abruf</th><th>Verlauf</th><th>Fehler</th></tr></thead><tbody>");
    for r in &rows {
        body.push_str(&format!(
            "<tr class=\"{}\" id=\"source-{}\"><td><a href=\"{}\">{}</a><br><small>{}</small></td><td data-label=\"Art\">{}</td><td data-label=\"Letzter Abruf\">{}</td><td data-label=\"HTTP\">{}</td><td data-label=\"Einträge (neu)\">{} (+{})</td><td data-label=\"Nächster Abruf\">{}</td><td data-label=\"Verlauf\" class=\"charts\">{}<br><small>Einträge je Woche</small><br>{}<br><small>letzte Abrufe</small></td><td class=\"error\">{}</td></tr>",
            if r.ok { "ok" } else { "failing" },
            attr(r.id),
            attr(r.url),
            esc(r.name),
            esc(r.id),
            match (r.resolved_kind, r.discovery) {
                (Some(k), Some(how)) if k != r.kind => format!("{} → {}<br><small>{}</small>", esc(r.kind), esc(k), esc(how)),
                _ => esc(r.kind),
            },
            r.last_poll.map(local).unwrap_or_else(|| "noch nie".into()),
            r.http_status.map(|s| s.to_string()).unwrap_or_else(|| "–".into()),
            r.items,
            r.last_new,
            r.next_poll.map(local).unwrap_or_else(|| "–".into()),
            charts::weekly_items(r.weekly_items),
            charts::recent_polls(r.recent_polls),
            match (r.last_error, r.warning) {
                (Some(e), _) => format!("{} ({}× in Folge)", esc(e), r.consecutive_failures),
                (None, Some(w)) => format!("<span class=\"warning\">Gelesen, aber: {}</span>", esc(w)),
                (None, None) => String::new(),
            },
        ));
    }
    body.push_str("</tbody></table>");
    // No timed refresh (WCAG 2.2.1: a page must not reload under its reader);
    // the "Stand" line says how old it is.
    page(
        config,
        &format!("Status – {}", config.feed.title),
        "",
        &body,
    )
}

/// The status rows for scripts.
pub(crate) fn status_json(
    config: &Config,
    states: &[SourceState],
    problem: Option<&ConfigProblem>,
    activity: &HashMap<String, Activity>,
    stories: StoryCounts,
    now: DateTime<Utc>,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Status<'a> {
        generated: DateTime<Utc>,
        /// The last config reload failed (absent when it did not).
        #[serde(skip_serializing_if = "Option::is_none")]
        config_reload_failed: Option<&'a ConfigProblem>,
        /// The merged feed: stories, those of several items, the items in them.
        stories: StoryCounts,
        sources: Vec<SourceStatus<'a>>,
    }
    serde_json::to_vec_pretty(&Status {
        generated: now,
        config_reload_failed: problem,
        stories,
        sources: statuses(config, states, activity, now),
    })
    .expect("serialising plain data cannot fail")
}
