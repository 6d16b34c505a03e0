//! Atom 1.0 output (RFC 4287) via atom_syndication: rel=self, feed id and
//! updated, and per entry an atom:source crediting the original partner,
//! the original article as rel=alternate and other partners as rel=related;
//! RFC 5005 archive links and `<fh:archive/>`, WebSub `rel="hub"`;
//! attachments as `rel="enclosure"` links (type and length), the picture
//! as `media:thumbnail`.

use std::collections::BTreeMap;

use atom_syndication::extension::Extension;
use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, FixedDateTime, Link, Person, Source, Text,
};
use chrono::{DateTime, Utc};

use super::Format;
use super::entries::{Credit, Entry, FeedDoc};
use super::media;
use crate::model::Media;

fn date(t: DateTime<Utc>) -> FixedDateTime {
    t.fixed_offset()
}

fn link(href: &str, rel: &str, mime: Option<&str>, title: Option<&str>) -> Link {
    Link {
        href: href.to_string(),
        rel: rel.to_string(),
        mime_type: mime.map(str::to_string),
        title: title.map(str::to_string),
        ..Default::default()
    }
}

fn source(c: &Credit) -> Source {
    let mut links = vec![link(&c.feed_url, "self", None, None)];
    if let Some(home) = &c.home_url {
        links.push(link(home, "alternate", Some("text/html"), None));
    }
    Source {
        title: Text::plain(c.name.clone()),
        id: c.feed_url.clone(),
        updated: date(c.published),
        links,
        ..Default::default()
    }
}

fn entry(e: &Entry, tags_base: &str) -> AtomEntry {
    let mut links = Vec::new();
    if let Some(href) = &e.link {
        links.push(link(href, "alternate", Some("text/html"), None));
    }
    for other in &e.also {
        if let Some(href) = &other.link {
            links.push(link(href, "related", Some("text/html"), Some(&other.name)));
        }
    }
    for m in Media::attachments(&e.media) {
        links.push(Link {
            length: m.length.map(|l| l.to_string()),
            ..link(
                &m.url,
                "enclosure",
                Some(media::mime_type(m)),
                m.title.as_deref(),
            )
        });
    }
    let mut extensions = BTreeMap::new();
    if let Some(picture) = Media::picture(&e.media) {
        let thumbnail = Extension {
            name: "media:thumbnail".into(),
            attrs: media::thumbnail_attrs(picture),
            ..Default::default()
        };
        extensions.insert(
            "media".to_string(),
            BTreeMap::from([("thumbnail".to_string(), vec![thumbnail])]),
        );
    }
    AtomEntry {
        title: Text::plain(e.title.clone()),
        id: e.id.clone(),
        updated: date(e.updated),
        published: Some(date(e.published)),
        authors: e
            .authors
            .iter()
            .map(|a| Person {
                name: a.clone(),
                ..Default::default()
            })
            .collect(),
        categories: e
            .categories
            .iter()
            .map(|c| Category {
                term: c.clone(),
                ..Default::default()
            })
            .chain(e.tags.iter().map(|t| Category {
                term: t.clone(),
                scheme: Some(tags_base.to_string()),
                label: None,
            }))
            .collect(),
        links,
        summary: e.summary.as_ref().map(|s| Text::plain(s.clone())),
        content: Some(Content {
            value: Some(e.content_html.clone()),
            content_type: Some("html".into()),
            ..Default::default()
        }),
        source: Some(source(&e.origin)),
        extensions,
        ..Default::default()
    }
}

/// RFC 5005 feed history namespace.
const FH: &str = "http://purl.org/syndication/history/1.0";

/// `doc` as an Atom feed document.
pub(crate) fn render(doc: &FeedDoc) -> Vec<u8> {
    let atom = Format::Atom.media_type();
    let mut links = vec![
        link(&doc.self_url(Format::Atom), "self", Some(atom), None),
        link(&doc.home_url, "alternate", Some("text/html"), None),
    ];
    if let Some(older) = &doc.older {
        links.push(link(
            &Format::Atom.path(older),
            "prev-archive",
            Some(atom),
            None,
        ));
    }
    links.extend(doc.links.iter().map(|l| {
        let mime = (l.rel != "hub").then_some(atom);
        link(&l.href, l.rel, mime, None)
    }));
    let mut namespaces = BTreeMap::new();
    let mut extensions = BTreeMap::new();
    if doc
        .entries
        .iter()
        .any(|e| Media::picture(&e.media).is_some())
    {
        namespaces.insert("media".to_string(), media::MRSS.to_string());
    }
    if doc.archive {
        namespaces.insert("fh".to_string(), FH.to_string());
        let archive = Extension {
            name: "fh:archive".into(),
            ..Default::default()
        };
        extensions.insert(
            "fh".to_string(),
            BTreeMap::from([("archive".to_string(), vec![archive])]),
        );
    }
    let feed = Feed {
        title: Text::plain(doc.title.clone()),
        id: doc.id.clone(),
        updated: date(doc.updated),
        authors: vec![Person {
            name: doc.author.clone(),
            ..Default::default()
        }],
        links,
        subtitle: doc.subtitle.as_ref().map(|s| Text::plain(s.clone())),
        generator: Some(atom_syndication::Generator {
            value: "revierfeed".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        lang: Some(doc.language.clone()),
        entries: doc
            .entries
            .iter()
            .map(|e| entry(e, &doc.tags_base))
            .collect(),
        namespaces,
        extensions,
        ..Default::default()
    };
    // The writer emits the XML declaration itself (UTF-8).
    feed.write_to(Vec::new())
        .expect("writing to a Vec cannot fail")
}
