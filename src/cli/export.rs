//! `revierfeed export DIR`: every served file (feeds, per-source and per-tag
//! feeds, archives, OPML, the pages) rendered from the database and written
//! below DIR with `.gz` twins, so nginx or a CDN can serve the feeds. Files
//! are written atomically (temporary file, then rename): a reader never sees
//! half a file.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use super::Error;
use crate::config::Config;
use crate::publish::{self, Site};
use crate::store::Store;

/// Runs the command.
pub(super) fn run(config: &Config, dir: &Path) -> Result<ExitCode, Error> {
    let store = Store::open(&config.database_path()).map_err(anyhow::Error::from)?;
    let written = export(config, &store, dir)?;
    println!(
        "{written} files written to {} (each with a .gz twin)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    // A file replaced keeps its permissions (a config with secrets stays 600).
    if let Ok(existing) = std::fs::metadata(path) {
        f.set_permissions(existing.permissions())?;
    }
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The file a served path is exported to: `/` → `index.html`, `/status` → `status.html`.
/// `None` for anything that could leave the directory.
fn export_name(path: &str) -> Option<PathBuf> {
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
fn export(config: &Config, store: &Store, dir: &Path) -> anyhow::Result<usize> {
    let states = store.source_states()?;
    let mut site: Site = publish::render_site(config, store, &states)?;
    publish::render_status(config, store, &states, &mut site)?;
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
    let mut on_request: Vec<String> = (1..=complete).flat_map(publish::archive_paths).collect();
    on_request.extend(
        config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .map(|s| format!("/sources/{}.html", s.id)),
    );
    for path in on_request {
        if let Some(doc) =
            publish::render_on_request(config, store, &path, || Ok(Vec::new()), None)?
        {
            files.push((path, std::sync::Arc::new(doc)));
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
}
