//! Recovery for feeds that are not well-formed XML: a lexical repair of what
//! CMS templates typically get wrong (stray `&`, HTML named entities, stray
//! `<`, characters XML forbids), and, when the document still cannot be
//! read, a split into one small document per entry so a bad entry costs only
//! itself.
//!
//! Hand-written because XML parsers (rightly) stop at the first error and no
//! crate does feedparser-style recovery; the entity table comes from
//! markup5ever, the one html5ever/scraper use.

use markup5ever::data::NAMED_ENTITIES;

use crate::text::is_xml_char as xml_char;

/// The document after repair and what was repaired (for /status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repaired {
    pub text: String,
    pub notes: Vec<String>,
}

/// Escapes stray `&` and `<`, turns HTML named entities into character
/// references and drops characters XML forbids. CDATA sections, comments,
/// processing instructions and the DOCTYPE are copied as they are (minus
/// forbidden characters): entities mean nothing inside them.
pub(crate) fn repair_markup(text: &str) -> Repaired {
    let (mut ampersands, mut entities, mut angles, mut forbidden, mut upper_hex) = (0, 0, 0, 0, 0);
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((open, close)) = [
            ("<![CDATA[", "]]>"),
            ("<!--", "-->"),
            ("<?", "?>"),
            ("<!DOCTYPE", ">"),
        ]
        .into_iter()
        .find(|(open, _)| rest.starts_with(open))
        {
            let end = rest[open.len()..]
                .find(close)
                .map_or(rest.len(), |i| open.len() + i + close.len());
            for c in rest[..end].chars() {
                if xml_char(c) {
                    out.push(c);
                } else {
                    forbidden += 1;
                }
            }
            rest = &rest[end..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        match c {
            '&' => match reference(rest) {
                Reference::Kept(len) => {
                    out.push('&');
                    out.push_str(&rest[..len]);
                    rest = &rest[len..];
                }
                Reference::UpperHex(len) => {
                    // XML spells hex references `&#x`; HTML (and feedparser) also read `&#X`.
                    upper_hex += 1;
                    out.push_str("&#x");
                    out.push_str(&rest[2..len]);
                    rest = &rest[len..];
                }
                Reference::Html(len, chars) => {
                    entities += 1;
                    for ch in chars.into_iter().filter(|ch| xml_char(*ch)) {
                        out.push_str(&format!("&#{};", ch as u32));
                    }
                    rest = &rest[len..];
                }
                Reference::Forbidden(len) => {
                    forbidden += 1;
                    rest = &rest[len..];
                }
                Reference::Stray => {
                    ampersands += 1;
                    out.push_str("&amp;");
                }
            },
            // A tag starts with a name, `/`, `!` or `?`; anything else is text.
            '<' if !rest.starts_with(|n: char| n.is_alphabetic() || "_/!?:".contains(n)) => {
                angles += 1;
                out.push_str("&lt;");
            }
            c if !xml_char(c) => forbidden += 1,
            c => out.push(c),
        }
    }
    // An end tag cut off at the very end (`</feed`) loses nothing when completed.
    let mut cut_end_tag = 0;
    if let Some(last) = out.rfind("</") {
        let name = out[last + 2..].trim_end();
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || "_:.-".contains(c))
        {
            out.truncate(last + 2 + name.len());
            out.push('>');
            cut_end_tag = 1;
        }
    }
    let notes = [
        (cut_end_tag, "end tag cut off at the end completed"),
        (ampersands, "stray '&' escaped"),
        (entities, "HTML entities turned into character references"),
        (angles, "stray '<' escaped"),
        (upper_hex, "'&#X' references spelt '&#x'"),
        (forbidden, "characters XML forbids dropped"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    Repaired { text: out, notes }
}

enum Reference {
    /// A reference XML knows; its length after the `&`.
    Kept(usize),
    /// A hex character reference spelt `&#X…;`, which XML does not know.
    UpperHex(usize),
    /// An HTML named entity: its length and the characters it stands for.
    Html(usize, Vec<char>),
    /// A character reference to a character XML forbids.
    Forbidden(usize),
    Stray,
}

/// Classifies what follows an `&`.
fn reference(after: &str) -> Reference {
    let Some(semi) = after.find(';').filter(|i| (2..=40).contains(i)) else {
        return Reference::Stray;
    };
    let name = &after[..semi];
    let len = semi + 1;
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => number.parse(),
        };
        return match code.ok().and_then(char::from_u32) {
            Some(ch) if xml_char(ch) && number.starts_with('X') => Reference::UpperHex(len),
            Some(ch) if xml_char(ch) => Reference::Kept(len),
            Some(_) => Reference::Forbidden(len),
            None => Reference::Stray,
        };
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Reference::Stray;
    }
    if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
        return Reference::Kept(len);
    }
    match NAMED_ENTITIES.get(&after[..len]) {
        Some(&(first, second)) => Reference::Html(
            len,
            [first, second]
                .into_iter()
                .filter(|c| *c != 0)
                .filter_map(char::from_u32)
                .collect(),
        ),
        None => Reference::Stray,
    }
}

