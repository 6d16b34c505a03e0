//! WebSub publishing (W3C WebSub §5): when a served feed changes, tell each
//! configured hub, so subscribers get the news pushed instead of polling.
//! Hubs are the operator's choice (config), not partner input.

use std::time::Duration;

use url::Url;

use crate::publish::Format;

/// A client for hub pings; one per daemon.
pub(crate) struct Publisher {
    client: reqwest::Client,
    hubs: Vec<Url>,
}

impl Publisher {
    pub(crate) fn new(hubs: Vec<Url>, user_agent: &str) -> anyhow::Result<Publisher> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::limited(3))
            .no_proxy()
            .build()?;
        Ok(Publisher { client, hubs })
    }

    /// Pings every hub for every changed feed URL; failures are logged, never fatal.
    pub(crate) async fn publish(&self, feed_urls: &[String]) {
        for hub in &self.hubs {
            for topic in feed_urls {
                let form = [("hub.mode", "publish"), ("hub.url", topic.as_str())];
                let body = serde_urlencoded_pairs(&form);
                let sent = self
                    .client
                    .post(hub.clone())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        tracing::debug!(%hub, %topic, "hub notified")
                    }
                    Ok(r) => {
                        tracing::warn!(%hub, %topic, status = r.status().as_u16(), "hub refused the publish ping")
                    }
                    Err(e) => tracing::warn!(%hub, %topic, error = %e, "hub not reachable"),
                }
            }
        }
    }
}

/// `application/x-www-form-urlencoded` body via the url crate's serializer.
fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The public URLs of changed feeds, in every format (`/feed` → `…/feed.atom`, …).
pub(crate) fn topics(public_base: &str, feeds: &[String]) -> Vec<String> {
    feeds
        .iter()
        .flat_map(|f| Format::ALL.map(|format| format.path(&format!("{public_base}{f}"))))
        .collect()
}
