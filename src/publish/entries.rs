//! What a feed says before any format writes it: stories and items become
//! `Entry`s that credit every partner that published them, and entries
//! become a `FeedDoc` with its ids, links and dates.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::{Format, public_base};
use crate::config::Config;
use crate::model::Media;
use crate::store::{ItemView, StoryView};
use crate::text::{reader_line, xml_safe};

/// A partner as credited in an entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Credit {
    pub(crate) source_id: String,
    pub(crate) name: String,
    /// The feed or page we poll.
    pub(crate) feed_url: String,
    /// The partner's website.
    pub(crate) home_url: Option<String>,
    /// This partner's own link to the article.
    pub(crate) link: Option<String>,
    pub(crate) published: DateTime<Utc>,
}

/// One entry, independent of the output format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) link: Option<String>,
    pub(crate) published: DateTime<Utc>,
    pub(crate) updated: DateTime<Utc>,
    pub(crate) authors: Vec<String>,
    /// The partners' own categories.
    pub(crate) categories: Vec<String>,
    /// The operator's tags (each has its own feed).
    pub(crate) tags: Vec<String>,
    /// Plain-text teaser.
    pub(crate) summary: Option<String>,
    /// Sanitised HTML, with the sources credited at the end.
    pub(crate) content_html: String,
    /// The original publication (the earliest one for a story).
    pub(crate) origin: Credit,
    /// Further partners that published the same news.
    pub(crate) also: Vec<Credit>,
    /// Pictures and attachments (of the leading item, for a story).
    pub(crate) media: Vec<Media>,
}

/// One feed, independent of the output format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeedDoc {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) subtitle: Option<String>,
    pub(crate) language: String,
    pub(crate) author: String,
    /// Public URL without extension, e.g. `https://host/feed`; each format appends its own.
    pub(crate) self_base: String,
    /// The canonical query of a feed by query (`?tag=a`), else empty.
    pub(crate) self_query: String,
    /// The HTML page for humans.
    pub(crate) home_url: String,
    pub(crate) updated: DateTime<Utc>,
    pub(crate) entries: Vec<Entry>,
    /// The next older page, as a public URL without extension: RFC 5005's
    /// `prev-archive` in Atom, `next_url` in JSON Feed (both walk the same pages).
    pub(crate) older: Option<String>,
    /// Further links: RFC 5005 archive navigation, WebSub hubs.
    pub(crate) links: Vec<DocLink>,
    /// An RFC 5005 archive document (`<fh:archive/>`), which never changes.
    pub(crate) archive: bool,
    /// Base of tag feed URLs, used as the category scheme for tags.
    pub(crate) tags_base: String,
}

/// A feed-level link such as `rel="prev-archive"` or `rel="hub"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocLink {
    pub(crate) rel: &'static str,
    pub(crate) href: String,
}

impl FeedDoc {
    /// This document's public URL in `format`.
    pub(crate) fn self_url(&self, format: Format) -> String {
        format!("{}{}", format.path(&self.self_base), self.self_query)
    }
}

/// The one place everything on its way to a reader loses the characters XML
/// 1.0 forbids, and names and titles their bidi controls: items stored
/// before normalising did so, names a partner's feed gave itself and the
/// operator's own texts pass here too, so no single character can make a
/// whole merged feed ill-formed.
fn line(s: &mut String) {
    if let Cow::Owned(clean) = reader_line(s) {
        *s = clean;
    }
}

fn xml(s: &mut String) {
    if let Cow::Owned(clean) = xml_safe(s) {
        *s = clean;
    }
}

impl Credit {
    fn scrubbed(mut self) -> Credit {
        line(&mut self.name);
        for s in [&mut self.source_id, &mut self.feed_url] {
            xml(s);
        }
        for s in [&mut self.home_url, &mut self.link].into_iter().flatten() {
            xml(s);
        }
        self
    }
}