/// Removes XML declarations that do not open the document (after leading
/// comments, or pasted mid-document by a template), outside CDATA and
/// comments; `None` when there is none. quick-xml panics on them, and the
/// encoding one names no longer applies: the text is decoded already.
pub(crate) fn drop_late_declarations(text: &str) -> Option<(String, usize)> {
    let start = text.len()
        - text
            .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
            .len();
    let mut out = String::new();
    let mut copied = 0;
    let mut dropped = 0;
    for pos in markup_starts(text) {
        if pos < copied {
            continue; // inside a declaration just dropped
        }
        let rest = &text[pos..];
        let is_declaration = rest.len() > 5
            && rest.as_bytes()[..5].eq_ignore_ascii_case(b"<?xml")
            && rest.as_bytes()[5].is_ascii_whitespace();
        if is_declaration && pos != start {
            let end = rest.find("?>").map_or(text.len(), |j| pos + j + 2);
            out.push_str(&text[copied..pos]);
            copied = end;
            dropped += 1;
        }
    }
    if dropped == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some((out, dropped))
}

/// A document cut into its entries: what comes before the first entry, each
/// entry's markup, and the closing tags that complete a one-entry document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    pub head: &'a str,
    pub entries: Vec<Entry<'a>>,
    pub closing: String,
}

/// One entry's markup, or why it could not be cut out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry<'a> {
    Whole(&'a str),
    /// The entry never ends (the document was cut off, or its end tag is wrong).
    Unterminated,
}

/// Cuts a document at its `<item>` / `<entry>` elements (any prefix), or
/// `None` when it has none.
pub(crate) fn split_entries(text: &str) -> Option<Split<'_>> {
    let starts = entry_starts(text);
    let first = *starts.first()?;
    let head = &text[..first];
    let mut entries = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let limit = starts.get(i + 1).copied().unwrap_or(text.len());
        let chunk = &text[start..limit];
        let name_len = chunk[1..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(0);
        let name = &chunk[1..1 + name_len];
        let self_closing = chunk.find('>').is_some_and(|i| chunk[..i].ends_with('/'));
        let end_tag = format!("</{name}>");
        entries.push(if self_closing {
            Entry::Whole(&chunk[..chunk.find('>').unwrap_or(0) + 1])
        } else {
            match chunk.rfind(&end_tag) {
                Some(end) => Entry::Whole(&chunk[..end + end_tag.len()]),
                None => Entry::Unterminated,
            }
        });
    }
    Some(Split {
        head,
        entries,
        closing: closing_tags(head),
    })
}

/// Byte offsets of the entry start tags, outside CDATA and comments.
fn entry_starts(text: &str) -> Vec<usize> {
    markup_starts(text)
        .filter(|&pos| {
            let name = text[pos + 1..]
                .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or("");
            matches!(name.rsplit(':').next().unwrap_or(name), "item" | "entry")
        })
        .collect()
}

/// Where each `<` that starts markup stands, passing over the insides of
/// CDATA sections and comments (a `<` there is text).
fn markup_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while let Some(i) = text[at..].find('<') {
            let pos = at + i;
            let rest = &text[pos..];
            if let Some((open, close)) = [("<![CDATA[", "]]>"), ("<!--", "-->")]
                .into_iter()
                .find(|(open, _)| rest.starts_with(open))
            {
                at = rest[open.len()..]
                    .find(close)
                    .map_or(text.len(), |j| pos + open.len() + j + close.len());
                continue;
            }
            at = pos + 1;
            return Some(pos);
        }
        None
    })
}

