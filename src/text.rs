//! Plain-text helpers that every stage uses on partner text (extract for
//! listing titles, normalize for fields, publish for teasers).

/// Runs of whitespace, control characters, zero-width spaces and the
/// characters XML cannot carry become one space.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in
        s.split(|c: char| c.is_whitespace() || c.is_control() || c == '\u{200b}' || !xml_char(c))
    {
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

/// Whether XML 1.0 documents may contain `c` (its `Char` production): the
/// served Atom and RSS feeds are XML, and one C0 control or U+FFFE in a
/// partner's text makes a strict reader reject the whole feed.
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// `s` without the characters XML cannot carry (see [`xml_char`]).
pub fn without_non_xml_chars(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().all(xml_char) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.chars().filter(|c| xml_char(*c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_cannot_carry_are_dropped_or_become_spaces() {
        for c in ['\u{0}', '\u{1}', '\u{b}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
            assert!(!xml_char(c), "{c:?}");
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
            assert!(xml_char(c), "{c:?}");
        }
        assert_eq!(without_non_xml_chars("a\u{1}b\u{fffe}c\td"), "abc\td");
        assert!(matches!(
            without_non_xml_chars("schon gut"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            collapse_whitespace("Titel\u{fffe}mit\u{1}Steuer"),
            "Titel mit Steuer"
        );
    }
}
