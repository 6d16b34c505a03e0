//! Full text for feeds that give only teasers (`full_text = true`): each
//! teaser item's article page is read with the same reader as the article
//! pages of HTML sources (conditional GET, the `fetch.article_pages` budget
//! per poll, the page cache, the body limits, the operator's `content` and
//! `remove` selectors), and its text replaces the teaser when it is longer.
//! Sanitising happens later, in `normalize`, as for every other item.

use std::collections::HashMap;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use url::Url;

use super::{Document, ListingRead, Read, ReadError, Reader};
use crate::extract::html::Article;
use crate::fetch::ResponseMeta;
use crate::model::{ExtractedItem, Fragment, PageRecord};
use crate::normalize::{canonical_link, html_to_text};

/// A feed item with less plain text than this is a teaser.
const TEASER_CHARS: usize = 600;

/// A feed read whose teaser items wait for their article pages.
#[derive(Debug)]
pub(crate) struct Teasers {
    doc: Document,
    /// (index into the items, article page, fingerprint of the feed item).
    wanted: Vec<(usize, Url, String)>,
}

impl Teasers {
    pub(super) fn page_urls(&self) -> Vec<String> {
        self.wanted
            .iter()
            .map(|(_, url, _)| url.to_string())
            .collect()
    }

    pub(super) fn meta(&self) -> &ResponseMeta {
        &self.doc.meta
    }
}

/// Whether the feed gives only a teaser of this item: little text, or text
/// that ends in an ellipsis ("… [&hellip;]", "[...]") before any trailer
/// such as WordPress's "Der Beitrag … erschien zuerst auf …".
fn is_teaser(item: &ExtractedItem) -> bool {
    let body = item.content.as_ref().or(item.summary.as_ref());
    let Some(body) = body else { return true };
    let text = if body.is_html {
        html_to_text(&body.text)
    } else {
        body.text.clone()
    };
    if text.chars().count() < TEASER_CHARS {
        return true;
    }
    let cut = ["[…]", "[...]", "[&hellip;]", "…", "..."];
    let pieces: Vec<String> = if body.is_html {
        html_paragraphs(body)
    } else {
        body.text.lines().map(str::to_string).collect()
    };
    pieces
        .iter()
        .any(|line| cut.iter().any(|c| line.trim_end().ends_with(c)))
}

/// The plain text of each paragraph of an HTML body (a teaser's ellipsis
/// ends a paragraph, not the whole text, when a trailer follows).
fn html_paragraphs(body: &Fragment) -> Vec<String> {
    body.text
        .split("</p>")
        .map(html_to_text)
        .filter(|t| !t.is_empty())
        .collect()
}

