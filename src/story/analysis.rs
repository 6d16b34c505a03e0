//! Text → signature: an item's title and lead reduced to content terms
//! (folded, stop words dropped, stemmed by CISTEM, numbers written one way),
//! the calendar dates it names and the quantities it states.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::Signature;
use super::fold::folded_into;
use super::lexicon::{LEXICON, Lex, MONTH_TERMS, UNCOMPARED_UNITS};
use super::tokens::{Raw, Sep, raw_tokens};

/// Words of the text analysed: news is written as an inverted pyramid, so the
/// facts that make two reports one news stand in the title and the lead (about
/// the first 150 words); later paragraphs add background and quotes that
/// differ between outlets. It also bounds the work per item.
const LEAD_TOKENS: usize = 150;

/// Analyses an item's title and plain text.
pub(super) fn signature(title: &str, text: &str) -> Signature {
    let text = strip_boilerplate(text);
    let mut a = Analysis::default();
    a.run(title, usize::MAX);
    a.boundary();
    a.run(&text, LEAD_TOKENS);
    let mut terms = a.terms;
    terms.sort_unstable();
    terms.dedup();
    let mut dates = a.dates;
    dates.sort_unstable();
    dates.dedup();
    let mut quantities = a.quantities;
    quantities.sort_unstable();
    quantities.dedup();
    Signature {
        terms,
        dates,
        quantities,
    }
}

static BOILERPLATE: LazyLock<Regex> = LazyLock::new(|| {
    // WordPress/Yoast feed footers repeat the title and the site name in every
    // item; teaser cut marks carry nothing.
    Regex::new(r"(?s)Der Beitrag .{1,400}? erschien zuerst auf .{1,200}?(?:\.|$)|The post .{1,400}? appeared first on .{1,200}?(?:\.|$)|\[(?:…|\.\.\.)\]")
        .expect("valid regex")
});

fn strip_boilerplate(text: &str) -> Cow<'_, str> {
    if text.contains("erschien zuerst auf")
        || text.contains("appeared first on")
        || text.contains('[')
    {
        BOILERPLATE.replace_all(text, " ")
    } else {
        Cow::Borrowed(text)
    }
}

/// CISTEM (Weissweiler & Fraser 2017): strips German inflection without a
/// dictionary. Hand-written because no maintained crate implements it, and
/// the Snowball stemmer (rust-stemmers) does not fold "ae"/"oe"/"ue".
/// `noun`: the word was capitalised, so a final "t" is part of the stem.
fn cistem(word: &str, noun: bool) -> String {
    if !word.is_ascii() || word.len() < 4 {
        return word.to_string();
    }
    let mut w = word.as_bytes();
    if w.len() >= 6 && w.starts_with(b"ge") {
        w = &w[2..];
    }
    let mut s: Vec<u8> = Vec::with_capacity(w.len());
    let mut i = 0;
    let at = |i: usize| w.get(i).copied().unwrap_or(0);
    while i < w.len() {
        if w[i] == b's' && at(i + 1) == b'c' && at(i + 2) == b'h' {
            s.push(b'$');
            i += 3;
        } else if w[i] == b'e' && at(i + 1) == b'i' {
            s.push(b'%');
            i += 2;
        } else if w[i] == b'i' && at(i + 1) == b'e' {
            s.push(b'&');
            i += 2;
        } else {
            s.push(w[i]);
            i += 1;
        }
    }
    for i in 1..s.len() {
        if s[i] == s[i - 1] {
            s[i] = b'*';
        }
    }
    while s.len() > 3 {
        if s.len() > 5 && (s.ends_with(b"em") || s.ends_with(b"er") || s.ends_with(b"nd")) {
            s.truncate(s.len() - 2);
            continue;
        }
        if !noun && s.ends_with(b"t") {
            s.pop();
            continue;
        }
        if matches!(s.last(), Some(b'e' | b's' | b'n')) {
            s.pop();
            continue;
        }
        break;
    }
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'*' => out.push(s[i - 1] as char),
            b'$' => out.push_str("sch"),
            b'%' => out.push_str("ei"),
            b'&' => out.push_str("ie"),
            c => out.push(c as char),
        }
    }
    out
}

/// A number as one canonical string: "6.412" → "6412", "7,80" → "7.8".
fn canonical_number(raw: &str) -> String {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}'))
        .collect();
    let thousands = {
        let groups: Vec<&str> = compact.split('.').collect();
        groups.len() > 1
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3)
            && !compact.contains(',')
    };
    let mut s = if thousands {
        compact.replace('.', "")
    } else {
        compact.replace('.', "").replace(',', ".")
    };
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.starts_with('.') {
        format!("0{trimmed}")
    } else {
        trimmed.to_string()
    }
}