impl Entry {
    fn scrubbed(mut self) -> Entry {
        line(&mut self.title);
        for s in self
            .authors
            .iter_mut()
            .chain(&mut self.categories)
            .chain(&mut self.tags)
        {
            line(s);
        }
        for s in [&mut self.id, &mut self.content_html] {
            xml(s);
        }
        for s in [&mut self.link, &mut self.summary].into_iter().flatten() {
            xml(s);
        }
        self.origin = self.origin.scrubbed();
        self.also = self.also.into_iter().map(Credit::scrubbed).collect();
        self
    }
}

fn credit(item: &ItemView, config: &Config) -> Credit {
    let configured = config.source(&item.source_id);
    Credit {
        source_id: item.source_id.clone(),
        name: configured
            .map(|s| s.name.clone())
            .unwrap_or_else(|| item.source_name.clone()),
        feed_url: item.source_url.clone(),
        home_url: configured
            .and_then(|s| s.homepage.as_ref().map(|u| u.to_string()))
            .or_else(|| item.source_home.clone()),
        link: item.link.clone(),
        published: item.published,
    }
}

fn credits_html(origin: &Credit, also: &[Credit]) -> String {
    let link = |c: &Credit| {
        let name = html_escape::encode_text(&c.name);
        match c.link.as_deref().or(c.home_url.as_deref()) {
            Some(href) => format!(
                "<a href=\"{}\">{name}</a>",
                html_escape::encode_double_quoted_attribute(href)
            ),
            None => name.into_owned(),
        }
    };
    let mut out = format!("<p class=\"revierfeed-sources\">Quelle: {}", link(origin));
    if !also.is_empty() {
        out.push_str(" · Auch berichtet von: ");
        out.push_str(&also.iter().map(link).collect::<Vec<_>>().join(", "));
    }
    out.push_str("</p>");
    out
}

fn body_html(item: &ItemView) -> String {
    item.content_html
        .clone()
        .or_else(|| item.summary_html.clone())
        .unwrap_or_else(|| format!("<p>{}</p>", html_escape::encode_text(&item.text)))
}

fn teaser(item: &ItemView) -> Option<String> {
    Some(crate::text::truncate_chars(&item.text, 400)).filter(|t| !t.is_empty())
}

/// A merged-feed entry for a story, crediting every member.
pub(crate) fn story_entry(story: &StoryView, config: &Config) -> Entry {
    let lead = story.lead();
    let origin = credit(lead, config);
    let also: Vec<Credit> = story.members[1..]
        .iter()
        .map(|m| credit(m, config))
        .collect();
    let union = |f: fn(&ItemView) -> &Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for c in story.members.iter().flat_map(|m| f(m).iter()) {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    };
    Entry {
        id: story.uid.clone(),
        title: lead.title.clone(),
        link: lead.link.clone(),
        published: story.published,
        updated: story.updated.max(story.published),
        authors: lead.authors.clone(),
        categories: union(|m| &m.categories),
        tags: union(|m| &m.tags),
        summary: teaser(lead),
        content_html: format!("{}\n{}", body_html(lead), credits_html(&origin, &also)),
        origin,
        also,
        // The leading item's media: its text is the one shown, so are its pictures.
        media: lead.media.clone(),
    }
    .scrubbed()
}

/// A per-source entry for one item.
pub(crate) fn item_entry(item: &ItemView, config: &Config) -> Entry {
    let origin = credit(item, config);
    Entry {
        id: item.uid.clone(),
        title: item.title.clone(),
        link: item.link.clone(),
        published: item.published,
        updated: item.updated.max(item.published),
        authors: item.authors.clone(),
        categories: item.categories.clone(),
        tags: item.tags.clone(),
        summary: teaser(item),
        content_html: format!("{}\n{}", body_html(item), credits_html(&origin, &[])),
        origin,
        also: Vec::new(),
        media: item.media.clone(),
    }
    .scrubbed()
}

fn doc_updated(entries: &[Entry], fallback: DateTime<Utc>) -> DateTime<Utc> {
    entries.iter().map(|e| e.updated).max().unwrap_or(fallback)
}

