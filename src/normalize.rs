//! From what a partner sent to what we store and republish: canonical links,
//! clean titles, UTC dates, plain text for matching, and HTML that has been
//! through ammonia (no script, no event handlers, no javascript:/data: URLs,
//! no inline CSS). Every field a partner controls is capped here.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use url::Url;

use crate::model::{ExtractedItem, Fragment, Item, Media, Medium};
use crate::text::{collapse_whitespace, plain_text_looks_like_html, truncate_chars};

/// Caps on partner-controlled fields, in characters (bytes for HTML).
#[derive(Debug, Clone, Copy)]
pub struct FieldLimits {
    pub title_chars: usize,
    pub summary_bytes: usize,
    pub content_bytes: usize,
    pub text_chars: usize,
    pub authors: usize,
    pub categories: usize,
    pub name_chars: usize,
    /// Longer links are dropped rather than cut (a cut URL leads nowhere).
    pub link_bytes: usize,
    /// Media files kept per item (pictures, videos, audio, documents).
    pub media: usize,
}

impl Default for FieldLimits {
    fn default() -> Self {
        FieldLimits {
            title_chars: 300,
            summary_bytes: 16 * 1024,
            content_bytes: 256 * 1024,
            text_chars: 2000,
            authors: 10,
            categories: 20,
            name_chars: 120,
            link_bytes: 2048,
            media: 8,
        }
    }
}

/// Query parameters that only track the reader and never select content.
fn is_tracking_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || n.starts_with("mtm_")
        || n.starts_with("pk_")
        || n.starts_with("_hs")
        || matches!(
            n.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "gbraid"
                | "wbraid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "yclid"
                | "twclid"
                | "ttclid"
                | "li_fat_id"
                | "wt_mc"
                | "wt.mc_id"
                | "s_cid"
                | "ref_src"
                | "oly_enc_id"
                | "oly_anon_id"
                | "vero_id"
                | "_ga"
                | "_gl"
                | "mkt_tok"
                | "trk"
        )
}

/// The link as we republish it: no fragment, no tracking parameters, the rest of the query sorted.
/// (The url crate already lower-cases the host and drops default ports.)
pub fn canonical_link(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_fragment(None);
    if u.query().is_some() {
        let mut pairs: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.sort();
        if pairs.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    u
}

/// Scheme-less form of a canonical link: `http://` and `https://` of one URL match.
pub fn link_key(canonical: &Url) -> String {
    let s = canonical.as_str();
    s.split_once("://")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_else(|| s.to_string())
}

static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>").expect("valid regex"));

/// Decoding rounds for text a partner escaped more than once.
const MAX_UNESCAPE_ROUNDS: usize = 3;

/// Plain text of a title or name as a reader may see it: tags stripped,
/// entities decoded, whitespace collapsed, no XML-forbidden characters and
/// no bidi controls. Text declared plain keeps `<` and `&` unless it plainly
/// holds HTML (`Vector<T> in Rust & C++` stays). A partner that escaped
/// twice (`&amp;lt;b&amp;gt;`) still has markup after the XML parser decoded
/// once; it is decoded again (a few rounds at most), so no tag reaches
/// readers that treat titles as HTML.
pub fn clean_text(fragment: &Fragment) -> String {
    if fragment.declared && !fragment.is_html {
        return collapse_whitespace(&crate::text::reader_line(&fragment.text));
    }
    let mut text = if fragment.is_html || plain_text_looks_like_html(&fragment.text) {
        html_to_text(&fragment.text)
    } else {
        fragment.text.clone()
    };
    for _ in 1..MAX_UNESCAPE_ROUNDS {
        if !plain_text_looks_like_html(&text) {
            break;
        }
        text = html_to_text(&text);
    }
    // Escaped more often than that: whatever still looks like markup goes.
    if plain_text_looks_like_html(&text) {
        text = TAG.replace_all(&text, " ").into_owned();
    }
    collapse_whitespace(&crate::text::reader_line(&text))
}

/// Visible text of an HTML fragment; script, style and similar are dropped,
/// block elements become word breaks.
pub fn html_to_text(html: &str) -> String {
    use scraper::Node;
    let doc = scraper::Html::parse_fragment(&within_budget(html));
    let mut out = String::with_capacity(html.len() / 2);
    let mut stack = vec![doc.tree.root()];
    while let Some(node) = stack.pop() {
        match node.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) => {
                let name = e.name();
                if is_invisible(name) {
                    continue;
                }
                if is_block(name) {
                    out.push(' ');
                }
            }
            _ => {}
        }
        // Children pushed in reverse so they pop in document order; a marker space after blocks.
        let children: Vec<_> = node.children().collect();
        for child in children.into_iter().rev() {
            stack.push(child);
        }
    }
    collapse_whitespace(&out)
}

