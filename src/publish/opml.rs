//! `/sources.opml`: every partner as an OPML 2.0 outline, for feed readers
//! and for partners who want to follow each other. A partner with its own
//! feed is listed with that feed; one without gets our per-source feed.
//! Written by hand: a flat list of outlines needs no XML library.

use super::{Format, public_base};
use crate::config::Config;
use crate::model::{ResolvedKind, SourceKind};
use crate::store::SourceState;

fn attr(s: &str) -> String {
    // Names a partner's feed gave itself are partner text: XML-safe first.
    html_escape::encode_double_quoted_attribute(&crate::text::reader_line(s)).into_owned()
}

/// The `Content-Type` of `/sources.opml`.
pub(crate) const OPML_TYPE: &str = "text/x-opml; charset=utf-8";

/// The OPML list of every enabled partner.
pub(crate) fn render(config: &Config, states: &[SourceState]) -> Vec<u8> {
    let base = public_base(config);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n<head>\n",
    );
    out.push_str(&format!(
        "  <title>{} – Quellen</title>\n",
        attr(&config.feed.title)
    ));
    out.push_str(&format!(
        "  <ownerName>{}</ownerName>\n",
        attr(&config.feed.author)
    ));
    out.push_str("  <docs>http://opml.org/spec2.opml</docs>\n</head>\n<body>\n");
    // By id, not a scan per source: 1,000 sources made that half a million compares per render.
    let states: std::collections::HashMap<&str, &SourceState> =
        states.iter().map(|s| (s.id.as_str(), s)).collect();
    for source in config.sources.iter().filter(|s| s.enabled) {
        let state = states.get(source.id.as_str()).copied();
        let is_feed = state.is_some_and(|s| {
            s.kind == SourceKind::Feed || s.resolved_kind == Some(ResolvedKind::Feed)
        });
        let xml_url = match state {
            Some(s) if is_feed => s.poll_url().to_string(),
            // Atom: the one format every feed reader that imports OPML reads.
            _ => Format::Atom.path(&format!("{base}/sources/{}", source.id)),
        };
        let html_url = source
            .homepage
            .as_ref()
            .map(|u| u.to_string())
            .or_else(|| state.and_then(|s| s.home_url.clone()))
            .unwrap_or_else(|| source.url.origin().ascii_serialization() + "/");
        out.push_str(&format!(
            "  <outline type=\"rss\" text=\"{name}\" title=\"{name}\" xmlUrl=\"{}\" htmlUrl=\"{}\"",
            attr(&xml_url),
            attr(&html_url),
            name = attr(&source.name)
        ));
        if !source.tags.is_empty() {
            let cats: Vec<String> = source.tags.iter().map(|t| format!("/{t}")).collect();
            out.push_str(&format!(" category=\"{}\"", attr(&cats.join(","))));
        }
        out.push_str("/>\n");
    }
    out.push_str("</body>\n</opml>\n");
    out.into_bytes()
}
