//! Media of feed entries: RSS `<enclosure>`, Media RSS `media:content`,
//! `media:group` and `media:thumbnail` (feed-rs gathers all of these into
//! `Entry::media`), Atom `link rel="enclosure"`, and JSON Feed `image`,
//! `banner_image` and `attachments` (feed-rs reads attachments as links
//! and drops the images and durations, so JSON is read here once more).
//! URLs come out absolute but unchecked; `normalize` decides what is kept.

use feed_rs::model::{Entry, Link, MediaObject};
use serde::Deserialize;
use url::Url;

use crate::model::{ExtractedItem, Media, Medium};

/// Entries carrying more media than this are cut here already, so that a
/// hostile feed's ten thousand enclosures cost nothing downstream
/// (`normalize` keeps far fewer).
const MAX_PER_ENTRY: usize = 64;

/// The media feed-rs found in `entry` (Media RSS, enclosures, Atom enclosure links).
pub(super) fn of_entry(entry: &Entry, base: &Url) -> Vec<Media> {
    let mut out = Vec::new();
    for object in &entry.media {
        from_media_object(object, base, &mut out);
    }
    for link in entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
    {
        if let Some(m) = from_link(link, base) {
            out.push(m);
        }
    }
    out.truncate(MAX_PER_ENTRY);
    out
}

fn from_media_object(object: &MediaObject, base: &Url, out: &mut Vec<Media>) {
    let title = object
        .title
        .as_ref()
        .or(object.description.as_ref())
        .map(|t| t.content.clone());
    for content in &object.content {
        let Some(url) = &content.url else { continue };
        let mime_type = content
            .content_type
            .as_ref()
            .map(|t| t.essence().to_string());
        out.push(Media {
            url: url.to_string(),
            medium: mime_type
                .as_deref()
                .map(Medium::of_mime_type)
                .unwrap_or_default(),
            mime_type,
            preview: false,
            length: content.size,
            width: content.width,
            height: content.height,
            duration_secs: content.duration.or(object.duration).map(|d| d.as_secs()),
            title: title.clone(),
        });
    }
    for thumb in &object.thumbnails {
        let Ok(url) = base.join(thumb.image.uri.trim()) else {
            continue;
        };
        out.push(Media {
            url: url.to_string(),
            medium: Medium::Image,
            preview: true,
            width: thumb.image.width,
            height: thumb.image.height,
            title: thumb.image.title.clone().or_else(|| title.clone()),
            ..Default::default()
        });
    }
}

fn from_link(link: &Link, base: &Url) -> Option<Media> {
    let url = base.join(link.href.trim()).ok()?;
    Some(Media {
        url: url.to_string(),
        medium: link
            .media_type
            .as_deref()
            .map(Medium::of_mime_type)
            .unwrap_or_default(),
        mime_type: link.media_type.clone(),
        length: link.length,
        title: link.title.clone(),
        ..Default::default()
    })
}

/// RSS `<enclosure>`s that feed-rs dropped: it keeps an item's enclosure
/// only when the item has no Media RSS content, but a video enclosure
/// beside a `media:content` picture is common (and both matter). Read with
/// a plain pass over the document; items are matched by guid, else link.
pub(super) fn attach_rss_enclosures(text: &str, base: &Url, items: &mut [ExtractedItem]) {
    if !text.contains("<enclosure") {
        return;
    }
    for found in rss_enclosures(text) {
        let link = found.link.as_deref().and_then(|l| base.join(l.trim()).ok());
        let Some(item) = items.iter_mut().find(|i| match (&found.guid, &i.guid) {
            (Some(g), Some(ig)) => g.trim() == ig,
            _ => link.is_some() && i.link == link,
        }) else {
            continue;
        };
        for e in found.enclosures {
            let Ok(url) = base.join(e.url.trim()) else {
                continue;
            };
            let url = url.to_string();
            if item.media.len() >= MAX_PER_ENTRY || item.media.iter().any(|m| m.url == url) {
                continue;
            }
            item.media.push(Media {
                url,
                medium: e
                    .mime_type
                    .as_deref()
                    .map(Medium::of_mime_type)
                    .unwrap_or_default(),
                mime_type: e.mime_type,
                length: e.length.and_then(|l| l.trim().parse().ok()),
                ..Default::default()
            });
        }
    }
}

#[derive(Default)]
struct RssItem {
    guid: Option<String>,
    link: Option<String>,
    enclosures: Vec<Enclosure>,
}

struct Enclosure {
    url: String,
    mime_type: Option<String>,
    length: Option<String>,
}

