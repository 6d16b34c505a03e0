//! The operator's tools for adding a partner: `discover` (what is at a URL
//! and the config snippet to paste) and `preview` (the items a source would
//! give, as a table). Both read through the real pipeline with a throwaway
//! in-memory database, so nothing is stored and what they show is what the
//! daemon would do.

use std::fmt::Write;

use chrono_tz::Europe::Berlin;
use url::Url;

use crate::app::{App, Preview};
use crate::config::{Config, SourceConfig};
use crate::extract::charset;
use crate::extract::discover::{self, feed_links};
use crate::extract::html::Page;
use crate::fetch::{FetchOutcome, Fetcher, Want};
use crate::model::Validators;
use crate::model::{Resolution, ResolvedKind, SourceKind};
use crate::store::Store;
use crate::text::truncate_chars;

/// A source id suggested from a URL: "https://www.qlee.eu/aktuelles/" → "qlee".
pub fn suggest_id(url: &Url) -> String {
    let host = url
        .host_str()
        .unwrap_or("partner")
        .trim_start_matches("www.");
    let label = host.split('.').next().unwrap_or(host);
    let id: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_matches('-').to_string();
    if id.is_empty() { "partner".into() } else { id }
}

fn ad_hoc_source(config: &Config, id: &str, url: &Url, kind: SourceKind) -> SourceConfig {
    SourceConfig {
        id: id.to_string(),
        name: id.to_string(),
        url: url.clone(),
        kind,
        schedule: config.fetch.schedule.clone(),
        tags: Vec::new(),
        homepage: None,
        enabled: true,
        selectors: None,
        follow_articles: true,
        rules: Vec::new(),
    }
}

async fn read(config: &Config, source: SourceConfig) -> Result<Preview, String> {
    let mut config = config.clone();
    config.sources.retain(|s| s.id != source.id);
    config.sources.push(source.clone());
    let store = Store::open_in_memory().map_err(|e| e.to_string())?;
    let app = App::with_store(config, store).map_err(|e| format!("{e:#}"))?;
    app.preview(&source).await
}

/// What revierfeed finds at `url`, and the `[[source]]` block to paste.
pub async fn discover(config: &Config, url: &Url) -> Result<String, String> {
    let mut out = String::new();
    let fetcher = Fetcher::new(&config.fetch).map_err(|e| e.to_string())?;
    let page = match fetcher
        .get(url, &Validators::default(), Want::Page)
        .await
        .map_err(|e| e.to_string())?
    {
        FetchOutcome::Fetched { meta, body } => (meta, body),
        FetchOutcome::NotModified(_) => {
            return Err("the partner answered 304 to an unconditional request".into());
        }
    };
    let (meta, body) = page;
    let _ = writeln!(out, "{url}");
    if meta.final_url != *url {
        let _ = writeln!(out, "  redirects to {}", meta.final_url);
    }
    if discover::looks_like_feed(&body, meta.content_type.as_deref()) {
        let _ = writeln!(
            out,
            "  is a feed ({})",
            meta.content_type.as_deref().unwrap_or("no content type")
        );
    } else {
        let text = charset::decode_html(&body, meta.content_type.as_deref());
        let feeds = feed_links(&Page::parse(&text, &meta.final_url));
        if feeds.is_empty() {
            let _ = writeln!(out, "  is a web page that announces no feed");
        } else {
            let _ = writeln!(out, "  is a web page announcing {} feed(s):", feeds.len());
            for f in &feeds {
                let _ = writeln!(out, "    {}  {}", f.url, f.title.as_deref().unwrap_or(""));
            }
        }
    }
    let id = suggest_id(url);
    let preview = read(config, ad_hoc_source(config, &id, url, SourceKind::Auto)).await?;
    let _ = writeln!(out, "\nHow revierfeed reads it:");
    if let Some(Resolution { how, .. }) = &preview.resolution {
        let _ = writeln!(out, "  {how}");
    }
    for note in &preview.notes {
        let _ = writeln!(out, "  {note}");
    }
    let _ = writeln!(out, "  {} items; newest:", preview.items.len());
    for item in preview.items.iter().take(5) {
        let _ = writeln!(
            out,
            "    {}  {}",
            item.published
                .map(|d| d.with_timezone(&Berlin).format("%d.%m.%Y").to_string())
                .unwrap_or_else(|| "(no date)".into()),
            truncate_chars(&item.title, 70)
        );
    }
    let is_feed = preview
        .resolution
        .as_ref()
        .is_some_and(|r| r.kind == ResolvedKind::Feed);
    let poll_url = if is_feed {
        preview.final_url.clone()
    } else {
        url.to_string()
    };
    let name = preview.title.clone().unwrap_or_else(|| id.clone());
    let _ = writeln!(
        out,
        "\nPaste into config.toml (and check with `revierfeed preview {id}`):\n"
    );
    let _ = writeln!(
        out,
        "[[source]]\nid = \"{id}\"\nname = {}\nurl = \"{poll_url}\"\nkind = \"{}\"",
        toml_string(&name),
        if is_feed { "feed" } else { "html" }
    );
    Ok(out)
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The items a configured source (by id) or a URL would give, as a table.
pub async fn preview(config: &Config, target: &str) -> Result<String, String> {
    let source = match config.source(target) {
        Some(s) => s.clone(),
        None => {
            let url = Url::parse(target).map_err(|_| {
                format!(
                    "`{target}` is neither a source id in {} nor a URL",
                    config.path.display()
                )
            })?;
            ad_hoc_source(config, &suggest_id(&url), &url, SourceKind::Auto)
        }
    };
    let preview = read(config, source.clone()).await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}, kind = \"{}\")",
        source.id,
        preview.final_url,
        source.kind.as_str()
    );
    if let Some(Resolution { how, .. }) = &preview.resolution {
        let _ = writeln!(out, "  {how}");
    }
    for note in &preview.notes {
        let _ = writeln!(out, "  {note}");
    }
    let _ = writeln!(
        out,
        "\n{:<16}  {:<60}  {:<22}  LINK",
        "DATE", "TITLE", "AUTHOR"
    );
    for item in preview.items.iter().filter(|i| i.hidden.is_none()) {
        let date = item
            .published
            .map(|d| {
                d.with_timezone(&Berlin)
                    .format("%d.%m.%Y %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "(first seen)".into());
        let _ = writeln!(
            out,
            "{:<16}  {:<60}  {:<22}  {}",
            date,
            truncate_chars(&item.title, 60),
            truncate_chars(&item.authors.join(", "), 22),
            item.link.as_deref().unwrap_or("-")
        );
    }
    let hidden: Vec<_> = preview
        .items
        .iter()
        .filter(|i| i.hidden.is_some())
        .collect();
    if !hidden.is_empty() {
        let _ = writeln!(out, "\nHidden by rules (stored, not published):");
        for item in &hidden {
            let _ = writeln!(
                out,
                "  {} — {}",
                truncate_chars(&item.title, 60),
                item.hidden.as_deref().unwrap_or_default()
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{} items, {} hidden by rules (nothing was stored)",
        preview.items.len(),
        hidden.len()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_hosts() {
        assert_eq!(
            suggest_id(&Url::parse("https://www.qlee.eu/aktuelles/neuigkeiten/").unwrap()),
            "qlee"
        );
        assert_eq!(
            suggest_id(&Url::parse("https://steady.page/neuelausitz/rss").unwrap()),
            "steady"
        );
        assert_eq!(
            suggest_id(&Url::parse("http://127.0.0.1:8080/x").unwrap()),
            "127"
        );
    }
}
