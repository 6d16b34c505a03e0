//! How an entry's media are published, the same way in every format: which
//! picture stands for the entry and which files are its attachments, the
//! Media RSS attributes (`media:thumbnail`, `media:content`) that Atom and
//! RSS both write, and the thumbnail `<img>` of the HTML pages.

use std::collections::BTreeMap;

use crate::model::Media;

/// The Media RSS namespace (https://www.rssboard.org/media-rss).
pub(crate) const MRSS: &str = "http://search.yahoo.com/mrss/";

/// The media type written where a format requires one and the partner's
/// file has none we could tell.
pub(crate) fn mime_type(m: &Media) -> &str {
    m.mime_type.as_deref().unwrap_or("application/octet-stream")
}

fn put(attrs: &mut BTreeMap<String, String>, key: &str, value: Option<impl ToString>) {
    if let Some(v) = value {
        attrs.insert(key.to_string(), v.to_string());
    }
}

/// Attributes of `<media:thumbnail>` for a picture.
pub(crate) fn thumbnail_attrs(m: &Media) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::from([("url".to_string(), m.url.clone())]);
    put(&mut attrs, "width", m.width);
    put(&mut attrs, "height", m.height);
    attrs
}

/// Attributes of `<media:content>` for any media file.
pub(crate) fn content_attrs(m: &Media) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::from([("url".to_string(), m.url.clone())]);
    put(&mut attrs, "type", m.mime_type.as_deref());
    put(&mut attrs, "medium", m.medium.as_str());
    put(&mut attrs, "fileSize", m.length);
    put(&mut attrs, "width", m.width);
    put(&mut attrs, "height", m.height);
    put(&mut attrs, "duration", m.duration_secs);
    attrs
}

/// The picture's display box on the pages when the partner gave no size:
/// 16:9, the shape most partners' pictures have, so the layout doesn't jump.
const DEFAULT_BOX: (u32, u32) = (320, 180);

/// A lazy-loaded thumbnail of an entry's picture for the HTML pages (empty
/// when it has none): width and height always set (the partner's, else a
/// 16:9 box), the picture's own title as alt text, else the entry's title.
pub(crate) fn thumbnail_html(media: &[Media], entry_title: &str) -> String {
    let Some(picture) = Media::picture(media) else {
        return String::new();
    };
    let (width, height) = match (picture.width, picture.height) {
        (Some(w), Some(h)) => (w, h),
        _ => DEFAULT_BOX,
    };
    let alt = picture.title.as_deref().unwrap_or(entry_title);
    format!(
        "<img class=\"thumb\" src=\"{}\" width=\"{width}\" height=\"{height}\" alt=\"{}\" loading=\"lazy\" decoding=\"async\" referrerpolicy=\"no-referrer\">",
        html_escape::encode_double_quoted_attribute(&picture.url),
        html_escape::encode_double_quoted_attribute(alt),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Medium;

    #[test]
    fn thumbnails_are_lazy_sized_and_escaped() {
        let media = vec![
            Media {
                url: "https://partner.example/v.mp4".into(),
                medium: Medium::Video,
                ..Default::default()
            },
            Media {
                url: "https://partner.example/b.jpg?a=1&b=\"2\"".into(),
                medium: Medium::Image,
                preview: true,
                width: Some(1200),
                height: Some(675),
                ..Default::default()
            },
        ];
        let html = thumbnail_html(&media, "See <füllt> sich");
        assert!(
            html.contains("src=\"https://partner.example/b.jpg?a=1&amp;b=&quot;2&quot;\""),
            "{html}"
        );
        assert!(html.contains("width=\"1200\" height=\"675\""), "{html}");
        assert!(html.contains("alt=\"See &lt;füllt&gt; sich\""), "{html}");
        assert!(html.contains("loading=\"lazy\""), "{html}");
        assert_eq!(
            thumbnail_html(&media[..1], "x"),
            "",
            "a video is no picture"
        );
        let no_size = thumbnail_html(
            &[Media {
                width: None,
                ..media[1].clone()
            }],
            "x",
        );
        assert!(
            no_size.contains("width=\"320\" height=\"180\""),
            "{no_size}"
        );
    }
}