/// Visible text of HTML this module sanitised ([`sanitize_html`]): the
/// same words and word breaks as [`html_to_text`], read off the sanitiser's
/// serialised tree in one pass instead of parsing it again. The serialiser
/// writes a closed grammar (quoted attributes, the four escapes `&amp;`
/// `&lt;` `&gt;` `&nbsp;` in text, no comments, no script or style), which
/// needs no HTML5 tree builder; markup outside it (or over the fragment
/// budget) is handed to [`html_to_text`], so the result never differs.
/// Hand-written: no crate reads text out of serialised HTML without a parse.
pub fn sanitized_text(html: &str) -> String {
    scan_sanitized(html).unwrap_or_else(|| html_to_text(html))
}

/// [`sanitized_text`]'s one pass; `None` for markup outside the serialiser's grammar.
fn scan_sanitized(html: &str) -> Option<String> {
    use crate::markup::{self, MarkupBudget};
    markup::check(html, MarkupBudget::FRAGMENT).ok()?;
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        let tag = &rest[lt + 1..];
        if let Some(closing) = tag.strip_prefix('/') {
            match closing.find('>') {
                Some(gt) if closing[..gt].bytes().all(|b| b.is_ascii_alphanumeric()) => {
                    rest = &closing[gt + 1..];
                    continue;
                }
                _ => return None,
            }
        }
        let name_len = tag
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(tag.len());
        let name = &tag[..name_len];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            // A comment, a doctype or a stray `<`: not the serialiser's output.
            return None;
        }
        // The tag ends at the first `>` outside a quoted attribute value.
        let mut quoted = false;
        let end = tag[name_len..].find(|c: char| {
            if c == '"' {
                quoted = !quoted;
            }
            c == '>' && !quoted
        })?;
        if is_invisible(name)
            || matches!(
                name,
                "textarea" | "title" | "xmp" | "plaintext" | "noembed" | "noframes" | "math"
            )
        {
            // Never in sanitised output; their content follows other rules.
            return None;
        }
        if is_block(name) {
            out.push(' ');
        }
        rest = &tag[name_len + end + 1..];
    }
    push_text(&mut out, rest);
    Some(collapse_whitespace(&out))
}

/// Text between tags of serialised HTML, its character references decoded.
fn push_text(out: &mut String, text: &str) {
    if text.contains('&') {
        out.push_str(&html_escape::decode_html_entities(text));
    } else {
        out.push_str(text);
    }
}

/// Elements whose content is never visible text.
fn is_invisible(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "noscript" | "template" | "iframe" | "object" | "svg" | "head"
    )
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "blockquote"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "figure"
            | "figcaption"
            | "dd"
            | "dt"
            | "pre"
            | "hr"
    )
}

thread_local! {
    /// The base URL of the fragment being sanitised on this thread (see `SANITIZER`).
    static SANITIZE_BASE: std::cell::RefCell<Option<Url>> = const { std::cell::RefCell::new(None) };

    /// One sanitiser per thread, built once: building an ammonia::Builder
    /// (its tag and attribute sets) for every item cost as much as cleaning
    /// a short fragment (BENCHMARKS.md). Relative URLs are resolved against
    /// `SANITIZE_BASE`, which `sanitize_html` sets for each call.
    static SANITIZER: ammonia::Builder<'static> = {
        let mut b = ammonia::Builder::default();
        b.add_clean_content_tags([
            "noscript", "template", "iframe", "object", "embed", "svg", "math", "form", "select",
            "textarea", "button",
        ])
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
        .strip_comments(true)
        .url_relative(ammonia::UrlRelative::Custom(Box::new(resolve_relative)));
        b
    };
}

/// A relative URL in partner HTML, made absolute against this thread's
/// `SANITIZE_BASE`; without a base it could point anywhere once
/// republished, so it is dropped.
fn resolve_relative(url: &str) -> Option<std::borrow::Cow<'_, str>> {
    SANITIZE_BASE.with(|base| {
        let base = base.borrow();
        let joined = base.as_ref()?.join(url).ok()?;
        Some(std::borrow::Cow::Owned(String::from(joined)))
    })
}

/// Partner markup a parser may take: markup nested or numerous beyond
/// `MarkupBudget::FRAGMENT` is reduced to its text first (kept, not
/// refused: one item's odd content should not cost its source the poll).
fn within_budget(html: &str) -> std::borrow::Cow<'_, str> {
    use crate::markup::{self, MarkupBudget};
    match markup::check(html, MarkupBudget::FRAGMENT) {
        Ok(()) => std::borrow::Cow::Borrowed(html),
        Err(why) => {
            tracing::debug!("partner HTML fragment kept as text: {why}");
            std::borrow::Cow::Owned(markup::strip_tags(html))
        }
    }
}

