//! Plain-text helpers that every stage uses on partner text (extract for
//! listing titles, normalize for fields, publish for teasers).

use std::sync::LazyLock;

use regex::Regex;

/// Runs of whitespace, control characters, zero-width spaces and the
/// characters XML cannot carry become one space.
pub fn collapse_whitespace(s: &str) -> String {
    // Decided from the bytes where possible, and words separated by single
    // spaces (most of any text) copied as one span: per-character
    // splitting and a copy per word cost a seventh of normalising an item
    // (BENCHMARKS.md).
    if is_collapsed(s) {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    // Where the words not copied yet begin.
    let mut span = 0;
    let mut i = 0;
    while i < b.len() {
        let (separator, len) = separator_at(s, i);
        if !separator {
            i += len;
            continue;
        }
        let run = i;
        i += len;
        while i < b.len() {
            let (separator, len) = separator_at(s, i);
            if !separator {
                break;
            }
            i += len;
        }
        if i - run == 1 && b[run] == b' ' && run > span && i < b.len() {
            // One space between two words: already as the result has it.
            continue;
        }
        push_word(&mut out, &s[span..run]);
        span = i;
    }
    push_word(&mut out, &s[span..]);
    out
}

/// Whether [`collapse_whitespace`] returns `s` unchanged, told from its
/// bytes alone (most text after the sanitiser is): no byte that can begin
/// a separator, which leaves single spaces between words as the only
/// whitespace. Printable ASCII and the characters U+00C0 to U+067F (leads
/// `C3`–`D9`, letters) are words; controls, DEL, `C2` (U+0080 to U+00BF:
/// NEL, the no-break space) and every lead from `DA` on (other scripts,
/// U+200B, U+2028, U+FFFE) send the text the slow way, as does a space at
/// either end or beside another. Blocks of 32 bytes are tested without a
/// branch per byte (the compiler vectorises it): the character walk above
/// cost 19 instructions per byte of every summary.
fn is_collapsed(s: &str) -> bool {
    let b = s.as_bytes();
    !any_byte(b, |c| (c < 0x20) | (c == 0x7f) | (c == 0xC2) | (c >= 0xDA))
        && b.first() != Some(&b' ')
        && b.last() != Some(&b' ')
        && memchr::memmem::find(b, b"  ").is_none()
}

/// Bytes a block screen tests at once ([`block_has`]).
const BLOCK: usize = 32;

/// Whether any byte of `block` is one that `odd` picks, without a branch
/// per byte: the compiler vectorises the fold. The screen of the fast
/// paths over plain text (whitespace, XML characters, NFC), which then
/// look closer only where it finds something.
#[inline]
fn block_has(block: &[u8], odd: impl Fn(u8) -> bool) -> bool {
    block.iter().fold(false, |seen, &c| seen | odd(c))
}

/// [`block_has`] over all of `b`, [`BLOCK`] bytes at a time.
#[inline]
pub(crate) fn any_byte(b: &[u8], odd: impl Fn(u8) -> bool + Copy) -> bool {
    b.chunks(BLOCK).any(|block| block_has(block, odd))
}

/// Whether the character at byte `i` of `s` is a separator, and its length.
#[inline]
fn separator_at(s: &str, i: usize) -> (bool, usize) {
    match s.as_bytes()[i] {
        // ASCII: a separator is exactly a byte up to the space, or DEL.
        b if b.is_ascii() => (b <= b' ' || b == 0x7f, 1),
        // U+00C0 to U+067F: letters, never whitespace, controls or
        // characters XML forbids (the German and other Latin letters).
        0xC3..=0xD9 => (false, 2),
        _ => {
            let c = s[i..].chars().next().expect("i is a char boundary");
            (is_separator(c), c.len_utf8())
        }
    }
}

/// What [`collapse_whitespace`] turns into a word break.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c.is_control() || c == '\u{200b}' || !is_xml_char(c)
}

fn push_word(out: &mut String, word: &str) {
    if word.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(word);
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
    // Neither an entity nor a tag without these; most titles and names have neither.
    if !text.contains(['<', '&']) {
        return false;
    }
    let evidence = ENTITY.is_match(text)
        || TAG
            .captures_iter(text)
            .any(|c| !c[1].is_empty() || c[2].eq_ignore_ascii_case("br"));
    evidence
        && TAG
            .captures_iter(text)
            .all(|c| HTML_ELEMENTS.contains(&c[2].to_ascii_lowercase().as_str()))
}

