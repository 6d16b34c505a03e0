//! `revierfeed preview ID|URL`: the items a source would give, as a table,
//! with where each date and title was read (JSON-LD, meta, `<time>`, labelled
//! text, listing, …) and what the rules would hide — nothing is stored.

use std::fmt::Write;

use chrono_tz::Europe::Berlin;
use url::Url;

use super::{Error, probe};
use crate::config::Config;
use crate::model::{Origin, Resolution, SourceKind};
use crate::text::truncate_chars;

/// The items a configured source (by id) or a URL would give, as a table.
pub(super) async fn preview(config: &Config, target: &str) -> Result<String, Error> {
    let source = match config.source(target) {
        Some(s) => s.clone(),
        None => {
            let url = Url::parse(target).map_err(|_| Error::NotSourceOrUrl {
                target: target.to_string(),
                config: config.path.clone(),
            })?;
            probe::ad_hoc_source(config, &probe::suggest_id(&url), &url, SourceKind::Auto)
        }
    };
    let preview = probe::read(config, source.clone()).await?;
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
        "\n{:<16}  {:<12}  {:<60}  {:<10}  {:<22}  LINK",
        "DATE", "DATE FROM", "TITLE", "TITLE FROM", "AUTHOR"
    );
    let unknown = Origin::default();
    for (n, item) in preview.items.iter().enumerate() {
        if item.hidden.is_some() {
            continue;
        }
        let origin = preview.origins.get(n).unwrap_or(&unknown);
        let (date, date_from) = match item.published {
            Some(d) => (
                d.with_timezone(&Berlin)
                    .format("%d.%m.%Y %H:%M")
                    .to_string(),
                origin.date.map_or("-", |p| p.label()),
            ),
            // The store will date it by when it is first seen.
            None => ("-".to_string(), "first seen"),
        };
        let _ = writeln!(
            out,
            "{:<16}  {:<12}  {:<60}  {:<10}  {:<22}  {}",
            date,
            date_from,
            truncate_chars(&item.title, 60),
            origin.title.map_or("-", |p| p.label()),
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
