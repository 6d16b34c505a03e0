//! The lead image of an article page: what the page itself names as its
//! picture for previews — OpenGraph `og:image` (with its width, height, type
//! and alt), the schema.org article's `image` in JSON-LD (a URL, a list, or
//! an ImageObject), or `twitter:image`. Never a picture guessed from the
//! body: a logo or an ad would be worse than none.

use scraper::Html;
use serde_json::Value;

use super::Page;
use super::structured::json_ld_nodes;
use crate::model::{Media, Medium};

/// The picture the page declares for itself, if any (resolved, http(s) only).
pub fn lead_image(page: &Page) -> Option<Media> {
    let meta = |k: &str| page.meta(k);
    let dimension = |k: &str| meta(k).and_then(|v| v.trim().parse::<u32>().ok());
    let og = meta("og:image:secure_url")
        .or_else(|| meta("og:image"))
        .or_else(|| meta("og:image:url"))
        .and_then(|u| page.resolve(&u))
        .map(|url| Media {
            url: url.to_string(),
            mime_type: meta("og:image:type"),
            medium: Medium::Image,
            preview: true,
            width: dimension("og:image:width"),
            height: dimension("og:image:height"),
            title: meta("og:image:alt"),
            ..Default::default()
        });
    og.or_else(|| json_ld_image(&page.doc, page)).or_else(|| {
        let url = meta("twitter:image").and_then(|u| page.resolve(&u))?;
        Some(Media {
            url: url.to_string(),
            medium: Medium::Image,
            preview: true,
            title: meta("twitter:image:alt"),
            ..Default::default()
        })
    })
}

/// Schema.org types whose `image` is the article's picture.
fn is_article(node: &Value) -> bool {
    let is = |t: &str| t.ends_with("Article") || matches!(t, "BlogPosting" | "Report" | "WebPage");
    match node.get("@type") {
        Some(Value::String(t)) => is(t),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).any(is),
        _ => false,
    }
}

/// `image` of the page's article node: the first of a list; an ImageObject's
/// `url` or `contentUrl`, with its size and caption; an `@id` reference
/// followed into the graph.
fn json_ld_image(doc: &Html, page: &Page) -> Option<Media> {
    let graph = json_ld_nodes(doc);
    let article = graph.iter().find(|n| is_article(n))?;
    let mut image = article.get("image")?;
    for _ in 0..3 {
        match image {
            Value::Array(list) => image = list.first()?,
            Value::Object(o) if o.len() == 1 && o.contains_key("@id") => {
                let id = o.get("@id")?.as_str()?;
                image = graph
                    .iter()
                    .find(|n| n.get("@id").and_then(Value::as_str) == Some(id))?;
            }
            _ => break,
        }
    }
    let number = |v: Option<&Value>| match v? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().trim_end_matches("px").parse().ok(),
        _ => None,
    };
    let (href, width, height, caption) = match image {
        Value::String(s) => (s.as_str(), None, None, None),
        Value::Object(o) => (
            o.get("url")
                .or_else(|| o.get("contentUrl"))
                .and_then(Value::as_str)?,
            number(o.get("width")),
            number(o.get("height")),
            o.get("caption")
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
                .map(crate::text::collapse_whitespace),
        ),
        _ => return None,
    };
    let url = page.resolve(href)?;
    Some(Media {
        url: url.to_string(),
        medium: Medium::Image,
        preview: true,
        width,
        height,
        title: caption.filter(|c| !c.is_empty()),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn image(html: &str) -> Option<Media> {
        lead_image(
            &Page::parse(
                html,
                &Url::parse("https://partner.example/news/a/").unwrap(),
            )
            .unwrap(),
        )
    }

    #[test]
    fn og_image_with_its_size_and_alt() {
        let m = image(
            r#"<head><meta property="og:image" content="/bilder/see.jpg"><meta property="og:image:width" content="1200">
            <meta property="og:image:height" content="630"><meta property="og:image:alt" content="Der See im Herbst"></head>"#,
        )
        .unwrap();
        assert_eq!(m.url, "https://partner.example/bilder/see.jpg");
        assert_eq!((m.width, m.height), (Some(1200), Some(630)));
        assert_eq!(m.title.as_deref(), Some("Der See im Herbst"));
        assert!(m.preview);
    }

    #[test]
    fn json_ld_image_object_and_graph_reference() {
        let m = image(
            r##"<script type="application/ld+json">{"@graph":[
              {"@type":"NewsArticle","headline":"H","image":{"@id":"#bild"}},
              {"@type":"ImageObject","@id":"#bild","url":"https://cdn.partner.example/b.jpg","width":800,"height":"450","caption":"Baustelle"}]}</script>"##,
        )
        .unwrap();
        assert_eq!(m.url, "https://cdn.partner.example/b.jpg");
        assert_eq!((m.width, m.height), (Some(800), Some(450)));
        assert_eq!(m.title.as_deref(), Some("Baustelle"));
        let list = image(
            r#"<script type="application/ld+json">{"@type":"BlogPosting","image":["/a.jpg","/b.jpg"]}</script>"#,
        )
        .unwrap();
        assert_eq!(list.url, "https://partner.example/a.jpg");
    }

    #[test]
    fn no_declared_picture_and_unsafe_urls_give_none() {
        assert_eq!(image(r#"<body><img src="/logo.png"></body>"#), None);
        assert_eq!(
            image(r#"<meta property="og:image" content="javascript:alert(1)">"#),
            None
        );
    }
}