/// Whether XML 1.0 allows `c` in a document (its `Char` production): tab,
/// LF, CR and everything from U+0020 except U+FFFE and U+FFFF. (Surrogates
/// cannot occur in a Rust `str`; a lone one in partner input was replaced
/// or refused when the bytes were decoded.)
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Unicode bidi embedding, override and isolate controls (and the marks):
/// in a title they let a partner display text reversed (U+202E) or spill
/// its direction into the reader's surrounding text.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` without the characters XML 1.0 forbids, so that one partner's byte
/// cannot make a merged feed ill-formed; borrowed when nothing is dropped.
pub fn xml_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if all_xml_chars(s) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.chars().filter(|&c| is_xml_char(c)).collect())
    }
}

/// Whether every character of `s` is an XML character, read from the
/// UTF-8 bytes: the only ones XML forbids are the C0 controls but tab, line
/// feed and carriage return (one byte each), and U+FFFE and U+FFFF (`EF BF
/// BE`, `EF BF BF`; `EF` only ever leads a character). Checked per byte,
/// not per decoded character: normalising calls this on every field.
fn all_xml_chars(s: &str) -> bool {
    // Blocks of bytes none of which is below 0x20 or from 0xEF on are
    // passed at once (a branch-free test the compiler vectorises); only
    // a block holding such a byte is looked at byte by byte.
    let b = s.as_bytes();
    for (n, block) in b.chunks(BLOCK).enumerate() {
        if !block_has(block, |c| !(0x20..0xEF).contains(&c)) {
            continue;
        }
        for (k, &c) in block.iter().enumerate() {
            let i = n * BLOCK + k;
            let forbidden = match c {
                b'\t' | b'\n' | b'\r' => false,
                ..0x20 => true,
                0xEF => b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)),
                _ => false,
            };
            if forbidden {
                return false;
            }
        }
    }
    true
}

/// A one-line name or title as a reader may see it: XML-safe, without bidi
/// controls.
pub fn reader_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().all(|c| is_xml_char(c) && !is_bidi_control(c)) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(
            s.chars()
                .filter(|&c| is_xml_char(c) && !is_bidi_control(c))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_safe_keeps_exactly_the_xml_chars() {
        for cp in 0u32..=0xFFFF {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let allowed = cp == 9
                || cp == 10
                || cp == 13
                || (0x20..=0xD7FF).contains(&cp)
                || (0xE000..=0xFFFD).contains(&cp);
            let s = format!("a{c}b");
            assert_eq!(xml_safe(&s) == s, allowed, "U+{cp:04X}");
        }
        assert_eq!(xml_safe("x\u{1}\u{FFFE}y\u{1F600}"), "xy\u{1F600}");
    }

    #[test]
    fn reader_lines_lose_bidi_overrides() {
        assert_eq!(reader_line("abc\u{202E}fdp.exe\u{2066}\u{0}"), "abcfdp.exe");
        assert!(matches!(
            reader_line("Lausitz"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn characters_xml_cannot_carry_are_dropped_or_become_spaces() {
        for c in ['\u{0}', '\u{1}', '\u{b}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
            assert!(!is_xml_char(c), "{c:?}");
        }
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            'ä',
            '\u{85}',
            '\u{fffd}',
            '\u{1f600}',
        ] {
            assert!(is_xml_char(c), "{c:?}");
        }
        assert_eq!(xml_safe("a\u{1}b\u{fffe}c\td"), "abc\td");
        assert!(matches!(
            xml_safe("schon gut"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            collapse_whitespace("Titel\u{fffe}mit\u{1}Steuer"),
            "Titel mit Steuer"
        );
    }

    #[test]
    fn byte_wise_checks_agree_with_the_character_rules_for_every_character() {
        // The rules as first written, per decoded character.
        let collapsed = |s: &str| {
            s.split(|c: char| {
                c.is_whitespace() || c.is_control() || c == '\u{200b}' || !is_xml_char(c)
            })
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
        };
        for cp in 0u32..=0x10FFFF {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            for s in [
                format!("a{c}b"),
                format!("{c}"),
                format!(" {c}{c}x\u{e4}{c} "),
                // Across the 32-byte blocks `all_xml_chars` tests at once.
                format!("{:31}{c}{c}", ""),
                format!("ab cd{c}ef  g\u{e4} {c} h\n i {c}"),
            ] {
                assert_eq!(collapse_whitespace(&s), collapsed(&s), "U+{cp:04X}");
                assert_eq!(all_xml_chars(&s), s.chars().all(is_xml_char), "U+{cp:04X}");
            }
        }
        for s in [
            "",
            " ",
            "  ",
            "a",
            " a",
            "a ",
            " a b ",
            "a  b",
            "a b c",
            "a\tb c",
            "a \u{a0}b",
            "ein Wort  zwei\n\ndrei vier ",
            "\u{200b}x y\u{200b}",
        ] {
            assert_eq!(collapse_whitespace(s), collapsed(s), "{s:?}");
        }
    }
}
