//! Media end to end: a regional TV partner's video enclosure and pictures, a
//! podcast's audio and cover, and an HTML partner's og:image reach the merged
//! Atom (enclosure links, media:thumbnail), RSS (enclosure, media:content,
//! media:thumbnail), JSON Feed (image, attachments) and the news page;
//! unsafe media URLs reach none of them; a story shows its leading item's media.

use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::pipeline::{self, PollOutcome};

use crate::support::{self, Override, PartnerServer, body_bytes, get};

const MRSS: &str = "http://search.yahoo.com/mrss/";
const ATOM: &str = "http://www.w3.org/2005/Atom";

/// Serves a fixture of tests/fixtures/media at `/{site}{path}`, with `{{BASE}}` filled in.
fn serve(server: &PartnerServer, site: &str, path: &str, fixture: &str, content_type: &str) {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/media")
            .join(fixture),
    )
    .unwrap();
    server.set(
        site,
        path,
        Override::Body {
            content_type: content_type.into(),
            body: text.replace("{{BASE}}", &server.url(site, "")).into_bytes(),
        },
    );
}

async fn text(app: &Arc<App>, path: &str) -> String {
    let r = get(&app.router(), path, &[]).await;
    assert_eq!(r.status(), 200, "{path}");
    String::from_utf8(body_bytes(r).await).unwrap()
}

async fn polled(app: &Arc<App>) {
    for r in pipeline::refresh_all(app, true, |_| {}).await {
        assert!(
            matches!(r.outcome, PollOutcome::Fetched { .. }),
            "{}",
            r.summary()
        );
    }
    app.render().await.unwrap();
}

/// The element of `doc` for the entry or item whose title is `title`.
fn entry_titled<'a>(
    doc: &'a roxmltree::Document,
    tag: &str,
    title: &str,
) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| {
            n.tag_name().name() == tag
                && n.children()
                    .any(|c| c.tag_name().name() == "title" && c.text() == Some(title))
        })
        .unwrap_or_else(|| panic!("no {tag} titled {title}"))
}

fn children<'a>(
    node: roxmltree::Node<'a, 'a>,
    ns: &str,
    name: &str,
) -> Vec<roxmltree::Node<'a, 'a>> {
    node.children()
        .filter(|c| c.tag_name().namespace().unwrap_or("") == ns && c.tag_name().name() == name)
        .collect()
}

const BRIDGE: &str = "Neue Brücke über die Spree in Spremberg freigegeben";
const PODCAST: &str = "Folge 12: Wasserstoff aus der Lausitz";

