//! The first step of the analysis: text split into words, numbers and
//! currency/percent signs, each with what separated it from the one before.
//! German number spellings ("12 500", "6.412", "7,8") stay one token.

/// What separated a token from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Sep {
    /// Nothing: "30er", "4.000t".
    None,
    Space,
    /// Hyphen or dash: "30-Megawatt", "Cottbus–Görlitz".
    Hyphen,
    /// Punctuation or a line break: numbers don't bind across it.
    Punct,
}

#[derive(Debug)]
pub(super) enum Raw<'a> {
    Word(&'a str),
    /// Digits with their separators as written, and whether a '.' followed.
    Number(&'a str, bool),
    Symbol(&'static str),
    /// A result or ratio written with a colon ("3:1", "87:85"), not a time of day.
    Score(&'a str),
}

/// [`WORD_BYTES`]: an ASCII letter or digit, which continues a word.
const ASCII_WORD: u8 = 1;
/// [`WORD_BYTES`]: any other ASCII byte, which ends it.
const ASCII_OTHER: u8 = 0;

/// What each byte is to a word: [`ASCII_WORD`], [`ASCII_OTHER`], or 2 for
/// a byte of a multi-byte character (decoded and judged whole).
static WORD_BYTES: [u8; 256] = {
    let mut t = [2u8; 256];
    let mut b = 0;
    while b < 128 {
        t[b] = if (b as u8).is_ascii_alphanumeric() {
            ASCII_WORD
        } else {
            ASCII_OTHER
        };
        b += 1;
    }
    t
};

fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{a0}' | '\u{202f}' | '\u{2009}')
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '‐' | '‑' | '‒' | '–' | '—' | '―' | '−')
}

/// Splits text into words, numbers and currency/percent signs, noting the
/// separator before each; stops after `max` tokens (the analysis reads the
/// lead only, and long texts need not be split to the end). An iterator, so
/// that no list of tokens is built for every item.
pub(super) fn raw_tokens(s: &str, max: usize) -> RawTokens<'_> {
    RawTokens {
        s,
        at: 0,
        sep: Sep::Punct,
        left: max,
    }
}

/// The tokens of [`raw_tokens`], one at a time.
pub(super) struct RawTokens<'a> {
    s: &'a str,
    /// Byte offset of the next character to look at.
    at: usize,
    /// The separator seen since the last token.
    sep: Sep,
    /// Tokens still to give.
    left: usize,
}

impl<'a> Iterator for RawTokens<'a> {
    type Item = (Sep, Raw<'a>);

    fn next(&mut self) -> Option<(Sep, Raw<'a>)> {
        let s = self.s;
        if self.left == 0 {
            return None;
        }
        while let Some(c) = s[self.at..].chars().next() {
            let i = self.at;
            let sep = self.sep;
            if c.is_alphabetic() {
                let bytes = s.as_bytes();
                let mut end = i;
                while end < bytes.len() {
                    // ASCII byte by byte (one table lookup: words are most
                    // of a text's bytes); other characters decoded.
                    match WORD_BYTES[usize::from(bytes[end])] {
                        ASCII_WORD => {
                            end += 1;
                            continue;
                        }
                        ASCII_OTHER => break,
                        _ => {}
                    }
                    let d = s[end..].chars().next().expect("a character starts here");
                    // A combining mark (text stored before NFC, or NFC-less
                    // scripts) stays inside its word; fold drops it.
                    if !(d.is_alphanumeric() || unicode_normalization::char::is_combining_mark(d)) {
                        break;
                    }
                    end += d.len_utf8();
                }
                self.at = end;
                self.sep = Sep::None;
                self.left -= 1;
                return Some((sep, Raw::Word(&s[i..end])));
            }
            if c.is_ascii_digit() {
                self.sep = Sep::None;
                self.left -= 1;
                if let Some(end) = score_end(s, i) {
                    self.at = end;
                    return Some((sep, Raw::Score(&s[i..end])));
                }
                let end = number_end(s, i);
                let dot = s[end..].starts_with('.')
                    && !s[end + 1..].starts_with(|d: char| d.is_ascii_digit());
                // An ordinal's dot ("10. Juni") belongs to the number, not to the sentence.
                self.at = end + usize::from(dot);
                return Some((sep, Raw::Number(&s[i..end], dot)));
            }
            self.at += c.len_utf8();
            match c {
                '€' => {
                    self.sep = Sep::None;
                    self.left -= 1;
                    return Some((sep, Raw::Symbol("euro")));
                }
                '%' => {
                    self.sep = Sep::None;
                    self.left -= 1;
                    return Some((sep, Raw::Symbol("prozent")));
                }
                c if is_space(c) && c != '\n' => self.sep = sep.max(Sep::Space),
                c if is_hyphen(c) => self.sep = sep.max(Sep::Hyphen),
                _ => self.sep = Sep::Punct,
            }
        }
        None
    }
}

/// End of a score starting at `start`: digits, a colon, digits, and no
/// "Uhr" after it ("19:30 Uhr" is a time).
fn score_end(s: &str, start: usize) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let colon = digits(start);
    if colon - start > 3 || b.get(colon) != Some(&b':') {
        return None;
    }
    let end = digits(colon + 1);
    let after = s[end..].trim_start();
    let time = after.starts_with("Uhr") || after.starts_with("h ") || after == "h";
    let glued = end < b.len()
        && (b[end].is_ascii_alphanumeric()
            || matches!(b[end], b':' | b'.' | b',')
                && b.get(end + 1).is_some_and(u8::is_ascii_digit));
    (end > colon + 1 && end - colon - 1 <= 3 && !time && !glued).then_some(end)
}

/// End of a number starting at `start`: digits, '.'/',' between digits, and
/// a space before exactly three digits after a group of at most three
/// ("12 500"), the German thousands separator of DIN 5008.
fn number_end(s: &str, start: usize) -> usize {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut end = digits(start);
    let first_group = end - start;
    let mut grouped_by_space = false;
    loop {
        if end + 1 < b.len()
            && matches!(b[end], b'.' | b',')
            && b[end + 1].is_ascii_digit()
            && !grouped_by_space
        {
            end = digits(end + 1);
            continue;
        }
        if first_group <= 3 && end == digits(start) || grouped_by_space {
            // A space (plain, no-break or thin) followed by exactly three digits.
            let rest = &s[end..];
            let space_len = rest
                .chars()
                .next()
                .filter(|c| matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}'))
                .map(char::len_utf8);
            if let Some(l) = space_len {
                let g = end + l;
                let ge = digits(g);
                let next_is_sep = ge >= b.len()
                    || !(b[ge].is_ascii_digit()
                        || (matches!(b[ge], b'.' | b',')
                            && ge + 1 < b.len()
                            && b[ge + 1].is_ascii_digit()));
                if ge - g == 3 && next_is_sep {
                    end = ge;
                    grouped_by_space = true;
                    continue;
                }
            }
        }
        return end;
    }
}