/// A feed of `entries` served under `self_path` (e.g. `/tags/x`), with the
/// site's language, author and hubs; `created` dates an empty feed.
pub(crate) fn feed_doc(
    config: &Config,
    id: String,
    title: String,
    self_path: &str,
    entries: Vec<Entry>,
    created: DateTime<Utc>,
) -> FeedDoc {
    let base = public_base(config);
    let (mut title, mut language, mut author) = (
        title,
        config.feed.language.clone(),
        config.feed.author.clone(),
    );
    for s in [&mut title, &mut language, &mut author] {
        line(s);
    }
    FeedDoc {
        id,
        subtitle: None,
        language,
        author,
        self_base: format!("{base}{self_path}"),
        self_query: String::new(),
        older: None,
        home_url: format!("{base}/"),
        updated: doc_updated(&entries, created),
        entries,
        links: config
            .feed
            .hubs
            .iter()
            .map(|h| DocLink {
                rel: "hub",
                href: h.to_string(),
            })
            .collect(),
        archive: false,
        tags_base: format!("{base}/tags/"),
        title,
    }
}

/// A feed document for the renderers' unit tests: a story two partners
/// published (with tags, categories, authors and a hub), a lone item with
/// text a writer must escape and no link, and an archive variant.
#[cfg(test)]
pub(crate) mod sample {
    use chrono::TimeZone;

    use super::*;

    pub(crate) const HOSTILE_TITLE: &str = "Kosten: <5 Mio. & \"Plan\" ]]> 'B' </title>";

    pub(crate) fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 30, 0).unwrap()
    }

    fn credit(id: &str, link: Option<&str>, h: u32) -> Credit {
        Credit {
            source_id: id.into(),
            name: format!("Quelle {id} & Co"),
            feed_url: format!("https://{id}.example/feed/"),
            home_url: Some(format!("https://{id}.example/")),
            link: link.map(str::to_string),
            published: at(h),
        }
    }

    pub(crate) fn doc() -> FeedDoc {
        let origin = credit("verein", Some("https://verein.example/a?x=1&y=2"), 9);
        let also = vec![
            credit("zeitung", Some("https://zeitung.example/b"), 10),
            credit("radio", None, 11),
        ];
        let story = Entry {
            id: "urn:uuid:11111111-1111-4111-8111-111111111111".into(),
            title: "Batteriespeicher am Netz".into(),
            link: origin.link.clone(),
            published: at(9),
            updated: at(12),
            authors: vec!["Anna Beispiel".into()],
            categories: vec!["Energie".into()],
            tags: vec!["speicher".into()],
            summary: Some("Der Speicher läuft.".into()),
            content_html: format!(
                "<p>Der Speicher <b>läuft</b>.</p>\n{}",
                credits_html(&origin, &also)
            ),
            origin,
            also,
            media: Vec::new(),
        };
        let lone_origin = credit("stadt", None, 8);
        let lone = Entry {
            id: "urn:uuid:22222222-2222-4222-8222-222222222222".into(),
            title: HOSTILE_TITLE.into(),
            link: None,
            published: at(8),
            updated: at(8),
            authors: Vec::new(),
            categories: Vec::new(),
            tags: Vec::new(),
            summary: None,
            content_html: format!(
                "<p>a &lt; b &amp; c</p>\n{}",
                credits_html(&lone_origin, &[])
            ),
            origin: lone_origin,
            media: Vec::new(),
            also: Vec::new(),
        };
        FeedDoc {
            id: "urn:uuid:00000000-0000-4000-8000-000000000001".into(),
            title: "Lausitz & Umgebung".into(),
            subtitle: Some("Neues <aus> der Region".into()),
            language: "de".into(),
            author: "Revier-Redaktion".into(),
            self_base: "https://feed.example/feed".into(),
            home_url: "https://feed.example/".into(),
            updated: at(12),
            entries: vec![story, lone],
            links: vec![DocLink {
                rel: "hub",
                href: "https://hub.example/".into(),
            }],
            archive: false,
            tags_base: "https://feed.example/tags/".into(),
            self_query: String::new(),
            older: None,
        }
    }

    /// An RFC 5005 archive document of the same entries.
    pub(crate) fn archive() -> FeedDoc {
        let mut d = doc();
        d.archive = true;
        d.older = Some("https://feed.example/archive/1".into());
        d
    }
}
