//! Which character encoding a partner's bytes are in, and decoding them to
//! UTF-8. HTML pages: BOM, then `<meta charset>`, then the HTTP header, then
//! UTF-8 (what browsers do), except that bytes which are valid UTF-8 with
//! non-ASCII text are UTF-8 whatever legacy charset is declared. Feeds: the
//! WHATWG/RFC 7303 order, BOM, then the HTTP charset, then the XML
//! declaration, then detection (chardetng) when nothing is declared; bytes
//! that are not UTF-8 under a UTF-8 claim are read as windows-1252, as
//! browsers and feedparser do, with a warning.

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
    // A legacy charset declared, but the bytes are UTF-8 with non-ASCII text
    // in them: a server or CMS recoded the page and kept the old `<meta>`.
    // Text in a legacy encoding is practically never valid UTF-8 by chance.
    let enc =
        if enc != encoding_rs::UTF_8 && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
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

/// A feed's text after decoding, and what the decoding had to guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFeed<'a> {
    /// Borrowed from the bytes when they were UTF-8 already (most feeds):
    /// checked once, not copied.
    pub text: Cow<'a, str>,
    pub encoding: &'static Encoding,
    /// Set when the bytes did not match what was declared (shown on /status).
    pub warning: Option<String>,
}

/// Decodes feed bytes (XML or JSON) to UTF-8 text.
pub fn decode_feed<'a>(bytes: &'a [u8], content_type: Option<&str>) -> DecodedFeed<'a> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let text = encoding.decode_without_bom_handling(&bytes[bom_len..]).0;
        return DecodedFeed {
            text,
            encoding,
            warning: None,
        };
    }
    let declared = header_charset(content_type).or_else(|| xml_declared(bytes));
    // Without a BOM the document's first bytes were readable as ASCII, so it cannot be UTF-16.
    let declared = declared.map(|enc| {
        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
            encoding_rs::UTF_8
        } else {
            enc
        }
    });
    // UTF-8 whenever the bytes are, unless they declare another encoding:
    // checked once, and then read in place.
    let utf8 = declared
        .is_none_or(|enc| enc == encoding_rs::UTF_8)
        .then(|| std::str::from_utf8(bytes));
    let invalid_utf8 = match utf8 {
        Some(Ok(text)) => {
            return DecodedFeed {
                text: Cow::Borrowed(text),
                encoding: encoding_rs::UTF_8,
                warning: None,
            };
        }
        Some(Err(e)) => Some(e),
        None => None,
    };
    let encoding = declared.unwrap_or_else(|| guess(bytes));
    if let (true, Some(e)) = (encoding == encoding_rs::UTF_8, invalid_utf8) {
        let fallback = encoding_rs::WINDOWS_1252;
        let claim = if declared.is_some() {
            "declared as UTF-8"
        } else {
            "undeclared"
        };
        return DecodedFeed {
            text: fallback.decode_without_bom_handling(bytes).0,
            encoding: fallback,
            warning: Some(format!(
                "invalid UTF-8 at byte {} (the document is {claim}); read as windows-1252",
                e.valid_up_to()
            )),
        };
    }
    DecodedFeed {
        text: encoding.decode_without_bom_handling(bytes).0,
        encoding,
        warning: None,
    }
}

/// chardetng's guess for undeclared bytes that are not UTF-8.
fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    detector.guess(None, chardetng::Utf8Detection::Allow)
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
    fn valid_utf8_beats_a_stale_legacy_declaration() {
        // Recoded to UTF-8, the old declaration kept: read as what the bytes are.
        let page = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head><body>2016年10月14日 Grüße</body></html>";
        let text = decode_html(page.as_bytes(), None);
        assert!(text.contains("2016年10月14日 Grüße"), "{text}");
        let latin1 = b"<meta charset=\"iso-8859-1\"><p>Gr\xc3\xbc\xc3\x9fe</p>";
        assert_eq!(
            decode_html(latin1, None),
            "<meta charset=\"iso-8859-1\"><p>Grüße</p>"
        );
        // Real legacy bytes are not valid UTF-8: the declaration stands.
        let gbk = encoding_rs::GBK
            .encode("<meta charset=\"gbk\"><p>新闻</p>")
            .0;
        assert_eq!(decode_html(&gbk, None), "<meta charset=\"gbk\"><p>新闻</p>");
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

    #[test]
    fn feeds_follow_bom_then_header_then_declaration() {
        let declared_latin1 =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><t>Gr\xfc\xdfe</t></rss>";
        assert!(decode_feed(declared_latin1, None).text.contains("Grüße"));
        // The HTTP charset beats the declaration (RFC 7303), the BOM beats both.
        let utf8 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>Grüße</t>";
        let decoded = decode_feed(utf8.as_bytes(), Some("application/xml; charset=utf-8"));
        assert_eq!((decoded.text.as_ref(), decoded.warning), (utf8, None));
        // UTF-8 as received is read in place, not copied.
        assert!(matches!(decoded.text, Cow::Borrowed(_)));
        let bom = [&b"\xEF\xBB\xBF"[..], utf8.as_bytes()].concat();
        assert_eq!(
            decode_feed(&bom, Some("text/xml; charset=iso-8859-1")).text,
            utf8
        );
    }

    #[test]
    fn invalid_utf8_under_a_utf8_claim_falls_back_to_windows_1252_with_a_warning() {
        let feed = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>Gr\xfc\xdfe aus K\xf6ln \x80</t>";
        let decoded = decode_feed(feed, None);
        assert!(
            decoded.text.contains("Grüße aus Köln €"),
            "{}",
            decoded.text
        );
        let warning = decoded.warning.unwrap();
        assert!(warning.contains("invalid UTF-8 at byte 43"), "{warning}");
    }

    #[test]
    fn undeclared_bytes_are_detected() {
        let koi8 = encoding_rs::KOI8_R
            .encode("<t>Новости из Лужицы: новая железная дорога открыта для пассажиров</t>")
            .0;
        let decoded = decode_feed(&koi8, None);
        assert!(decoded.text.contains("Новости"), "{}", decoded.text);
        assert_eq!(decoded.warning, None);
        let utf8 = "<t>Grüße aus der Lausitz</t>";
        let decoded = decode_feed(utf8.as_bytes(), None);
        assert_eq!(decoded.encoding, encoding_rs::UTF_8);
        assert!(matches!(decoded.text, Cow::Borrowed(t) if t == utf8));
    }
}