/// End tags for the elements `head` leaves open, innermost first.
fn closing_tags(head: &str) -> String {
    let mut open: Vec<&str> = Vec::new();
    let mut at = 0;
    while let Some(i) = head[at..].find('<') {
        let pos = at + i;
        let rest = &head[pos..];
        let skip_to = |close: &str| {
            rest.find(close)
                .map_or(head.len(), |j| pos + j + close.len())
        };
        at = if rest.starts_with("<![CDATA[") {
            skip_to("]]>")
        } else if rest.starts_with("<!--") {
            skip_to("-->")
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            skip_to(">")
        } else {
            let end = skip_to(">");
            let tag = &head[pos + 1..end.saturating_sub(1).max(pos + 1)];
            if let Some(name) = tag.strip_prefix('/') {
                if let Some(k) = open.iter().rposition(|o| *o == name.trim()) {
                    open.truncate(k);
                }
            } else if !tag.ends_with('/') {
                if let Some(name) = tag.split_whitespace().next() {
                    open.push(name);
                }
            }
            end
        };
    }
    open.iter().rev().map(|name| format!("</{name}>")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_ampersands_and_angles_are_escaped_and_good_references_kept() {
        let fixed =
            repair_markup("<link>/a?x=1&y=2&c</link><t>a < b &amp; c &#228; &#x1F600; AT&T;</t>");
        assert_eq!(
            fixed.text,
            "<link>/a?x=1&amp;y=2&amp;c</link><t>a &lt; b &amp; c &#228; &#x1F600; AT&amp;T;</t>"
        );
        assert_eq!(fixed.notes, ["3 stray '&' escaped", "1 stray '<' escaped"]);
    }

    #[test]
    fn uppercase_hex_references_are_spelt_as_xml_spells_them() {
        let fixed = repair_markup("<t>&#X41;&#x42;&#X1f600;&#X;&#X0;</t>");
        assert_eq!(fixed.text, "<t>&#x41;&#x42;&#x1f600;&amp;#X;</t>");
        assert_eq!(
            fixed.notes,
            [
                "1 stray '&' escaped",
                "2 '&#X' references spelt '&#x'",
                "1 characters XML forbids dropped"
            ]
        );
    }

    #[test]
    fn an_end_tag_cut_off_at_the_end_is_completed() {
        let fixed = repair_markup("<feed><entry/></feed \n");
        assert_eq!(fixed.text, "<feed><entry/></feed>");
        assert_eq!(fixed.notes, ["1 end tag cut off at the end completed"]);
        // Only a bare name: a cut start tag or text after the end tag is left alone.
        for text in [
            "<feed><entry/></feed><x a=\"1",
            "<feed></feed>",
            "<a></a>tail",
        ] {
            assert_eq!(repair_markup(text).text, text);
        }
    }

    #[test]
    fn only_the_declaration_that_opens_the_document_stays() {
        let first = "\u{feff} <?xml version=\"1.0\"?><rss><t><![CDATA[<?xml x?>]]></t></rss>";
        assert_eq!(drop_late_declarations(first), None);
        let (fixed, n) = drop_late_declarations(
            "<!-- c --><?xml version=\"1.0\"?>\n<rss><t>a<?XML version='1.0' ?>b</t><?xml-stylesheet href=\"s\"?></rss>",
        )
        .unwrap();
        assert_eq!(
            fixed,
            "<!-- c -->\n<rss><t>ab</t><?xml-stylesheet href=\"s\"?></rss>"
        );
        assert_eq!(n, 2);
        // One that never ends takes the rest of the document with it.
        assert_eq!(
            drop_late_declarations("<rss/><?xml version=").unwrap().0,
            "<rss/>"
        );
    }

    #[test]
    fn html_entities_become_character_references() {
        let fixed = repair_markup("<t>caf&eacute; &nbsp;&mdash; &NotEqualTilde;</t>");
        assert_eq!(fixed.text, "<t>caf&#233; &#160;&#8212; &#8770;&#824;</t>");
    }

    #[test]
    fn forbidden_characters_are_dropped_and_cdata_left_alone() {
        let fixed = repair_markup("<t>a\u{1}b&#0;c&#x1b;</t><![CDATA[x & y < z\u{8}]]>");
        assert_eq!(fixed.text, "<t>abc</t><![CDATA[x & y < z]]>");
        assert_eq!(fixed.notes, ["4 characters XML forbids dropped"]);
        let clean = "<rss version=\"2.0\"><!-- a & b --><t>&lt;ok&gt;</t></rss>";
        assert_eq!(repair_markup(clean).text, clean);
        assert!(repair_markup(clean).notes.is_empty());
    }

    #[test]
    fn entries_are_cut_out_with_the_tags_that_close_them() {
        let doc = "<rss><channel><title>T</title><item><title>a</title></item>\n<item><title>b<item-ish/></title></item><![CDATA[<item>]]><atom:entry><x/></atom:entry></channel></rss>";
        let split = split_entries(doc).unwrap();
        assert_eq!(split.head, "<rss><channel><title>T</title>");
        assert_eq!(split.closing, "</channel></rss>");
        assert_eq!(
            split.entries,
            [
                Entry::Whole("<item><title>a</title></item>"),
                Entry::Whole("<item><title>b<item-ish/></title></item>"),
                Entry::Whole("<atom:entry><x/></atom:entry>"),
            ]
        );
        let cut = split_entries("<feed><entry><id>1</id></entry><entry><id>2</i").unwrap();
        assert_eq!(cut.entries[1], Entry::Unterminated);
        assert_eq!(cut.closing, "</feed>");
        assert_eq!(split_entries("<rss><channel/></rss>"), None);
    }
}