#[tokio::test]
async fn a_partners_pictures_video_and_audio_appear_in_every_format_and_on_the_page() {
    let server = PartnerServer::start().await;
    serve(
        &server,
        "regio-tv",
        "/feed.rss",
        "regio-tv.rss",
        "application/rss+xml",
    );
    serve(
        &server,
        "revierfunk",
        "/feed.json",
        "podcast.json",
        "application/feed+json",
    );
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        support::source("regio-tv", server.url("regio-tv", "/feed.rss"), "feed"),
        support::source("revierfunk", server.url("revierfunk", "/feed.json"), "feed"),
        support::source(
            "qlee",
            server.url("qlee", "/aktuelles/neuigkeiten/"),
            "html",
        ),
    ];
    let app = Arc::new(App::new(support::config(dir.path(), &sources, "")).unwrap());
    polled(&app).await;
    let tv = server.url("regio-tv", "");
    let funk = server.url("revierfunk", "");

    // Atom: the video as an enclosure link with type and length, the Media RSS thumbnail.
    let atom = text(&app, "/feed.atom").await;
    let doc = roxmltree::Document::parse(&atom).unwrap();
    let entry = entry_titled(&doc, "entry", BRIDGE);
    let enclosures: Vec<_> = children(entry, ATOM, "link")
        .into_iter()
        .filter(|l| l.attribute("rel") == Some("enclosure"))
        .collect();
    let video = enclosures
        .iter()
        .find(|l| l.attribute("href") == Some(&format!("{tv}/videos/bruecke-spremberg.mp4")))
        .unwrap_or_else(|| panic!("no video enclosure in {atom}"));
    assert_eq!(video.attribute("type"), Some("video/mp4"));
    assert_eq!(video.attribute("length"), Some("48213911"));
    assert!(
        enclosures.iter().any(|l| l.attribute("href")
            == Some(&format!("{tv}/bilder/bruecke-spremberg.jpg"))
            && l.attribute("type") == Some("image/jpeg")),
        "the picture is an attachment too: {atom}"
    );
    let thumb = children(entry, MRSS, "thumbnail");
    assert_eq!(thumb.len(), 1, "{atom}");
    assert_eq!(
        thumb[0].attribute("url"),
        Some(format!("{tv}/bilder/bruecke-spremberg-klein.jpg").as_str())
    );
    assert_eq!(thumb[0].attribute("width"), Some("480"));
    let podcast = entry_titled(&doc, "entry", PODCAST);
    let audio = children(podcast, ATOM, "link")
        .into_iter()
        .find(|l| l.attribute("rel") == Some("enclosure"))
        .expect("the podcast's audio");
    assert_eq!(
        audio.attribute("href"),
        Some(format!("{funk}/audio/folge-12.mp3").as_str())
    );
    assert_eq!(audio.attribute("type"), Some("audio/mpeg"));
    assert_eq!(audio.attribute("length"), Some("31457280"));

    // RSS: one enclosure (the video), every file as media:content, the thumbnail.
    let rss = text(&app, "/feed.rss").await;
    let doc = roxmltree::Document::parse(&rss).unwrap();
    let item = entry_titled(&doc, "item", BRIDGE);
    let enclosure = children(item, "", "enclosure");
    assert_eq!(enclosure.len(), 1, "{rss}");
    assert_eq!(
        enclosure[0].attribute("url"),
        Some(format!("{tv}/videos/bruecke-spremberg.mp4").as_str())
    );
    assert_eq!(enclosure[0].attribute("length"), Some("48213911"));
    assert_eq!(enclosure[0].attribute("type"), Some("video/mp4"));
    let contents = children(item, MRSS, "content");
    let picture = contents
        .iter()
        .find(|c| c.attribute("medium") == Some("image"))
        .unwrap_or_else(|| panic!("no picture as media:content in {rss}"));
    assert_eq!(picture.attribute("width"), Some("1280"));
    assert_eq!(picture.attribute("height"), Some("720"));
    assert!(
        contents
            .iter()
            .any(|c| c.attribute("medium") == Some("video")
                && c.attribute("fileSize") == Some("48213911"))
    );
    assert_eq!(children(item, MRSS, "thumbnail").len(), 1);

    // JSON Feed: image and attachments.
    let json: serde_json::Value = serde_json::from_str(&text(&app, "/feed.json").await).unwrap();
    let by_title = |t: &str| {
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == t)
            .unwrap_or_else(|| panic!("no item {t}"))
            .clone()
    };
    let bridge = by_title(BRIDGE);
    assert_eq!(
        bridge["image"],
        format!("{tv}/bilder/bruecke-spremberg-klein.jpg")
    );
    let attachments = bridge["attachments"].as_array().unwrap();
    assert!(
        attachments
            .iter()
            .any(|a| a["url"] == format!("{tv}/videos/bruecke-spremberg.mp4")
                && a["mime_type"] == "video/mp4"
                && a["size_in_bytes"] == 48213911)
    );
    let episode = by_title(PODCAST);
    assert_eq!(episode["image"], format!("{funk}/cover/folge-12.png"));
    assert_eq!(episode["attachments"][0]["duration_in_seconds"], 1964);
    assert_eq!(episode["attachments"][0]["title"], "Folge 12 (MP3)");

    // An HTML partner's article page names its picture with og:image.
    let qlee = by_title("Jahresbilanz 2025: Über 900 Teilnehmende in QLEE-Kursen");
    assert_eq!(
        qlee["image"],
        server.url(
            "qlee",
            "/fileadmin/_processed_/j/a/csm_jahresbilanz_2025_og.jpg"
        )
    );

    // The page: a lazy thumbnail with size and alt text.
    let page = text(&app, "/").await;
    let img = format!(
        "<img class=\"thumb\" src=\"{tv}/bilder/bruecke-spremberg-klein.jpg\" width=\"480\" height=\"270\" alt=\""
    );
    assert!(page.contains(&img), "{page}");
    assert!(page.contains("loading=\"lazy\""));

    // The hostile item is published, its media are not.
    let hostile = by_title("Gefährlicher Anhang");
    assert!(hostile.get("image").is_none() && hostile.get("attachments").is_none());
    for body in [&atom, &rss, &page] {
        for bad in ["javascript:", "data:image", "file:"] {
            assert!(!body.contains(bad), "{bad} was published");
        }
    }
}

#[tokio::test]
async fn a_story_shows_the_media_of_its_leading_item() {
    let server = PartnerServer::start().await;
    serve(
        &server,
        "regio-tv",
        "/feed.rss",
        "regio-tv.rss",
        "application/rss+xml",
    );
    // A later report of the same article (same link) with a picture of its own.
    let tv_link = format!("{}/berichte/bruecke-spremberg", server.url("regio-tv", ""));
    let later = format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Zeitung</title><link>https://zeitung.example/</link><description>d</description>
        <item><title>Spreebrücke Spremberg ist frei</title><link>{tv_link}</link><guid>z-1</guid>
        <pubDate>Tue, 17 Nov 2026 07:00:00 +0100</pubDate><description>Die Brücke ist frei.</description>
        <enclosure url="https://zeitung.example/eigenes-bild.jpg" length="1000" type="image/jpeg"/></item></channel></rss>"#
    );
    server.set(
        "zeitung",
        "/feed.rss",
        Override::Body {
            content_type: "application/rss+xml".into(),
            body: later.into_bytes(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        support::source("regio-tv", server.url("regio-tv", "/feed.rss"), "feed"),
        support::source("zeitung", server.url("zeitung", "/feed.rss"), "feed"),
    ];
    let app = Arc::new(App::new(support::config_matching(dir.path(), &sources)).unwrap());
    polled(&app).await;
    let json: serde_json::Value = serde_json::from_str(&text(&app, "/feed.json").await).unwrap();
    let story: Vec<&serde_json::Value> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["url"] == tv_link.as_str())
        .collect();
    assert_eq!(story.len(), 1, "one story for one link: {json:#}");
    let story = story[0];
    assert_eq!(story["_revierfeed"]["sources"].as_array().unwrap().len(), 2);
    assert_eq!(story["title"], BRIDGE);
    assert!(
        story["image"]
            .as_str()
            .unwrap()
            .ends_with("/bilder/bruecke-spremberg-klein.jpg"),
        "{story:#}"
    );
    let urls: Vec<&str> = story["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["url"].as_str().unwrap())
        .collect();
    assert!(
        !urls.contains(&"https://zeitung.example/eigenes-bild.jpg"),
        "{urls:?}"
    );
}
