//! `revierfeed discover URL`: what is at a URL (a feed, a page announcing
//! feeds, or a news listing and how it would be read) and the `[[source]]`
//! block to paste into config.toml.

use std::fmt::Write;

use chrono_tz::Europe::Berlin;
use url::Url;

use super::{Error, probe, toml_string};
use crate::config::Config;
use crate::extract::charset;
use crate::extract::discover::{self, feed_links};
use crate::extract::html::Page;
use crate::fetch::{FetchOutcome, Fetcher, Want};
use crate::model::{Resolution, ResolvedKind, SourceKind, Validators};
use crate::text::truncate_chars;

/// What revierfeed finds at `url`, and the `[[source]]` block to paste.
pub(super) async fn discover(config: &Config, url: &Url) -> Result<String, Error> {
    let mut out = String::new();
    let fetcher = Fetcher::new(&config.fetch).map_err(|e| Error::Partner(e.to_string()))?;
    let page = match fetcher
        .get(url, &Validators::default(), Want::Page)
        .await
        .map_err(|e| Error::Partner(e.to_string()))?
    {
        FetchOutcome::Fetched { meta, body } => (meta, body),
        FetchOutcome::NotModified(_) => {
            return Err(Error::Partner(
                "the partner answered 304 to an unconditional request".into(),
            ));
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
        let feeds = match Page::parse(&text, &meta.final_url) {
            Ok(page) => feed_links(&page),
            Err(e) => {
                let _ = writeln!(out, "  is a web page that could not be read: {e}");
                Vec::new()
            }
        };
        if feeds.is_empty() {
            let _ = writeln!(out, "  is a web page that announces no feed");
        } else {
            let _ = writeln!(out, "  is a web page announcing {} feed(s):", feeds.len());
            for f in &feeds {
                let _ = writeln!(out, "    {}  {}", f.url, f.title.as_deref().unwrap_or(""));
            }
        }
    }
    let id = probe::suggest_id(url);
    let preview = probe::read(
        config,
        probe::ad_hoc_source(config, &id, url, SourceKind::Auto),
    )
    .await?;
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