/// Safe HTML for republishing; relative URLs made absolute against `base`.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    let clean = match text_without_markup(html) {
        Some(escaped) => escaped,
        None => crate::simple_markup::sanitized(html, base)
            .unwrap_or_else(|| sanitized_by_ammonia(html, base)),
    };
    finish_sanitized(clean)
}

/// What ammonia writes for `html` when it holds no markup: text with no
/// `<` (no tag, comment or doctype), no `&` (no character reference) and
/// none of the characters the HTML parser rewrites (CR, NUL, BOM) parses
/// to a single text node, which the serialiser writes with `>` and U+00A0
/// escaped. Plain-text descriptions and summaries skip the parse and the
/// tree (half of sanitising HTML, a third of normalising an item). `None`
/// for anything else.
/// Test: `text_without_markup_is_escaped_as_ammonia_writes_it`.
fn text_without_markup(html: &str) -> Option<String> {
    if memchr::memchr3(b'<', b'&', b'\r', html.as_bytes()).is_some()
        || memchr::memchr(0, html.as_bytes()).is_some()
        || html.contains('\u{feff}')
    {
        return None;
    }
    let mut escaped = String::with_capacity(html.len());
    crate::simple_markup::push_escaped(&mut escaped, html, false);
    Some(escaped)
}

/// [`sanitize_html`] by ammonia's parse, clean and serialisation.
pub(crate) fn sanitized_by_ammonia(html: &str, base: Option<&Url>) -> String {
    let html = within_budget(html);
    let html = html.as_ref();
    SANITIZE_BASE.with(|b| *b.borrow_mut() = base.cloned());
    // Serialised straight into one buffer of about the input's size: the
    // `Display` form (`to_string`) grows its own from empty, then copies it.
    let mut out = Vec::with_capacity(html.len() + html.len() / 8);
    SANITIZER
        .with(|s| s.clean(html).write_to(&mut out))
        .expect("writing to memory");
    String::from_utf8(out).expect("html5ever writes UTF-8")
}

/// Sanitised HTML as stored: trimmed, and only characters XML may carry.
fn finish_sanitized(clean: String) -> String {
    // html5ever keeps control characters and noncharacters; XML may not.
    // Almost always neither they nor outer whitespace are there: no copy then.
    let trimmed = clean.trim();
    if trimmed.len() == clean.len()
        && matches!(
            crate::text::xml_safe(trimmed),
            std::borrow::Cow::Borrowed(_)
        )
    {
        return clean;
    }
    crate::text::xml_safe(trimmed).into_owned()
}

fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A title for an item that has none: its first sentence, or its first words.
pub fn title_from_text(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let sentence_end = text
        .char_indices()
        .find(|&(i, c)| {
            matches!(c, '.' | '!' | '?')
                && text[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, c)| i + c.len_utf8());
    match sentence_end {
        Some(end) if text[..end].chars().count() <= max => Some(text[..end].to_string()),
        _ => Some(truncate_chars(text, max)),
    }
}

fn fragment_html(f: &Fragment) -> String {
    if f.is_html {
        f.text.clone()
    } else {
        // Plain text is escaped, and its line breaks kept as paragraphs.
        html_escape::encode_text(&f.text)
            .replace("\n\n", "</p><p>")
            .replace('\n', "<br>")
    }
}

/// Unicode NFC: partners write "ö" precomposed or as "o" + U+0308; every
/// later comparison (story matching, keyword rules) sees one form. Almost all
/// text is NFC already, which the quick check confirms without copying.
pub fn nfc(s: String) -> String {
    use unicode_normalization::UnicodeNormalization;
    if is_nfc_quick_yes(&s) {
        s
    } else {
        s.nfc().collect()
    }
}

/// `unicode_normalization::is_nfc_quick(s.chars()) == Yes`, reading past
/// ASCII and the other characters below U+0300 (Latin-1, Latin Extended,
/// IPA: two UTF-8 bytes led by `C2`–`CB`) by their bytes: all of them are
/// NFC and starters (combining class 0, the state the quick check starts
/// from), so checking each run of other characters alone gives the same
/// answer. German text costs a byte scan instead of a table lookup per
/// character. Test: `the_quick_check_by_runs_agrees_with_the_crates`.
fn is_nfc_quick_yes(s: &str) -> bool {
    use unicode_normalization::{IsNormalized, is_nfc_quick};
    let b = s.as_bytes();
    // Most text is below U+0300 throughout: no byte from `CC` on (ASCII,
    // continuation bytes and the leads `C2`–`CB` are all below it).
    if !crate::text::any_byte(b, |c| c >= 0xCC) {
        return true;
    }
    // Bytes that always begin a character below U+0300.
    let plain = |c: u8| c < 0x80 || (0xC2..=0xCB).contains(&c);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c < 0x80 => i += 1,
            0xC2..=0xCB => i += 2,
            _ => {
                let end = b[i..]
                    .iter()
                    .position(|&c| plain(c))
                    .map_or(b.len(), |p| i + p);
                if is_nfc_quick(s[i..end].chars()) != IsNormalized::Yes {
                    return false;
                }
                i = end;
            }
        }
    }
    true
}