fn is_year(n: &str) -> bool {
    n.len() == 4 && n.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y))
}

#[derive(Default)]
struct Analysis {
    terms: Vec<String>,
    dates: Vec<(u8, u8)>,
    quantities: Vec<(String, String)>,
    /// A number waiting for the word it counts, and how many stop words passed since.
    pending: Option<(String, u8)>,
    /// A day number ("10.") that a following month name makes a date.
    day: Option<u8>,
    /// The current word, folded.
    buf: String,
}

impl Analysis {
    fn boundary(&mut self) {
        self.pending = None;
        self.day = None;
    }

    fn run(&mut self, s: &str, max_tokens: usize) {
        let tokens = raw_tokens(s);
        let tokens = &tokens[..tokens.len().min(max_tokens)];
        let mut i = 0;
        while i < tokens.len() {
            let (sep, tok) = &tokens[i];
            if *sep >= Sep::Punct {
                self.boundary();
            }
            match tok {
                Raw::Number(n, dot) => self.number(n, *dot),
                Raw::Symbol(w) => self.word(w, true),
                Raw::Word(w) => {
                    // "A 15", "RE 2", "B 168": a road or line name written with a space.
                    let short_caps = w.len() <= 3 && w.chars().all(|c| c.is_ascii_uppercase());
                    if let (true, Some((Sep::Space, Raw::Number(n, _)))) =
                        (short_caps, tokens.get(i + 1))
                    {
                        if n.len() <= 3 && n.chars().all(|c| c.is_ascii_digit()) {
                            self.boundary();
                            self.terms.push(format!("{}{n}", w.to_ascii_lowercase()));
                            i += 2;
                            continue;
                        }
                    }
                    let noun = w.chars().next().is_some_and(char::is_uppercase);
                    self.word(w, noun);
                }
            }
            i += 1;
        }
    }

    fn number(&mut self, raw: &str, dot: bool) {
        self.day = None;
        let parts: Vec<&str> = raw.split('.').collect();
        // 13.02.2026, 13.02.26, or 13.02. — a calendar date.
        let date_like = (parts.len() == 3 || (parts.len() == 2 && dot))
            && parts[0].len() <= 2
            && parts[1].len() <= 2
            && parts.get(2).is_none_or(|y| y.len() == 2 || y.len() == 4);
        if date_like {
            if let (Ok(d), Ok(m)) = (parts[0].parse::<u8>(), parts[1].parse::<u8>()) {
                if (1..=31).contains(&d) && (1..=12).contains(&m) {
                    self.dates.push((d, m));
                    self.terms.push(format!("#{d}"));
                    self.terms.push(MONTH_TERMS[usize::from(m) - 1].to_string());
                    if let Some(y) = parts.get(2).filter(|y| !y.is_empty()) {
                        self.terms.push(format!("#{}", canonical_number(y)));
                    }
                    self.pending = None;
                    return;
                }
            }
        }
        let n = canonical_number(raw);
        if dot {
            self.day = n.parse::<u8>().ok().filter(|d| (1..=31).contains(d));
        }
        self.pending = (!is_year(&n) && !dot).then(|| (n.clone(), 0));
        self.terms.push(format!("#{n}"));
    }

    fn word(&mut self, raw: &str, noun: bool) {
        let mut buf = std::mem::take(&mut self.buf);
        folded_into(raw, &mut buf);
        self.folded_word(&buf, noun);
        self.buf = buf;
    }

