//! Which character encoding a partner's bytes are in, and decoding them to
//! UTF-8: BOM first, then the document's own declaration (XML prolog or HTML
//! `<meta charset>`), then the HTTP header, then UTF-8 — the order browsers
//! and feed readers use, because misconfigured servers are more common than
//! wrong in-document declarations.

use std::borrow::Cow;
use std::sync::LazyLock;

use encoding_rs::Encoding;
use regex::bytes::Regex;

/// The `charset` parameter of a Content-Type header.
pub fn header_charset(content_type: Option<&str>) -> Option<&'static Encoding> {
    let ct = content_type?;
    ct.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes())
        } else {
            None
        }
    })
}

static XML_ENCODING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']"#)
        .expect("valid regex")
});

static META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)"#).expect("valid regex")
});

/// The encoding an XML prolog declares, if any.
pub fn xml_declared(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(512)];
    let label = XML_ENCODING.captures(head)?.get(1)?.as_bytes();
    Encoding::for_label(label)
}

/// The encoding an HTML page declares in its first 2 KiB (`<meta charset>` or http-equiv).
pub fn html_declared(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(2048)];
    let label = META_CHARSET.captures(head)?.get(1)?.as_bytes();
    Encoding::for_label(label)
}

/// Decodes an HTML page to UTF-8 text; invalid sequences become U+FFFD.
pub fn decode_html<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom_len..]).0;
    }
    let enc = html_declared(bytes)
        .or_else(|| header_charset(content_type))
        .unwrap_or(encoding_rs::UTF_8);
    // A page that says UTF-16 in a meta tag cannot really be UTF-16 (the tag was readable as ASCII).
    let enc = if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        encoding_rs::UTF_8
    } else {
        enc
    };
    enc.decode_without_bom_handling(bytes).0
}

/// Makes feed bytes readable by feed-rs: XML that declares its own encoding
/// (or has a BOM) is left alone, because the parser honours the prolog;
/// XML without a declaration and JSON are converted to UTF-8 using the HTTP charset.
pub fn prepare_feed_bytes<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    if Encoding::for_bom(bytes).is_some() || xml_declared(bytes).is_some() {
        return Cow::Borrowed(bytes);
    }
    match header_charset(content_type) {
        Some(enc) if enc != encoding_rs::UTF_8 => {
            let (text, _) = enc.decode_without_bom_handling(bytes);
            Cow::Owned(text.into_owned().into_bytes())
        }
        _ => Cow::Borrowed(bytes),
    }
}

/// The encoding a feed is read in: BOM, else the XML declaration, else the
/// HTTP charset, else UTF-8 (JSON Feed is always UTF-8 by then).
pub fn feed_encoding(bytes: &[u8], content_type: Option<&str>) -> &'static Encoding {
    Encoding::for_bom(bytes)
        .map(|(enc, _)| enc)
        .or_else(|| xml_declared(bytes))
        .or_else(|| header_charset(content_type))
        .unwrap_or(encoding_rs::UTF_8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_charset_beats_a_missing_header() {
        let page = b"<html><head><meta charset=\"windows-1252\"></head><body>\x84Zukunft\x93 \x96 \x80</body></html>";
        let text = decode_html(page, Some("text/html"));
        assert!(text.contains("„Zukunft“ – €"), "{text}");
    }

    #[test]
    fn header_charset_applies_without_a_declaration() {
        let page = b"<p>Gr\xfc\xdfe</p>";
        assert_eq!(
            decode_html(page, Some("text/html; charset=ISO-8859-1")),
            "<p>Grüße</p>"
        );
        let feed = b"<rss version=\"2.0\"><channel><title>Gr\xfc\xdfe</title></channel></rss>";
        let prepared = prepare_feed_bytes(feed, Some("application/rss+xml; charset=iso-8859-1"));
        assert!(std::str::from_utf8(&prepared).unwrap().contains("Grüße"));
    }

    #[test]
    fn xml_prolog_is_left_to_the_parser() {
        let feed = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss/>";
        assert!(matches!(
            prepare_feed_bytes(feed, Some("text/xml; charset=utf-8")),
            Cow::Borrowed(_)
        ));
        assert_eq!(xml_declared(feed), Some(encoding_rs::WINDOWS_1252));
    }
}