/// Normalises one extracted item; `None` when nothing identifies or describes it.
pub fn normalize_item(
    raw: &ExtractedItem,
    now: DateTime<Utc>,
    limits: &FieldLimits,
) -> Option<Item> {
    let link = raw
        .link
        .as_ref()
        .filter(|l| l.as_str().len() <= limits.link_bytes)
        .map(canonical_link);
    let base = raw.base.as_ref().or(raw.link.as_ref());
    let clean_html = |f: &Fragment, max: usize| {
        let html = sanitize_html(truncate_bytes(&fragment_html(f), max), base);
        Some(html).filter(|h| !h.is_empty())
    };
    let summary_html = raw
        .summary
        .as_ref()
        .and_then(|f| clean_html(f, limits.summary_bytes));
    let content_html = raw
        .content
        .as_ref()
        .and_then(|f| clean_html(f, limits.content_bytes));
    let text_source = summary_html
        .as_deref()
        .or(content_html.as_deref())
        .unwrap_or("");
    // Both sources are sanitised already: their text is read off the sanitiser's output.
    let text = truncate_chars(
        &crate::text::xml_safe(&sanitized_text(text_source)),
        limits.text_chars,
    );

    let title_raw = raw.title.as_ref().map(|t| Fragment {
        text: truncate_bytes(&t.text, limits.title_chars * 8).to_string(),
        ..t.clone()
    });
    let mut title = title_raw.as_ref().map(clean_text).unwrap_or_default();
    if title.is_empty() {
        let fallback_text = if text.is_empty() {
            content_html
                .as_deref()
                .map(sanitized_text)
                .unwrap_or_default()
        } else {
            text.clone()
        };
        title = title_from_text(&fallback_text, 80).unwrap_or_default();
    }
    let title = crate::text::reader_line(&truncate_chars(&title, limits.title_chars)).into_owned();
    if title.is_empty() && link.is_none() && text.is_empty() {
        return None;
    }
    // A date in the future is a partner's clock or an event date, not a publication time.
    let not_future = |t: DateTime<Utc>| Some(t.min(now));
    let published = raw.published.or(raw.updated).and_then(not_future);
    let updated = raw.updated.and_then(not_future);

    let names = |v: &[String], max: usize| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        // Cut before cleaning too, so a megabyte "name" costs no more than a short one.
        for n in v.iter().take(max * 4).map(|n| {
            let n = truncate_bytes(n, limits.name_chars * 8);
            truncate_chars(
                &clean_text(&Fragment::plain(n.to_string())),
                limits.name_chars,
            )
        }) {
            if !n.is_empty() && !out.contains(&n) && out.len() < max {
                out.push(n);
            }
        }
        out
    };
    let guid = raw
        .guid
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| {
            if g.len() > 512 {
                // An absurdly long id is still an id; keep it comparable without storing it whole.
                use sha2::Digest;
                format!("sha256:{}", hex::encode(sha2::Sha256::digest(g.as_bytes())))
            } else {
                crate::text::xml_safe(g).into_owned()
            }
        })
        .filter(|g| !g.is_empty());
    Some(Item {
        guid,
        link_key: link.as_ref().map(link_key),
        link: link.map(String::from),
        title: nfc(title),
        summary_html: summary_html.map(nfc),
        content_html: content_html.map(nfc),
        text: nfc(text),
        published,
        updated,
        authors: names(&raw.authors, limits.authors)
            .into_iter()
            .map(nfc)
            .collect(),
        categories: names(&raw.categories, limits.categories)
            .into_iter()
            .map(nfc)
            .collect(),
        hidden: None,
        tags: Vec::new(),
        media: normalize_media(&raw.media, limits),
    })
}

