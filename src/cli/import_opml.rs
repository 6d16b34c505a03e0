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

/// Folders nested deeper than this are no folder structure but a broken or
/// hostile file: refused, rather than turned into as many tags.
const MAX_OUTLINE_DEPTH: usize = 64;

/// Tags one feed takes from its folders (the nearest ones).
const MAX_FOLDER_TAGS: usize = 8;

/// Every outline with an `xmlUrl` in an OPML document, folders included.
fn parse_opml(text: &str) -> Result<Vec<OpmlFeed>, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not an OPML file: {e}"))?;
    // Outline depth of every node, from its parent's (one pass, in document order).
    let mut depth = vec![0usize; doc.descendants().count() + 1];
    for node in doc.descendants() {
        let parent = node.parent().map_or(0, |p| depth[p.id().get_usize()]);
        let d = parent + usize::from(node.has_tag_name("outline"));
        if d > MAX_OUTLINE_DEPTH {
            return Err(format!(
                "outlines nested more than {MAX_OUTLINE_DEPTH} deep (line {}); nothing imported",
                doc.text_pos_at(node.range().start).row
            ));
        }
        depth[node.id().get_usize()] = d;
    }
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
        let mut folders: Vec<String> = Vec::new();
        for name in node
            .ancestors()
            .skip(1)
            .filter(|a| a.has_tag_name("outline"))
            .filter_map(|a| a.attribute("text").or_else(|| a.attribute("title")))
        {
            if !folders.iter().any(|f| f == name) {
                folders.push(name.to_string());
            }
        }
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
    crate::filter::valid_tag(&t).then_some(t)
}

/// Longest id base taken from a title or host, leaving room for a `-N` suffix.
const MAX_ID_BASE: usize = 40;

/// A valid id for `feed` that `taken` does not hold: from its title, else
/// from its host, cut to a valid length, with a number added when taken.
/// Always ends: the base is valid, so one of the first `taken.len() + 1`
/// numbered forms is free.
fn unused_id(feed: &OpmlFeed, taken: &HashSet<String>) -> String {
    let cut = |s: String| -> Option<String> {
        let s: String = s.chars().take(MAX_ID_BASE).collect();
        let s = s.trim_matches('-').to_string();
        valid_source_id(&s).then_some(s)
    };
    let base = tag_from(&feed.title)
        .and_then(cut)
        .or_else(|| cut(super::probe::suggest_id(&feed.xml_url)))
        .unwrap_or_else(|| "partner".to_string());
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken.contains(id))
        .expect("a free number exists among taken.len() + 1")
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
        let id = unused_id(&feed, &ids);
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
        let mut tags: Vec<String> = Vec::new();
        for tag in feed.folders.iter().filter_map(|f| tag_from(f)) {
            if !tags.contains(&tag) && tags.len() < MAX_FOLDER_TAGS {
                tags.push(tag);
            }
        }
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

    fn feed(title: &str, url: &str) -> OpmlFeed {
        OpmlFeed {
            title: title.into(),
            xml_url: Url::parse(url).unwrap(),
            html_url: None,
            folders: Vec::new(),
        }
    }

    #[test]
    fn ids_are_always_found_and_valid() {
        let long_label = format!("https://{}.example/feed.xml", "a".repeat(70));
        let mut taken = HashSet::new();
        for title in ["", "!!!", "–", &"x".repeat(300)] {
            for _ in 0..3 {
                let id = unused_id(&feed(title, &long_label), &taken);
                assert!(valid_source_id(&id) && !taken.contains(&id), "{id}");
                taken.insert(id);
            }
        }
        let odd_host = unused_id(&feed("", "http://[::1]/x"), &HashSet::new());
        assert!(valid_source_id(&odd_host), "{odd_host}");
    }

    fn write_config(dir: &Path, mode: u32) -> std::path::PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            format!("[feed]\ntitle = \"T\"\npublic_url = \"http://127.0.0.1:8080\"\n[storage]\ndatabase = \"{}\"\n", dir.join("x.db").display()),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let _ = mode;
        path
    }

    #[test]
    fn deep_nesting_is_refused_and_folder_tags_are_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), 0o600);
        let levels = 100_000;
        let deep = format!(
            "<opml version=\"2.0\"><body>{}<outline text=\"F\" xmlUrl=\"https://deep.example/f.xml\"/>{}</body></opml>",
            "<outline text=\"Ordner\">".repeat(levels),
            "</outline>".repeat(levels)
        );
        let started = std::time::Instant::now();
        let refused = import_opml(&path, &deep);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let error = refused.unwrap_err();
        assert!(error.contains("nested more than 64 deep"), "{error}");
        // Within the cap: one tag per distinct folder name, nearest first.
        let nested = format!(
            "<opml version=\"2.0\"><body><outline text=\"Energie\">{}<outline text=\"Wasserstoff\"><outline text=\"F\" xmlUrl=\"https://h2.example/f.xml\"/></outline>{}</outline></body></opml>",
            "<outline text=\"Ordner\">".repeat(30),
            "</outline>".repeat(30)
        );
        let added = import_opml(&path, &nested).unwrap();
        assert_eq!(added, vec!["f"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("tags = [\"wasserstoff\", \"ordner\", \"energie\"]"),
            "{text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the config's mode changed to {mode:o}");
        }
    }

    #[test]
    fn an_untitled_feed_on_a_long_host_label_is_imported() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), 0o644);
        let label = "l".repeat(70);
        let opml = format!(
            "<opml version=\"2.0\"><body><outline xmlUrl=\"https://{label}.example/a.xml\"/><outline xmlUrl=\"https://{label}.example/b.xml\"/></body></opml>"
        );
        let added = import_opml(&path, &opml).unwrap();
        assert_eq!(added.len(), 2);
        assert!(added.iter().all(|id| valid_source_id(id)), "{added:?}");
    }
}
