//! What `discover` and `preview` share: an id suggested from a URL, a source
//! made up for a URL that is not configured, and reading a source through
//! the real pipeline with a throwaway in-memory database.

use url::Url;

use super::Error;
use crate::app::App;
use crate::config::{Config, SourceConfig};
use crate::model::SourceKind;
use crate::pipeline::{self, Preview};
use crate::store::Store;

/// A source id suggested from a URL: "https://www.qlee.eu/aktuelles/" → "qlee".
pub(super) fn suggest_id(url: &Url) -> String {
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

pub(super) fn ad_hoc_source(
    config: &Config,
    id: &str,
    url: &Url,
    kind: SourceKind,
) -> SourceConfig {
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

/// Reads `source` through the real pipeline with a throwaway in-memory
/// database, so nothing is stored and what it shows is what the daemon would do.
pub(super) async fn read(config: &Config, source: SourceConfig) -> Result<Preview, Error> {
    let mut config = config.clone();
    config.sources.retain(|s| s.id != source.id);
    config.sources.push(source.clone());
    let store = Store::open_in_memory().map_err(anyhow::Error::from)?;
    let app = App::with_store(config, store)?;
    pipeline::preview(&app, &source)
        .await
        .map_err(Error::Partner)
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