/// The media an item may republish: http(s) URLs no longer than a link may
/// be, each once, at most `limits.media`; a media type only when it is one
/// (else guessed from the file name); numbers only where plausible; titles
/// as clean plain text. Nothing here reaches a reader unchecked: the
/// writers escape, and these are the only values they get.
pub fn normalize_media(raw: &[Media], limits: &FieldLimits) -> Vec<Media> {
    let mut out: Vec<Media> = Vec::new();
    for m in raw {
        if out.len() >= limits.media {
            break;
        }
        if m.url.len() > limits.link_bytes {
            continue;
        }
        let Ok(url) = Url::parse(m.url.trim()) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            continue;
        }
        let url = String::from(url);
        if url.len() > limits.link_bytes
            || out.iter().any(|o| o.url == url && o.preview == m.preview)
        {
            continue;
        }
        let mime_type = m
            .mime_type
            .as_deref()
            .and_then(media_type)
            .or_else(|| guess_media_type(&url));
        let medium = match m.medium {
            Medium::Other => mime_type
                .as_deref()
                .map(Medium::of_mime_type)
                .unwrap_or_default(),
            known => known,
        };
        // A preview is a picture by definition; anything else claiming to be one is dropped.
        if m.preview && medium != Medium::Image {
            continue;
        }
        let dimension = |d: Option<u32>| d.filter(|d| (1..=20_000).contains(d));
        out.push(Media {
            url,
            mime_type,
            medium,
            preview: m.preview,
            // Over a terabyte is a partner's typo, not a file size.
            length: m.length.filter(|n| *n > 0 && *n < 1 << 40),
            width: dimension(m.width),
            height: dimension(m.height),
            // A week of playing time is more than any real recording.
            duration_secs: m.duration_secs.filter(|s| *s > 0 && *s <= 7 * 86_400),
            title: m
                .title
                .as_deref()
                .map(|t| {
                    let t = truncate_bytes(t, limits.title_chars * 8);
                    truncate_chars(
                        &clean_text(&Fragment::plain(t.to_string())),
                        limits.title_chars,
                    )
                })
                .filter(|t| !t.is_empty()),
        });
    }
    out
}

