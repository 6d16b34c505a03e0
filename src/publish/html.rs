//! The two HTML pages: `/` (the merged news for people, no JavaScript,
//! readable on a phone) and `/status` (for operators: every source, and
//! plainly which one fails and why), plus `/status.json` for scripts.
//! Markup is written by hand: two small pages don't justify a template engine,
//! and every interpolated value goes through `esc`.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Berlin;
use serde::Serialize;

use super::Format;
use super::entries::FeedDoc;
use crate::config::Config;
use crate::model::ResolvedKind;
use crate::schedule;
use crate::store::SourceState;

/// The `Content-Type` of both pages.
pub(crate) const HTML_TYPE: &str = "text/html; charset=utf-8";
/// The `Content-Type` of `/status.json`.
pub(crate) const STATUS_JSON_TYPE: &str = "application/json";

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Berlin)
        .format("%d.%m.%Y, %H:%M")
        .to_string()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;line-height:1.5;color:#1b1b1b;background:#fff}\
a{color:#0b5394}h1{font-size:1.5rem;margin:.5rem 0}article{border-bottom:1px solid #ddd;padding:.75rem 0}\
article h2{font-size:1.1rem;margin:0}.meta{color:#555;font-size:.9rem}nav a{margin-right:.75rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}\
tr.failing{background:#fde8e8}.error{color:#a00000;font-weight:600}p.ok{color:#1a6b1a;font-weight:600}footer{margin-top:2rem;font-size:.9rem}\
@media (max-width:40rem){table,thead,tbody,tr,td,th{display:block}thead{display:none}td{border:none;padding:.1rem 0}tr{border-bottom:1px solid #ddd;padding:.5rem}\
td[data-label]::before{content:attr(data-label) \": \";color:#555}}";

fn page(title: &str, lang: &str, head_extra: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>{head_extra}<style>{STYLE}</style></head><body>{body}</body></html>\n",
        lang = attr(lang),
        title = esc(title),
    )
}

/// The merged news as a page.
pub(crate) fn index(config: &Config, merged: &FeedDoc) -> String {
    let base = config.feed.public_url.as_str().trim_end_matches('/');
    let head: String = Format::ALL
        .iter()
        .map(|format| {
            format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">",
                format.media_type(),
                attr(&format!("{} ({})", config.feed.title, format.name())),
                attr(&format.path(&format!("{base}/feed")))
            )
        })
        .collect();
    let mut body = format!("<header><h1>{}</h1>", esc(&config.feed.title));
    if let Some(sub) = &config.feed.subtitle {
        body.push_str(&format!("<p>{}</p>", esc(sub)));
    }
    body.push_str("<nav>Abonnieren: ");
    for format in Format::ALL {
        body.push_str(&format!(
            "<a href=\"{}\">{}</a>",
            attr(&format.path(&format!("{base}/feed"))),
            format.name()
        ));
    }
    body.push_str(&format!(
        "<a href=\"{}\">OPML</a><a href=\"{}\">Status</a></nav></header><main>",
        attr(&format!("{base}/sources.opml")),
        attr(&format!("{base}/status"))
    ));
    if merged.entries.is_empty() {
        body.push_str("<p>Noch keine Meldungen.</p>");
    }
    for e in &merged.entries {
        let title = match &e.link {
            Some(l) => format!("<a href=\"{}\">{}</a>", attr(l), esc(&e.title)),
            None => esc(&e.title),
        };
        let sources: Vec<String> = std::iter::once(&e.origin)
            .chain(e.also.iter())
            .map(|c| match c.link.as_deref() {
                Some(l) => format!("<a href=\"{}\">{}</a>", attr(l), esc(&c.name)),
                None => esc(&c.name),
            })
            .collect();
        body.push_str(&format!(
            "<article><h2>{title}</h2><p class=\"meta\"><time datetime=\"{}\">{}</time> · {}</p>",
            e.published.to_rfc3339(),
            local(e.published),
            sources.join(", ")
        ));
        if let Some(s) = &e.summary {
            body.push_str(&format!("<p>{}</p>", esc(s)));
        }
        if !e.tags.is_empty() {
            let tags: Vec<String> = e
                .tags
                .iter()
                .map(|t| {
                    format!(
                        "<a href=\"{}\">#{}</a>",
                        attr(&Format::Atom.path(&format!("{base}/tags/{t}"))),
                        esc(t)
                    )
                })
                .collect();
            body.push_str(&format!("<p class=\"meta\">{}</p>", tags.join(" ")));
        }
        body.push_str("</article>");
    }
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    body.push_str(&format!(
        "</main><footer><h2>Feeds</h2><p>Jede Quelle und jedes Thema hat eigene Feeds ({}).</p><h3>Quellen</h3><ul>",
        names.join(", ")
    ));
    for s in config.sources.iter().filter(|s| s.enabled) {
        body.push_str(&format!(
            "<li>{} – {}</li>",
            esc(&s.name),
            feed_links(&format!("{base}/sources/{}", s.id))
        ));
    }
    body.push_str("</ul>");
    let tags = config.tags();
    if !tags.is_empty() {
        body.push_str("<h3>Themen</h3><ul>");
        for t in tags {
            body.push_str(&format!(
                "<li>#{} – {}</li>",
                esc(&t),
                feed_links(&format!("{base}/tags/{t}"))
            ));
        }
        body.push_str("</ul>");
    }
    body.push_str("</footer>");
    page(&config.feed.title, &config.feed.language, &head, &body)
}

/// One link per format to the feed at `url_base` (a URL without extension).
fn feed_links(url_base: &str) -> String {
    Format::ALL
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
}

fn statuses<'a>(
    config: &'a Config,
    states: &'a [SourceState],
    now: DateTime<Utc>,
) -> Vec<SourceStatus<'a>> {
    states
        .iter()
        .map(|s| {
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
            }
        })
        .collect()
}

/// The operator's page: failing sources first.
pub(crate) fn status(
    config: &Config,
    states: &[SourceState],
    problem: Option<&ConfigProblem>,
    now: DateTime<Utc>,
) -> String {
    let mut rows = statuses(config, states, now);
    // Failing sources first: that is what an operator opens this page for.
    rows.sort_by_key(|r| r.ok);
    let failing = rows.iter().filter(|r| !r.ok).count();
    let mut body = format!("<h1>Status – {}</h1>", esc(&config.feed.title));
    body.push_str(&format!(
        "<p class=\"{}\">{} Quellen, {} mit Fehler. Stand: {}</p>",
        if failing > 0 { "error" } else { "ok" },
        rows.len(),
        failing,
        local(now)
    ));
    if let Some(p) = problem {
        body.push_str(&format!(
            "<p class=\"error\" id=\"config-reload\">Konfiguration am {} nicht neu geladen; die vorherige gilt weiter: <code>{}</code></p>",
            local(p.at),
            esc(&p.error)
        ));
    }
    body.push_str("<table><thead><tr><th>Quelle</th><th>Art</th><th>Letzter Abruf</th><th>HTTP</th><th>Einträge</th><th>Nächster Abruf</th><th>Fehler</th></tr></thead><tbody>");
    for r in &rows {
        body.push_str(&format!(
            "<tr class=\"{}\" id=\"source-{}\"><td><a href=\"{}\">{}</a><br><small>{}</small></td><td data-label=\"Art\">{}</td><td data-label=\"Letzter Abruf\">{}</td><td data-label=\"HTTP\">{}</td><td data-label=\"Einträge (neu)\">{} (+{})</td><td data-label=\"Nächster Abruf\">{}</td><td class=\"error\">{}</td></tr>",
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
            r.last_error
                .map(|e| format!("{} ({}× in Folge)", esc(e), r.consecutive_failures))
                .unwrap_or_default(),
        ));
    }
    body.push_str("</tbody></table>");
    page(
        &format!("Status – {}", config.feed.title),
        &config.feed.language,
        "<meta http-equiv=\"refresh\" content=\"60\">",
        &body,
    )
}

/// The status rows for scripts.
pub(crate) fn status_json(
    config: &Config,
    states: &[SourceState],
    problem: Option<&ConfigProblem>,
    now: DateTime<Utc>,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Status<'a> {
        generated: DateTime<Utc>,
        /// The last config reload failed (absent when it did not).
        #[serde(skip_serializing_if = "Option::is_none")]
        config_reload_failed: Option<&'a ConfigProblem>,
        sources: Vec<SourceStatus<'a>>,
    }
    serde_json::to_vec_pretty(&Status {
        generated: now,
        config_reload_failed: problem,
        sources: statuses(config, states, now),
    })
    .expect("serialising plain data cannot fail")
}
