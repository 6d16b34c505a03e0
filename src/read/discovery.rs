//! Discovery: what a configured URL of kind "auto" (or a feed given by its
//! homepage) really is — a feed, a page announcing feeds, a site with a feed
//! at a common path, or a news listing to read as HTML.

use bytes::Bytes;
use url::Url;

use super::{Read, ReadError, Reader, blocking};
use crate::extract::discover::{self, FeedLink};
use crate::extract::html::Page;
use crate::extract::{ExtractError, charset};
use crate::fetch::{FetchOutcome, ResponseMeta, Want};
use crate::model::{Resolution, ResolvedKind, SourceKind, Validators};

/// Feeds a page announces that are tried before giving up on discovery.
const MAX_ANNOUNCED_FEEDS: usize = 4;

impl Reader<'_> {
    /// The configured URL is not (or no longer) known to be a feed: find out.
    pub(super) async fn discover(
        &self,
        meta: ResponseMeta,
        body: Bytes,
    ) -> Result<Read, ReadError> {
        if discover::looks_like_feed(&body, meta.content_type.as_deref()) {
            let how = "the configured URL is a feed".to_string();
            let resolution = Resolution {
                kind: ResolvedKind::Feed,
                fetch_url: None,
                how,
            };
            let doc = self.feed_document(meta, body, Some(resolution)).await?;
            return Ok(self.feed_read(doc));
        }
        let (m, b) = (meta.clone(), body.clone());
        let announced = blocking(move || {
            let text = charset::decode_html(&b, m.content_type.as_deref());
            Page::parse(&text, &m.final_url).map(|page| discover::feed_links(&page))
        })
        .await??;
        let mut candidates: Vec<(Url, String)> = announced
            .into_iter()
            .take(MAX_ANNOUNCED_FEEDS)
            .map(|FeedLink { url, .. }| {
                let how = format!("feed {url} announced by the page {}", meta.final_url);
                (url, how)
            })
            .collect();
        if self.source.kind == SourceKind::Auto {
            for url in discover::common_feed_urls(&meta.final_url) {
                if !candidates.iter().any(|(c, _)| *c == url) {
                    let how = format!("feed found at the common path {url}");
                    candidates.push((url, how));
                }
            }
        }
        for (url, how) in candidates {
            let Ok(FetchOutcome::Fetched { meta: fm, body: fb }) = self
                .fetcher
                .get_as(
                    &url,
                    &Validators::default(),
                    Want::Feed,
                    &self.source.access,
                )
                .await
            else {
                continue;
            };
            if !discover::looks_like_feed(&fb, fm.content_type.as_deref()) {
                continue;
            }
            let resolution = Resolution {
                kind: ResolvedKind::Feed,
                fetch_url: Some(fm.final_url.clone()),
                how,
            };
            if let Ok(doc) = self.feed_document(fm, fb, Some(resolution)).await {
                return Ok(self.feed_read(doc));
            }
        }
        if self.source.kind != SourceKind::Auto {
            return Err(ExtractError::HtmlNotFeed.into());
        }
        let how = format!(
            "no feed found at {}; reading it as a news listing page",
            meta.final_url
        );
        self.html_listing(
            meta,
            body,
            Some(Resolution {
                kind: ResolvedKind::Html,
                fetch_url: None,
                how,
            }),
        )
        .await
    }
}
