//! Moving things in and out of revierfeed: `export` writes every served file
//! to a directory (so nginx or a CDN can serve the feeds), `import-opml`
//! adds the feeds of an OPML file to config.toml. Both write atomically
//! (temporary file, then rename), so a reader or the daemon never sees half a file.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use url::Url;

use crate::config::{Config, valid_source_id};
use crate::publish::{self, Site};
use crate::store::Store;

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The file a served path is exported to: `/` → `index.html`, `/status` → `status.html`.
/// `None` for anything that could leave the directory.
pub fn export_name(path: &str) -> Option<PathBuf> {
    let rel = match path {
        "/" => "index.html".to_string(),
        p if !p.contains('.') => format!("{}.html", p.trim_start_matches('/')),
        p => p.trim_start_matches('/').to_string(),
    };
    let candidate = PathBuf::from(&rel);
    let safe = !rel.is_empty()
        && candidate
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    safe.then_some(candidate)
}

/// Renders everything from the database and writes it below `dir`, with
/// `.gz` twins for nginx's gzip_static. Returns the number of files written.
pub fn export(config: &Config, store: &Store, dir: &Path) -> anyhow::Result<usize> {
    let states = store.source_states()?;
    let mut site: Site = publish::render_site(config, store, &states)?;
    publish::render_status(config, &states, &mut site);
    let mut written = 0;
    let mut files: Vec<(String, std::sync::Arc<publish::Rendered>)> =
        site.files.into_iter().collect();
    for source in config.sources.iter().filter(|s| s.enabled) {
        for format in publish::Format::ALL {
            if let Some(doc) = publish::render_source_feed(config, store, &source.id, format)? {
                files.push((
                    format.path(&format!("/sources/{}", source.id)),
                    std::sync::Arc::new(doc),
                ));
            }
        }
    }
    let complete = store.max_story_id()? / publish::ARCHIVE_PAGE;
    for page in 1..=complete {
        if let Some(doc) = publish::render_archive(config, store, page)? {
            files.push((publish::archive_path(page), std::sync::Arc::new(doc)));
        }
    }
    for (path, file) in files {
        let Some(rel) = export_name(&path) else {
            anyhow::bail!("refusing to export the path {path}");
        };
        let target = dir.join(&rel);
        write_atomically(&target, &file.body)?;
        let mut gz = target.clone().into_os_string();
        gz.push(".gz");
        write_atomically(Path::new(&gz), &file.gzip)?;
        written += 1;
    }
    Ok(written)
}

/// One feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    pub title: String,
    pub xml_url: Url,
    pub html_url: Option<Url>,
    /// Names of the enclosing outline folders, usable as tags.
    pub folders: Vec<String>,
}

/// Every outline with an `xmlUrl` in an OPML document, folders included.
pub fn parse_opml(text: &str) -> Result<Vec<OpmlFeed>, String> {
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
pub fn import_opml(config_path: &Path, opml_text: &str) -> Result<Vec<String>, String> {
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
            from_title.unwrap_or_else(|| crate::tools::suggest_id(&feed.xml_url))
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
        text.push_str(&format!("\n[[source]]\n# imported from OPML\nid = \"{id}\"\nname = {}\nurl = {}\nkind = \"feed\"\n", toml_str(&name), toml_str(feed.xml_url.as_str())));
        if let Some(h) = &feed.html_url {
            text.push_str(&format!("homepage = {}\n", toml_str(h.as_str())));
        }
        let tags: Vec<String> = feed.folders.iter().filter_map(|f| tag_from(f)).collect();
        if !tags.is_empty() {
            text.push_str(&format!(
                "tags = [{}]\n",
                tags.iter()
                    .map(|t| toml_str(t))
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

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_stay_inside_the_directory() {
        assert_eq!(export_name("/"), Some(PathBuf::from("index.html")));
        assert_eq!(export_name("/status"), Some(PathBuf::from("status.html")));
        assert_eq!(
            export_name("/sources/qlee.atom"),
            Some(PathBuf::from("sources/qlee.atom"))
        );
        for evil in ["/../etc/passwd", "/sources/../../x.atom", "//etc/x.atom"] {
            let name = export_name(evil);
            assert!(
                name.is_none()
                    || name
                        .unwrap()
                        .components()
                        .all(|c| matches!(c, Component::Normal(_))),
                "{evil}"
            );
        }
        assert_eq!(export_name("/../x.atom"), None);
    }

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