    fn folded_word(&mut self, w: &str, noun: bool) {
        let mut w = w;
        let mut lex = LEXICON.get(w).copied();
        if let Some(Lex::Synonym(to)) = lex {
            w = to;
            lex = LEXICON.get(w).copied();
        }
        if let Some(Lex::Number(n)) = lex {
            self.number(n, false);
            return;
        }
        let day = self.day.take();
        if let Some(Lex::Month(m)) = lex {
            if let Some(d) = day {
                self.dates.push((d, m));
            }
            self.pending = None;
            self.terms.push(MONTH_TERMS[usize::from(m) - 1].to_string());
            return;
        }
        if w.len() < 2 || matches!(lex, Some(Lex::Stop)) {
            // "sechs neue Ladesäulen": up to two stop words between a number and its noun.
            if let Some((_, gap)) = &mut self.pending {
                *gap += 1;
                if *gap > 2 {
                    self.pending = None;
                }
            }
            return;
        }
        let stem = cistem(w, noun);
        if let Some((n, _)) = self.pending.take() {
            if !UNCOMPARED_UNITS.contains(&stem.as_str()) {
                self.quantities.push((stem.clone(), n));
            }
        }
        self.terms.push(stem);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Signature;

    fn terms(title: &str, text: &str) -> Vec<String> {
        Signature::of(title, text).terms
    }

    fn has(title: &str, text: &str, wanted: &[&str]) {
        let t = terms(title, text);
        for w in wanted {
            assert!(t.contains(&w.to_string()), "{w} missing in {t:?}");
        }
    }

    #[test]
    fn umlauts_sharp_s_and_case_fold_alike() {
        assert_eq!(terms("Görlitz", ""), terms("GOERLITZ", ""));
        assert_eq!(terms("Straße", ""), terms("Strasse", ""));
        assert_eq!(terms("Fördermittel", ""), terms("Foerdermittel", ""));
        // "que" and "eue" are no umlauts: "neuen" must not become "neun" (nine).
        assert_eq!(terms("Quelle", ""), vec!["quell".to_string()]);
        assert_eq!(terms("neun", ""), vec!["#9".to_string()]);
        assert!(terms("neuen", "").is_empty());
        assert_eq!(terms("Steuern", ""), terms("Steuer", ""));
    }

    #[test]
    fn inflections_share_a_stem() {
        assert_eq!(terms("Unterschriften", ""), terms("Unterschrift", ""));
        assert_eq!(terms("Wasserstoffwerke", ""), terms("Wasserstoffwerk", ""));
        assert_eq!(terms("Landtags", ""), terms("Landtag", ""));
        assert_eq!(terms("attraktive", ""), terms("attraktiv", ""));
    }

    #[test]
    fn stop_words_and_feed_boilerplate_are_dropped() {
        assert!(terms("Der die das und mit für über", "").is_empty());
        let t = terms(
            "Titel",
            "Text hier. […] Der Beitrag Titel erschien zuerst auf Revierbote Lausitz.",
        );
        assert!(
            !t.iter()
                .any(|w| w.starts_with("revierbot") || w == "beitrag" || w == "erschi"),
            "{t:?}"
        );
    }

    #[test]
    fn dashes_and_hyphens_split_words() {
        has("Bahnausbau Cottbus–Görlitz", "", &["cottbu", "gorlitz"]);
        assert_eq!(terms("SPREE-KLAR", ""), terms("Spree Klar", ""));
        assert_eq!(
            terms("Cottbus–Görlitz", ""),
            terms("Cottbus - Goerlitz", "")
        );
    }

    #[test]
    fn numbers_are_written_one_way() {
        has("6.412 Unterschriften", "", &["#6412"]);
        assert_eq!(terms("6.412", ""), terms("6412", ""));
        assert_eq!(terms("12.500 Gäste", ""), terms("12 500 Gäste", ""));
        assert_eq!(terms("12.500", ""), terms("12\u{202f}500", ""));
        assert_eq!(terms("7,8 Mio. €", ""), terms("7,80 Millionen Euro", ""));
        assert_eq!(
            terms("30-Megawatt-Elektrolyseur", ""),
            terms("30 MW Elektrolyseur", "")
        );
        assert_eq!(terms("zwölf Stationen", ""), terms("12 Stationen", ""));
        assert_eq!(terms("A 15", ""), terms("A15", ""));
        // Two numbers are not one: "bis 2030 500 Stellen".
        has("bis 2030 500 Stellen", "", &["#2030", "#500"]);
    }

    #[test]
    fn dates_are_recognised_in_both_spellings() {
        let a = Signature::of("Am 13.02.2026", "");
        let b = Signature::of("Am 13. Februar", "");
        assert_eq!(a.dates, vec![(13, 2)]);
        assert_eq!(b.dates, vec![(13, 2)]);
        // A sentence-final number is no day.
        assert!(Signature::of("Bis 2029. Dann", "").dates.is_empty());
        assert!(Signature::of("Im Jahr 12. Mai", "").dates == vec![(12, 5)]);
    }

    #[test]
    fn quantities_bind_numbers_to_what_they_count() {
        let s = Signature::of(
            "Sechs neue Ladesäulen",
            "mit je 22 Kilowatt, 120 Mio. €, seit drei Jahren, 2029 weiter",
        );
        let q: Vec<(&str, &str)> = s
            .quantities
            .iter()
            .map(|(u, v)| (u.as_str(), v.as_str()))
            .collect();
        assert!(q.contains(&("ladesaul", "6")), "{q:?}");
        assert!(q.contains(&("kilowatt", "22")), "{q:?}");
        assert!(q.contains(&("millio", "120")), "{q:?}");
        // Durations and years are not compared.
        assert!(!q.iter().any(|(u, _)| *u == "jahr"), "{q:?}");
        assert!(!q.iter().any(|(_, v)| *v == "2029"), "{q:?}");
        // No binding across punctuation: "Konferenz 2026: Betriebe".
        assert!(
            Signature::of("Konferenz 350: Betriebe", "")
                .quantities
                .is_empty()
        );
    }
}
