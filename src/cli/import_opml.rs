//! `revierfeed import-opml FILE`: a `[[source]]` block for every feed of an
//! OPML file that is not configured yet (folders become tags). The new config
//! is validated before it replaces the old one, atomically.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

use url::Url;

use super::export::write_atomically;
use super::{Error, toml_string};
use crate::config::{Config, valid_source_id};

/// Runs the command.
pub(super) fn run(config_path: &Path, file: &Path) -> Result<ExitCode, Error> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let added = import_opml(config_path, &text).map_err(Error::Opml)?;
    if added.is_empty() {
        println!(
            "nothing to add: every feed of {} is configured already",
            file.display()
        );
    } else {
        println!(
            "{} sources added to {}: {}",
            added.len(),
            config_path.display(),
            added.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpmlFeed {
    pub title: String,
    pub xml_url: Url,
    pub html_url: Option<Url>,
    /// Names of the enclosing outline folders, usable as tags.
    pub folders: Vec<String>,
}

/// Every outline with an `xmlUrl` in an OPML document, folders included.
fn parse_opml(text: &str) -> Result<Vec<OpmlFeed>, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not an OPML file: {e}"))?;
    let mut out = Vec::new();
    for node in doc.descendants().filter(|n| n.has_tag_name("outline")) {
        let Some(xml) = node
            .attribute("xmlUrl")
            .or_else(|| node.attribute("xmlurl"))
        else {
            continue;
        };
        let Ok(xml_url) = Url::parse(xml.trim()) else {
            continue;
        };
        if !matches!(xml_url.scheme(), "http" | "https") {
            continue;
        }
        let title = node
            .attribute("title")
            .or_else(|| node.attribute("text"))
            .unwrap_or("")
            .trim()
            .to_string();
        let html_url = node
            .attribute("htmlUrl")
            .and_then(|h| Url::parse(h.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"));
        let folders = node
            .ancestors()
            .skip(1)
            .filter(|a| a.has_tag_name("outline"))
            .filter_map(|a| a.attribute("text").or_else(|| a.attribute("title")))
            .map(str::to_string)
            .collect();
        out.push(OpmlFeed {
            title,
            xml_url,
            html_url,
            folders,
        });
    }
    Ok(out)
}

/// A tag from a folder name: "Städte & Gemeinden" → "stadte-gemeinden".
fn tag_from(name: &str) -> Option<String> {
    let mut t = String::new();
    for c in name.to_lowercase().chars() {
        let c = match c {
            'ä' => 'a',
            'ö' => 'o',
            'ü' => 'u',
            'ß' => 's',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            t.push(c);
        } else if !t.ends_with('-') {
            t.push('-');
        }
    }
    let t: String = t.trim_matches('-').chars().take(64).collect();
    crate::config::valid_tag(&t).then_some(t)
}

/// Appends `[[source]]` blocks for the OPML's feeds that are not configured
/// yet. The new file is validated before it replaces the old one. Returns the
/// added ids.
fn import_opml(config_path: &Path, opml_text: &str) -> Result<Vec<String>, String> {
    let feeds = parse_opml(opml_text)?;
    let current_text = std::fs::read_to_string(config_path)
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let current = Config::parse(&current_text, config_path)
        .map_err(|e| format!("the config has errors; fix them first:\n{e}"))?;
    let mut ids: HashSet<String> = current.sources.iter().map(|s| s.id.clone()).collect();
    let known: HashSet<String> = current.sources.iter().map(|s| s.url.to_string()).collect();
    let mut added = Vec::new();
    let mut text = current_text.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    for feed in feeds {
        if known.contains(feed.xml_url.as_str()) {
            continue;
        }
        let base = {
            let from_title = tag_from(&feed.title).filter(|t| valid_source_id(t) && t.len() <= 40);
            from_title.unwrap_or_else(|| super::probe::suggest_id(&feed.xml_url))
        };
        let mut id = base.clone();
        let mut n = 2;
        while ids.contains(&id) || !valid_source_id(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        ids.insert(id.clone());
        let name = if feed.title.is_empty() {
            id.clone()
        } else {
            feed.title.clone()
        };
        text.push_str(&format!("\n[[source]]\n# imported from OPML\nid = \"{id}\"\nname = {}\nurl = {}\nkind = \"feed\"\n", toml_string(&name), toml_string(feed.xml_url.as_str())));
        if let Some(h) = &feed.html_url {
            text.push_str(&format!("homepage = {}\n", toml_string(h.as_str())));
        }
        let tags: Vec<String> = feed.folders.iter().filter_map(|f| tag_from(f)).collect();
        if !tags.is_empty() {
            text.push_str(&format!(
                "tags = [{}]\n",
                tags.iter()
                    .map(|t| toml_string(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        added.push(id);
    }
    if added.is_empty() {
        return Ok(added);
    }
    Config::parse(&text, config_path).map_err(|e| {
        format!("the imported sources would make the config invalid (nothing written):\n{e}")
    })?;
    write_atomically(config_path, text.as_bytes())
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opml_outlines_with_folders() {
        let opml = r#"<?xml version="1.0"?><opml version="2.0"><body>
            <outline text="Städte &amp; Gemeinden"><outline text="Stadt Forst" type="rss" xmlUrl="https://www.forst.example/rss.xml" htmlUrl="https://www.forst.example/"/></outline>
            <outline text="Ohne Feed" htmlUrl="https://x.example/"/><outline title="Bad" xmlUrl="javascript:alert(1)"/></body></opml>"#;
        let feeds = parse_opml(opml).unwrap();
        assert_eq!(feeds.len(), 1);
        assert_eq!(feeds[0].title, "Stadt Forst");
        assert_eq!(feeds[0].folders, vec!["Städte & Gemeinden"]);
        assert_eq!(
            tag_from(&feeds[0].folders[0]).as_deref(),
            Some("stadte-gemeinden")
        );
        assert!(parse_opml("<opml><body><outline").is_err());
    }
}
