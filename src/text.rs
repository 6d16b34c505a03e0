//! Plain-text helpers that every stage uses on partner text (extract for
//! listing titles, normalize for fields, publish for teasers).

use std::sync::LazyLock;

use regex::Regex;

/// Runs of whitespace, control characters and zero-width spaces become one space.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c.is_control() || c == '\u{200b}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Shortens to at most `max` characters at a word boundary, marking the cut with "…".
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([' ', ',', ';', ':', '-']))
}

static ENTITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"&(?:#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
        .expect("valid regex")
});

static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?/?>").expect("valid regex")
});

/// HTML elements, for telling markup from text: `<T>` or `<blink>` in a
/// title is text; `<script>…</script>` is markup, and stripped.
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "base",
    "big",
    "blockquote",
    "body",
    "br",
    "button",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "li",
    "link",
    "main",
    "map",
    "mark",
    "marquee",
    "math",
    "meta",
    "nav",
    "noscript",
    "object",
    "ol",
    "p",
    "param",
    "picture",
    "pre",
    "q",
    "s",
    "samp",
    "script",
    "section",
    "select",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "svg",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "title",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "video",
];

/// Does a text declared plain really hold HTML? Only when it has an entity
/// reference or an end tag (or `<br>`) and every tag is an HTML element
/// (feedparser's rule): "Vector<T> in Rust & C++" stays text.
pub(crate) fn plain_text_looks_like_html(text: &str) -> bool {
    let evidence = ENTITY.is_match(text)
        || TAG
            .captures_iter(text)
            .any(|c| !c[1].is_empty() || c[2].eq_ignore_ascii_case("br"));
    evidence
        && TAG
            .captures_iter(text)
            .all(|c| HTML_ELEMENTS.contains(&c[2].to_ascii_lowercase().as_str()))
}