/// Every RSS item's guid, link and enclosures; stops quietly at the first
/// XML error (feed-rs has read the document, this only adds to it).
fn rss_enclosures(text: &str) -> Vec<RssItem> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut out = Vec::new();
    let mut item: Option<RssItem> = None;
    // The direct child of <item> whose text is being read.
    let mut reading: Option<&'static str> = None;
    let mut depth = 0usize;
    let mut item_depth = 0usize;
    let attr = |e: &quick_xml::events::BytesStart, name: &str| {
        e.attributes()
            .with_checks(false)
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .map(|a| {
                let raw = a.value.to_string();
                quick_xml::escape::unescape(&raw)
                    .map(|v| v.into_owned())
                    .unwrap_or(raw)
            })
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                let name = e.name().as_ref().to_string();
                if name == "item" {
                    item = Some(RssItem::default());
                    item_depth = depth;
                } else if item.is_some() && depth == item_depth + 1 {
                    reading = match name.as_str() {
                        "guid" => Some("guid"),
                        "link" => Some("link"),
                        _ => None,
                    };
                    if name == "enclosure" {
                        push_enclosure(&mut item, &e, attr);
                    }
                }
            }
            Ok(Event::Empty(e)) => {
                if item.is_some() && depth == item_depth && e.name().as_ref() == "enclosure" {
                    push_enclosure(&mut item, &e, attr);
                }
            }
            Ok(event @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))) => {
                let (Some(field), Some(it)) = (reading, item.as_mut()) else {
                    continue;
                };
                let value = match &event {
                    Event::Text(t) => t.xml10_content().into_owned(),
                    Event::CData(t) => t.xml10_content().into_owned(),
                    Event::GeneralRef(r) => {
                        let raw = format!("&{};", r.xml10_content());
                        quick_xml::escape::unescape(&raw)
                            .map(|v| v.into_owned())
                            .unwrap_or(raw)
                    }
                    _ => String::new(),
                };
                let slot = if field == "guid" {
                    &mut it.guid
                } else {
                    &mut it.link
                };
                slot.get_or_insert_with(String::new).push_str(&value);
            }
            Ok(Event::End(_)) => {
                if item.is_some() && depth == item_depth {
                    out.extend(item.take());
                }
                reading = None;
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

fn push_enclosure(
    item: &mut Option<RssItem>,
    e: &quick_xml::events::BytesStart,
    attr: impl Fn(&quick_xml::events::BytesStart, &str) -> Option<String>,
) {
    let (Some(it), Some(url)) = (item.as_mut(), attr(e, "url")) else {
        return;
    };
    if it.enclosures.len() < MAX_PER_ENTRY {
        it.enclosures.push(Enclosure {
            url,
            mime_type: attr(e, "type"),
            length: attr(e, "length"),
        });
    }
}

/// The parts of a JSON Feed item that carry media.
#[derive(Deserialize)]
struct JsonFeed {
    #[serde(default)]
    items: Vec<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct JsonItem {
    id: Option<serde_json::Value>,
    image: Option<String>,
    banner_image: Option<String>,
    #[serde(default)]
    attachments: Vec<JsonAttachment>,
}

#[derive(Deserialize)]
struct JsonAttachment {
    url: String,
    mime_type: Option<String>,
    title: Option<String>,
    size_in_bytes: Option<f64>,
    duration_in_seconds: Option<f64>,
}

/// Adds the media of a JSON Feed document `text` to `items` (converted
/// from its entries, in order). The JSON Feed reading replaces what feed-rs
/// made of the attachments, adding their durations.
pub(super) fn attach_json(text: &str, base: &Url, items: &mut [ExtractedItem]) {
    let Ok(feed) = serde_json::from_str::<JsonFeed>(text) else {
        return;
    };
    for (item, raw) in items.iter_mut().zip(feed.items) {
        // One malformed item loses only its own media.
        let raw: JsonItem = serde_json::from_value(raw).unwrap_or_default();
        let id = raw.id.as_ref().map(|v| match v {
            serde_json::Value::String(s) => s.trim().to_string(),
            other => other.to_string(),
        });
        // Items pair up by position; an id that disagrees means they don't.
        if id.is_some() && item.guid.is_some() && id != item.guid {
            continue;
        }
        let mut media: Vec<Media> = Vec::new();
        for image in [&raw.image, &raw.banner_image] {
            if let Some(url) = image.as_deref().and_then(|u| base.join(u.trim()).ok()) {
                media.push(Media {
                    url: url.to_string(),
                    medium: Medium::Image,
                    preview: true,
                    ..Default::default()
                });
            }
        }
        for a in raw.attachments.iter().take(MAX_PER_ENTRY) {
            let Ok(url) = base.join(a.url.trim()) else {
                continue;
            };
            media.push(Media {
                url: url.to_string(),
                medium: a
                    .mime_type
                    .as_deref()
                    .map(Medium::of_mime_type)
                    .unwrap_or_default(),
                mime_type: a.mime_type.clone(),
                length: a.size_in_bytes.filter(|n| *n >= 0.0).map(|n| n as u64),
                duration_secs: a
                    .duration_in_seconds
                    .filter(|n| *n >= 0.0)
                    .map(|n| n.round() as u64),
                title: a.title.clone(),
                ..Default::default()
            });
        }
        if !media.is_empty() {
            item.media = media;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_feed;
    use crate::model::Medium;
    use url::Url;

    fn url() -> Url {
        Url::parse("https://partner.example/feed/").unwrap()
    }

    #[test]
    fn rss_enclosures_media_groups_and_thumbnails() {
        let rss = r#"<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>T</title><link>https://partner.example/</link><description>d</description>
        <item><title>Mit Video</title><link>https://partner.example/a</link><guid>a</guid>
          <enclosure url="https://partner.example/v.mp4" length="123456" type="video/mp4"/>
          <media:group><media:content url="https://partner.example/bild-gross.jpg" type="image/jpeg" width="1200" height="675"/><media:content url="/bild-klein.jpg" type="image/jpeg" width="600" height="338"/><media:title>Der See</media:title></media:group>
          <media:thumbnail url="/thumb.jpg" width="320" height="180"/>
        </item></channel></rss>"#;
        let ex = parse_feed(rss.as_bytes(), None, &url(), 10).unwrap();
        let media = &ex.items[0].media;
        let video = media
            .iter()
            .find(|m| m.url == "https://partner.example/v.mp4")
            .expect("the enclosure");
        assert_eq!(video.medium, Medium::Video);
        assert_eq!(video.length, Some(123456));
        assert_eq!(video.mime_type.as_deref(), Some("video/mp4"));
        let big = media
            .iter()
            .find(|m| m.url == "https://partner.example/bild-gross.jpg")
            .expect("a media:group member");
        assert_eq!((big.width, big.height), (Some(1200), Some(675)));
        assert_eq!(big.medium, Medium::Image);
        let thumb = media
            .iter()
            .find(|m| m.preview)
            .expect("the media:thumbnail");
        assert_eq!(thumb.url, "https://partner.example/thumb.jpg");
        assert_eq!((thumb.width, thumb.height), (Some(320), Some(180)));
        // The enclosure is not taken for the article link.
        assert_eq!(
            ex.items[0].link.as_ref().unwrap().as_str(),
            "https://partner.example/a"
        );
    }

    #[test]
    fn atom_enclosure_links() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated>
          <entry><title>Folge 3</title><id>urn:e</id><updated>2026-01-01T00:00:00Z</updated>
            <link href="https://partner.example/folge-3"/>
            <link rel="enclosure" href="https://partner.example/folge-3.mp3" type="audio/mpeg" length="9999" title="Folge 3 hören"/>
          </entry></feed>"#;
        let ex = parse_feed(atom.as_bytes(), None, &url(), 10).unwrap();
        let item = &ex.items[0];
        assert_eq!(
            item.link.as_ref().unwrap().as_str(),
            "https://partner.example/folge-3"
        );
        assert_eq!(item.media.len(), 1);
        let m = &item.media[0];
        assert_eq!(m.url, "https://partner.example/folge-3.mp3");
        assert_eq!(m.medium, Medium::Audio);
        assert_eq!(m.length, Some(9999));
        assert_eq!(m.title.as_deref(), Some("Folge 3 hören"));
    }

    #[test]
    fn json_feed_image_and_attachments() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[
          {"id":"1","url":"https://partner.example/1","title":"Eins","content_text":"x","image":"/bilder/eins.jpg",
           "attachments":[{"url":"https://partner.example/eins.pdf","mime_type":"application/pdf","size_in_bytes":2048},
                          {"url":"https://partner.example/eins.m4a","mime_type":"audio/x-m4a","duration_in_seconds":61.6}]},
          {"id":"2","url":"https://partner.example/2","title":"Zwei","content_text":"y","image":5}]}"#;
        let ex = parse_feed(json.as_bytes(), None, &url(), 10).unwrap();
        let one = &ex.items[0].media;
        assert_eq!(one.len(), 3, "{one:?}");
        assert!(one[0].preview && one[0].url == "https://partner.example/bilder/eins.jpg");
        assert_eq!(one[1].medium, Medium::Document);
        assert_eq!(one[1].length, Some(2048));
        assert_eq!(one[2].duration_secs, Some(62));
        assert!(
            ex.items[1].media.is_empty(),
            "a malformed item has no media"
        );
    }
}