/// `type/subtype` lower-cased without parameters, if it is a well-formed media type (RFC 6838 names).
fn media_type(raw: &str) -> Option<String> {
    let essence = raw.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/')?;
    let name = |s: &str| {
        (1..=63).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    (name(kind) && name(sub)).then_some(essence)
}

/// The media type a URL's file name implies (`.mp4` → `video/mp4`).
fn guess_media_type(url: &str) -> Option<String> {
    let path = Url::parse(url).ok()?.path().to_string();
    mime_guess::from_path(path)
        .first()
        .map(|m| m.essence_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_links_drop_tracking_and_sort_queries() {
        let u = Url::parse(
            "HTTP://Example.ORG:80/a/b?utm_source=rss&z=1&utm_medium=x&a=2&fbclid=abc#frag",
        )
        .unwrap();
        assert_eq!(
            canonical_link(&u).as_str(),
            "http://example.org/a/b?a=2&z=1"
        );
        let only_tracking = Url::parse("https://example.org/p/?utm_campaign=x&mc_cid=1").unwrap();
        assert_eq!(
            canonical_link(&only_tracking).as_str(),
            "https://example.org/p/"
        );
        let id = Url::parse("http://example.org/meldung.php?id=1187").unwrap();
        assert_eq!(
            canonical_link(&id).as_str(),
            "http://example.org/meldung.php?id=1187"
        );
        let http = canonical_link(&Url::parse("http://example.org/x").unwrap());
        let https = canonical_link(&Url::parse("https://example.org:443/x").unwrap());
        assert_eq!(link_key(&http), link_key(&https));
    }

    #[test]
    fn canonicalising_is_idempotent_and_keeps_explicit_ports() {
        // Found by the canonical_links fuzz target: http on port 443 is not https.
        let odd = Url::parse("http://le.org:443/a0x/ux[+").unwrap();
        let once = canonical_link(&odd);
        assert_eq!(canonical_link(&once), once);
        let https = canonical_link(&Url::parse("https://le.org/a0x/ux[+").unwrap());
        assert_ne!(link_key(&once), link_key(&https));
    }

    #[test]
    fn titles_lose_tags_and_leftover_entities() {
        assert_eq!(
            clean_text(&Fragment::plain(
                "<b>Achtung:</b> Infostand am Samstag verschoben"
            )),
            "Achtung: Infostand am Samstag verschoben"
        );
        assert_eq!(
            clean_text(&Fragment::plain(
                "Petition &quot;Halt in Kleinmühlen&quot; gestartet"
            )),
            "Petition \"Halt in Kleinmühlen\" gestartet"
        );
        assert_eq!(
            clean_text(&Fragment::html("Wasserstoff &amp; Wärme")),
            "Wasserstoff & Wärme"
        );
        assert_eq!(
            clean_text(&Fragment::html("Förderbilanz <em>2025</em>: 38 Projekte")),
            "Förderbilanz 2025: 38 Projekte"
        );
        assert_eq!(
            clean_text(&Fragment::plain("\n\t  Mehr   Platz\n ")),
            "Mehr Platz"
        );
        assert_eq!(clean_text(&Fragment::plain("a < b & c")), "a < b & c");
    }

    #[test]
    fn plain_titles_keep_brackets_that_are_not_html() {
        for text in [
            "Vector<T> in Rust & C++",
            "History of the <blink> tag",
            "if a<b and b>c",
        ] {
            assert_eq!(clean_text(&Fragment::plain(text)), text);
        }
        // Evidence of HTML (an end tag, an entity, a <br>) with only title elements is HTML.
        assert_eq!(clean_text(&Fragment::plain("Zeile<br>zwei")), "Zeile zwei");
        assert_eq!(
            clean_text(&Fragment::plain("Tom &amp; Jerry")),
            "Tom & Jerry"
        );
    }

    #[test]
    fn titles_escaped_twice_lose_their_tags_and_bidi_controls() {
        // `&amp;lt;script&amp;gt;` in RSS: one decoding by the XML parser leaves entities.
        assert_eq!(
            clean_text(&Fragment::plain(
                "&lt;script&gt;alert(1)&lt;/script&gt;Wichtig &lt;b&gt;heute&lt;/b&gt;"
            )),
            "Wichtig heute"
        );
        assert_eq!(
            clean_text(&Fragment::plain("Wasserstoff &amp;amp; Wärme")),
            "Wasserstoff & Wärme"
        );
        let thrice = clean_text(&Fragment::plain(
            "&amp;amp;lt;i&amp;amp;gt;x&amp;amp;lt;/i&amp;amp;gt; y",
        ));
        assert!(!thrice.contains('<'), "{thrice}");
        assert_eq!(
            clean_text(&Fragment::plain("Rechnung\u{202E}fdp.exe\u{1}\u{FFFE}")),
            "Rechnungfdp.exe"
        );
    }

    #[test]
    fn sanitized_html_carries_no_character_xml_forbids() {
        let html = sanitize_html("<p>a\u{1}b\u{8}c\u{ffff}d <b>e\u{2}</b></p>", None);
        assert_eq!(html, "<p>abcd <b>e</b></p>");
    }

    #[test]
    fn sanitizer_removes_active_content_and_absolutises_urls() {
        let base = Url::parse("http://partner.example/blog/post/").unwrap();
        let dirty = r#"<p onclick="x()">Hallo <a href="javascript:alert(1)">x</a> <a href="/seite">y</a><img src="/bild.jpg" srcset="/a.jpg 1x" onerror="x()"><img src="data:image/png;base64,AAA"><span style="background:expression(alert(1))">z</span></p><script>alert(1)</script><iframe src="//evil"></iframe>"#;
        let clean = sanitize_html(dirty, Some(&base));
        for bad in [
            "onclick",
            "javascript:",
            "onerror",
            "<script",
            "alert",
            "data:",
            "expression",
            "style=",
            "<iframe",
            "srcset",
        ] {
            assert!(!clean.contains(bad), "{bad} survived in {clean}");
        }
        assert!(
            clean.contains(r#"href="http://partner.example/seite""#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"src="http://partner.example/bild.jpg""#),
            "{clean}"
        );
    }

    #[test]
    fn missing_titles_come_from_the_text() {
        assert_eq!(
            title_from_text(
                "Die Mahnwache am Bahnhof Kleinmühlen fällt am Samstag wegen Unwettergefahr aus.",
                80
            )
            .as_deref(),
            Some("Die Mahnwache am Bahnhof Kleinmühlen fällt am Samstag wegen Unwettergefahr aus.")
        );
        let long = "Dies ist ein sehr langer Satz ohne Ende der einfach immer weiter geht und weiter und weiter bis niemand mehr folgen mag";
        let t = title_from_text(long, 80).unwrap();
        assert!(t.chars().count() <= 80 && t.ends_with('…'), "{t}");
    }

    /// Every fixture page and feed, and fragments of them, sanitised: the
    /// text read off the sanitiser's output is the text a second parse gives.
    #[test]
    fn text_of_sanitised_html_is_the_text_a_second_parse_gives() {
        let mut inputs: Vec<String> = [
            "<p>Eins &amp; zwei &lt;b&gt; drei&nbsp;vier</p><p>fünf<br>sechs</p>",
            "a<table><tr><td>x</td><td>y</td></tr></table>b<ul><li>1<li>2</ul>",
            "<div><a href=\"/x?a=1&b=2\" title='a > b'>Link</a> &amp;amp; &#x3c;</div>",
            "<p><span><div>innen</div></span>au&szlig;en</p><pre>\n\nvor</pre>",
            "<script>alert(1)</script><style>p{}</style>sichtbar<!-- kommentar -->",
            "<b><i>fett</b>kursiv</i> <unbekannt>frei</unbekannt> <svg><text>weg</text></svg>",
            "text < mit > zeichen & ohne ; entity",
        ]
        .map(String::from)
        .into();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    // The whole file, and pieces cut anywhere (as a summary cap cuts).
                    for piece in text.as_bytes().chunks(700) {
                        inputs.push(String::from_utf8_lossy(piece).into_owned());
                    }
                    inputs.push(text);
                }
            }
        }
        assert!(inputs.len() > 100, "fixtures found: {}", inputs.len());
        let base = Url::parse("https://partner.example/a/").unwrap();
        let mut scanned = 0;
        for input in &inputs {
            let clean = sanitize_html(input, Some(&base));
            if let Some(text) = scan_sanitized(&clean) {
                assert_eq!(text, html_to_text(&clean), "{clean}");
                scanned += 1;
            }
        }
        // Only markup over the budget is parsed again.
        assert!(
            scanned * 10 >= inputs.len() * 9,
            "{scanned} of {}",
            inputs.len()
        );
    }

    #[test]
    fn deeply_nested_content_is_kept_as_text_quickly() {
        let deep = format!(
            "{}Tief unten{}",
            "<div>".repeat(50_000),
            "</div>".repeat(50_000)
        );
        let raw = ExtractedItem {
            title: Some(Fragment::html(format!("{}Titel", "<b>".repeat(300)))),
            content: Some(Fragment::html(deep)),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let item = normalize_item(&raw, Utc::now(), &FieldLimits::default()).unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(item.title, "Titel");
        assert!(item.content_html.unwrap().contains("Tief unten"));
        assert!(item.text.contains("Tief unten"));
    }

    #[test]
    fn huge_fields_are_capped() {
        let raw = ExtractedItem {
            title: Some(Fragment::plain("Wort ".repeat(200_000))),
            content: Some(Fragment::html("<p>".to_string() + &"x".repeat(1_000_000))),
            link: Some(
                Url::parse(&format!("https://partner.example/{}", "a".repeat(1 << 20))).unwrap(),
            ),
            authors: vec!["Name ".repeat(200_000); 3]
                .into_iter()
                .chain((0..10_000).map(|i| format!("Autor {i}")))
                .collect(),
            categories: (0..10_000).map(|i| format!("k{i}")).collect(),
            ..Default::default()
        };
        let item = normalize_item(&raw, Utc::now(), &FieldLimits::default()).unwrap();
        assert!(item.title.chars().count() <= 300);
        assert!(item.content_html.unwrap().len() <= 256 * 1024 + 64);
        assert_eq!(item.link, None, "a megabyte link is no link");
        assert_eq!(item.authors.len(), 10);
        assert!(item.authors.iter().all(|a| a.chars().count() <= 120));
        assert_eq!(item.categories.len(), 20);
    }

    #[test]
    fn future_dates_are_clamped_to_now() {
        let now = Utc::now();
        let raw = ExtractedItem {
            title: Some(Fragment::plain("T")),
            published: Some(now + chrono::Duration::days(30)),
            ..Default::default()
        };
        assert_eq!(
            normalize_item(&raw, now, &FieldLimits::default())
                .unwrap()
                .published,
            Some(now)
        );
    }

    #[test]
    fn media_keeps_only_safe_urls_and_plausible_values_within_limits() {
        let m = |url: &str| Media {
            url: url.to_string(),
            ..Default::default()
        };
        let raw = vec![
            m("javascript:alert(1)"),
            m("data:image/png;base64,AAAA"),
            m("file:///etc/passwd"),
            m(&format!("https://partner.example/{}.jpg", "a".repeat(4096))),
            Media {
                mime_type: Some("video/mp4\"><script>".into()),
                length: Some(u64::MAX),
                width: Some(0),
                height: Some(720),
                duration_secs: Some(95),
                title: Some("<b>Rundgang</b> &amp; mehr".into()),
                ..m("https://partner.example/rundgang.mp4")
            },
            m("https://partner.example/rundgang.mp4"),
            Media {
                preview: true,
                ..m("https://partner.example/folge.mp3")
            },
            Media {
                mime_type: Some("Image/JPEG; q=1".into()),
                preview: true,
                ..m("http://partner.example/bild")
            },
        ];
        let out = normalize_media(&raw, &FieldLimits::default());
        assert_eq!(out.len(), 2, "{out:?}");
        let video = &out[0];
        assert_eq!(video.url, "https://partner.example/rundgang.mp4");
        assert_eq!(
            video.mime_type.as_deref(),
            Some("video/mp4"),
            "guessed, the partner's was no media type"
        );
        assert_eq!(video.medium, Medium::Video);
        assert_eq!(
            (video.length, video.width, video.height),
            (None, None, Some(720))
        );
        assert_eq!(video.duration_secs, Some(95));
        assert_eq!(video.title.as_deref(), Some("Rundgang & mehr"));
        let picture = &out[1];
        assert_eq!(picture.mime_type.as_deref(), Some("image/jpeg"));
        assert!(picture.preview && picture.medium == Medium::Image);

        let many: Vec<Media> = (0..100)
            .map(|i| m(&format!("https://partner.example/{i}.png")))
            .collect();
        assert_eq!(normalize_media(&many, &FieldLimits::default()).len(), 8);
    }

    #[test]
    fn decomposed_umlauts_are_composed_in_every_text_field() {
        let raw = ExtractedItem {
            title: Some(Fragment::plain("Go\u{308}rlitz baut")),
            summary: Some(Fragment::html(
                "<p>Bahnhof Go\u{308}rlitz, Stra\u{307}e</p>",
            )),
            authors: vec!["Jo\u{308}rg".into()],
            ..Default::default()
        };
        let item = normalize_item(&raw, Utc::now(), &FieldLimits::default()).unwrap();
        assert_eq!(item.title, "Görlitz baut");
        assert!(item.text.starts_with("Bahnhof Görlitz"), "{}", item.text);
        assert!(item.summary_html.unwrap().contains("Görlitz"));
        assert_eq!(item.authors, vec!["Jörg".to_string()]);
        // Already composed text is returned as it is.
        assert_eq!(nfc("Cottbus/Chóśebuz".into()), "Cottbus/Chóśebuz");
    }

    #[test]
    fn text_without_markup_is_escaped_as_ammonia_writes_it() {
        let base = Url::parse("https://example.org/a/").unwrap();
        let check = |s: &str| {
            if let Some(fast) = text_without_markup(s) {
                assert_eq!(fast, sanitized_by_ammonia(s, Some(&base)), "{s:?}");
                true
            } else {
                false
            }
        };
        // Every character of the Basic Multilingual Plane and a sample of
        // the others, alone, between words and beside the escaped ones.
        let chars = (0u32..0x10000)
            .chain((0x10000..=0x10FFFF).step_by(0x3FF))
            .chain([0x1F600, 0x10FFFF])
            // The noncharacters of every plane.
            .chain((1..=16).flat_map(|plane| [plane << 16 | 0xFFFE, plane << 16 | 0xFFFF]))
            .filter_map(char::from_u32);
        let mut fast = 0;
        for c in chars {
            for s in [format!("{c}"), format!("a {c}b > \u{a0}c{c}\n")] {
                fast += usize::from(check(&s));
            }
        }
        assert!(fast > 100_000, "{fast}");
        for s in [
            "",
            "  ",
            "Stadt > Land: 3 > 2",
            "\u{a0}\u{a0}",
            "https://example.org/x?a=1 \"quoted\" 'single'",
            "Zeile\n\nZeile\tTab\u{b}\u{c}",
            "\u{1}\u{7f}\u{85}\u{fffe}\u{ffff}",
        ] {
            assert!(check(s), "{s:?}");
        }
        for s in [
            "a < b",
            "a &amp; b",
            "a\r\nb",
            "a\0b",
            "\u{feff}a",
            "<p>x</p>",
        ] {
            assert!(text_without_markup(s).is_none(), "{s:?}");
        }
    }

    #[test]
    fn the_quick_check_by_runs_agrees_with_the_crates() {
        use unicode_normalization::char::canonical_combining_class;
        use unicode_normalization::{IsNormalized, is_nfc_quick};
        // What the byte shortcut assumes of everything below U+0300.
        for c in (0u32..0x300).filter_map(char::from_u32) {
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
            assert_eq!(is_nfc_quick([c].into_iter()), IsNormalized::Yes, "{c:?}");
        }
        // Every character after ASCII, between ASCII, and after a non-ASCII
        // starter or mark: where skipping ASCII could change the answer.
        for cp in 0x80u32..=0x10FFFF {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            for s in [
                format!("o{c}"),
                format!("a{c}b{c}"),
                format!("é{c}x"),
                format!("\u{301}{c}"),
                format!("{c}\u{308}"),
                format!("ß{c}\u{327}ä"),
            ] {
                assert_eq!(
                    is_nfc_quick_yes(&s),
                    is_nfc_quick(s.chars()) == IsNormalized::Yes,
                    "{s:?}"
                );
            }
        }
    }
}