/// What the feed said about an item: when it changes, its page is read again.
fn fingerprint(item: &ExtractedItem) -> String {
    let mut h = Sha256::new();
    for part in [
        item.guid.as_deref().unwrap_or(""),
        item.link.as_ref().map(Url::as_str).unwrap_or(""),
        item.title.as_ref().map(|t| t.text.as_str()).unwrap_or(""),
        item.summary.as_ref().map(|t| t.text.as_str()).unwrap_or(""),
        item.content.as_ref().map(|t| t.text.as_str()).unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for date in [item.published, item.updated] {
        h.update(date.map(|d| d.timestamp()).unwrap_or(0).to_le_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// Puts the article page's body into a teaser item when it says more.
fn complete(item: &mut ExtractedItem, article: &Article) {
    let Some(body) = &article.content_html else {
        return;
    };
    let teaser_len = item
        .content
        .as_ref()
        .or(item.summary.as_ref())
        .map(|f| html_to_text(&f.text).chars().count())
        .unwrap_or(0);
    if html_to_text(body).chars().count() <= teaser_len {
        return;
    }
    item.content = Some(Fragment::html(body.clone()));
    // The teaser (and trailers like "Der Beitrag … erschien zuerst auf …")
    // would otherwise be the text stories are matched by and readers see first.
    item.summary = None;
    item.base = Some(article.base.clone());
    if item.media.is_empty() {
        item.media.extend(article.image.clone());
    }
}

impl Reader<'_> {
    /// A feed document, or its teasers waiting for their article pages when
    /// the source wants full text.
    pub(super) fn feed_read(&self, doc: Document) -> Read {
        if !self.source.full_text {
            return Read::Document(doc);
        }
        let wanted: Vec<(usize, Url, String)> = doc
            .extracted
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| is_teaser(item))
            .filter_map(|(i, item)| {
                let link = canonical_link(item.link.as_ref()?);
                Some((i, link, fingerprint(item)))
            })
            .collect();
        if wanted.is_empty() {
            return Read::Document(doc);
        }
        Read::Listing(ListingRead::of_teasers(Teasers { doc, wanted }))
    }

    /// Reads the teasers' article pages (changed or new ones first come,
    /// first served within the budget; unchanged ones from `cache`).
    pub(super) async fn complete_teasers(
        &self,
        teasers: Teasers,
        cache: HashMap<String, PageRecord>,
    ) -> Result<Document, ReadError> {
        let Teasers { mut doc, wanted } = teasers;
        let mut budget = self.settings.article_pages;
        let mut reused = 0;
        let mut fetches = Vec::new();
        for (i, url, fp) in &wanted {
            let cached = cache.get(url.as_str()).cloned();
            if self.page_is_fresh(cached.as_ref(), fp) {
                reused += 1;
                let article = cached
                    .and_then(|c| c.article)
                    .and_then(|j| serde_json::from_str::<Article>(&j).ok());
                if let Some(a) = article {
                    complete(&mut doc.extracted.items[*i], &a);
                }
            } else if budget > 0 {
                budget -= 1;
                fetches.push(async move {
                    self.article(url, fp, cached)
                        .await
                        .map(|(article, record)| (*i, article, record))
                });
            }
        }
        let fetched = fetches.len();
        let results: Vec<_> = futures_util::stream::iter(fetches)
            .buffered(self.settings.per_host.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        for (i, article, record) in results {
            if let Some(a) = &article {
                complete(&mut doc.extracted.items[i], a);
            }
            doc.pages.push(record);
        }
        doc.notes.push(format!(
            "full text: {} teasers; {fetched} article pages requested, {reused} unchanged ones reused",
            wanted.len()
        ));
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(summary: Fragment) -> ExtractedItem {
        ExtractedItem {
            summary: Some(summary),
            ..Default::default()
        }
    }

    #[test]
    fn teasers_are_short_or_cut_off() {
        assert!(is_teaser(&item(Fragment::plain("Kurz."))));
        let long = "Ein ganzer Satz mit vielen Wörtern. ".repeat(30);
        assert!(!is_teaser(&item(Fragment::plain(long.clone()))));
        let cut = format!(
            "<p>{long} Und dann [&#8230;]</p>\n<p>Der Beitrag <a href=\"x\">X</a> erschien zuerst auf <a href=\"y\">Y</a>.</p>"
        );
        assert!(is_teaser(&item(Fragment::html(cut))));
        assert!(is_teaser(&ExtractedItem::default()), "no text at all");
    }

    #[test]
    fn a_longer_article_replaces_the_teaser_and_a_shorter_one_does_not() {
        let article = |body: &str| Article {
            base: Url::parse("https://partner.example/a/").unwrap(),
            canonical: None,
            title_structured: None,
            title_structured_from: None,
            title_visible: None,
            title_visible_from: None,
            titles_other: vec![],
            published: None,
            published_structured: None,
            published_time_element: None,
            published_visible: None,
            updated: None,
            authors: vec![],
            description: None,
            content_html: Some(body.to_string()),
            categories: vec![],
            broken_date: None,
            image: None,
        };
        let mut teaser = item(Fragment::html("<p>Der See füllt sich. [&#8230;]</p>"));
        complete(
            &mut teaser,
            &article("<p>Der See füllt sich schneller als gedacht, sagt das Landesamt.</p>"),
        );
        assert!(teaser.summary.is_none());
        assert!(teaser.content.unwrap().text.contains("Landesamt"));

        let mut full = item(Fragment::plain("Ein langer Text, länger als die Seite."));
        complete(&mut full, &article("<p>Kurz.</p>"));
        assert!(full.content.is_none() && full.summary.is_some());
    }
}
