//! Cross-source story matching: whether a new item reports the same news as
//! an item another partner already published. Pure functions and an
//! in-memory candidate index; `store` persists the signatures and decides
//! membership with them.
//!
//! # Method
//!
//! Each item is reduced once, when it is stored, to a [`Signature`]: the set
//! of its content terms (title and text), the calendar dates it names and the
//! quantities it states ("120 Millionen", "sechs Ladesäulen"). Terms come
//! from a German-aware analysis: lower case, umlauts and ß folded (so
//! "Görlitz", "Goerlitz" and "GÖRLITZ" agree), words split at hyphens and
//! dashes ("Cottbus–Görlitz"), stop words dropped, inflections stripped by
//! CISTEM (Weissweiler & Fraser 2017, the best of the German rule stemmers
//! in its authors' comparison), numbers written one way ("6.412" = "6412", "7,8 Mio." = "7.8
//! millionen", "zwölf" = "12", "30-Megawatt" = "30 megawatt").
//!
//! Two items are compared by the cosine of their IDF-weighted term sets. IDF
//! (`ln((1+N)/(1+df)) + 1`, the usual smoothed form) is taken over every
//! indexed item, so the region's background vocabulary (Lausitz, Cottbus,
//! Strukturwandel) weighs little and the facts of one news weigh much. A new
//! item joins a story only when, against at least one member:
//!
//! - the cosine reaches `min_similarity` (default 0.25: a quarter of the
//!   weighted vocabulary in common; two short reports of one news share its
//!   who, what, where and how-much, about 5 of 20 content terms, while
//!   reports of different news on the same place or topic share the place and
//!   the topic, 1 to 3 terms, cosine 0.05 to 0.2);
//! - they share at least `min_shared_terms` terms (default 4: who, what,
//!   where and one of when/how-much), two of them specific (carried by at most
//!   a tenth of a small store's items, √N of a large one) and one of those a
//!   word, so that very short items, texts built from the same small
//!   vocabulary and chance numbers cannot make a match on their own;
//! - nothing contradicts: when both name calendar dates, one date is common
//!   (a recurring event or the next closure names another date); when both
//!   state a number for the same thing ("sechs Ladesäulen" / "vier
//!   Ladesäulen", "60 Millionen" / "120 Millionen"), one number is common.
//!   Durations and years are not compared: reports of one news often count
//!   them differently.
//!
//! and, against the whole story: the story has no item of the new item's
//! source, its items and the new one lie within `window_days` calendar days
//! (default 4: a Thursday press release reported the next Monday, yet
//! shorter than the 7 days of weekly recurring items), and no member
//! contradicts the new item. Of the stories that qualify the new item joins
//! the most similar one only, so two stories are never chained together.
//!
//! # Cost
//!
//! Candidates come from an inverted index of specific terms, restricted to
//! the date window over postings ordered by day; only an item's rarer terms
//! are looked up (prefix filtering: the common rest cannot lift a pair over
//! the threshold) and background terms never, so a new item touches only the
//! few items that share a rare term with it, within a fixed budget, and no
//! stored text is tokenised again.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

/// foldhash: several times faster than SipHash on short keys, still seeded
/// per process, so partner text cannot aim collisions at these tables.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type Set<K> = HashSet<K, foldhash::fast::RandomState>;

/// Thresholds for story matching (`[stories]` in config.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub enabled: bool,
    /// Items of one story lie within this many calendar days (Europe/Berlin).
    pub window_days: u32,
    /// Least IDF-weighted cosine between the new item and a member.
    pub min_similarity: f64,
    /// Least number of terms the new item shares with that member.
    pub min_shared_terms: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            enabled: true,
            window_days: 4,
            min_similarity: 0.25,
            min_shared_terms: 4,
        }
    }
}

/// What an item is compared by: computed once when it is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signature {
    /// Content terms, sorted and unique; numbers start with `#`.
    pub terms: Vec<String>,
    /// Calendar dates named in the item as (day, month), sorted and unique.
    pub dates: Vec<(u8, u8)>,
    /// Stated quantities as (unit term, number term), sorted and unique.
    pub quantities: Vec<(String, String)>,
}

/// Bump when the analysis changes: stored signatures of another version are
/// recomputed from the stored title and text.
const SIGNATURE_VERSION: &str = "s1";

/// Words of the text analysed: news is written as an inverted pyramid, so the
/// facts that make two reports one news stand in the title and the lead (about
/// the first 150 words); later paragraphs add background and quotes that
/// differ between outlets. It also bounds the work per item.
const LEAD_TOKENS: usize = 150;

impl Signature {
    /// Analyses an item's title and plain text.
    pub fn of(title: &str, text: &str) -> Signature {
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

    /// One line for the database: `s1|terms|dates|quantities`.
    pub fn encode(&self) -> String {
        let dates: Vec<String> = self.dates.iter().map(|(d, m)| format!("{d}.{m}")).collect();
        let quantities: Vec<String> = self
            .quantities
            .iter()
            .map(|(u, v)| format!("{u}={v}"))
            .collect();
        format!(
            "{SIGNATURE_VERSION}|{}|{}|{}",
            self.terms.join(" "),
            dates.join(" "),
            quantities.join(" ")
        )
    }

    /// The signature stored by [`encode`](Self::encode); `None` for another version or garbage.
    pub fn decode(line: &str) -> Option<Signature> {
        let mut parts = line.split('|');
        if parts.next()? != SIGNATURE_VERSION {
            return None;
        }
        let words = |s: &str| -> Vec<String> {
            s.split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        };
        let terms = words(parts.next()?);
        let dates = words(parts.next()?)
            .iter()
            .map(|d| {
                let (day, month) = d.split_once('.')?;
                Some((day.parse().ok()?, month.parse().ok()?))
            })
            .collect::<Option<Vec<_>>>()?;
        let quantities = words(parts.next()?)
            .iter()
            .map(|q| {
                q.split_once('=')
                    .map(|(u, v)| (u.to_string(), v.to_string()))
            })
            .collect::<Option<Vec<_>>>()?;
        parts.next().is_none().then_some(Signature {
            terms,
            dates,
            quantities,
        })
    }
}

static BOILERPLATE: LazyLock<Regex> = LazyLock::new(|| {
    // WordPress/Yoast feed footers repeat the title and the site name in every
    // item; teaser cut marks carry nothing.
    Regex::new(r"(?s)Der Beitrag .{1,400}? erschien zuerst auf .{1,200}?(?:\.|$)|The post .{1,400}? appeared first on .{1,200}?(?:\.|$)|\[(?:…|\.\.\.)\]")
        .expect("valid regex")
});

fn strip_boilerplate(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("erschien zuerst auf")
        || text.contains("appeared first on")
        || text.contains('[')
    {
        BOILERPLATE.replace_all(text, " ")
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

// ---------------------------------------------------------------------------
// Analysis: raw tokens, then terms, dates and quantities.
// ---------------------------------------------------------------------------

/// What separated a token from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sep {
    /// Nothing: "30er", "4.000t".
    None,
    Space,
    /// Hyphen or dash: "30-Megawatt", "Cottbus–Görlitz".
    Hyphen,
    /// Punctuation or a line break: numbers don't bind across it.
    Punct,
}

#[derive(Debug)]
enum Raw<'a> {
    Word(&'a str),
    /// Digits with their separators as written, and whether a '.' followed.
    Number(&'a str, bool),
    Symbol(&'static str),
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{a0}' | '\u{202f}' | '\u{2009}')
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '‐' | '‑' | '‒' | '–' | '—' | '―' | '−')
}

/// Splits text into words, numbers and currency/percent signs, noting the separator before each.
fn raw_tokens(s: &str) -> Vec<(Sep, Raw<'_>)> {
    let mut out = Vec::new();
    let mut sep = Sep::Punct;
    let mut it = s.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_alphabetic() {
            let mut end = i;
            while let Some(&(j, d)) = it.peek() {
                if d.is_alphanumeric() {
                    end = j + d.len_utf8();
                    it.next();
                } else {
                    break;
                }
            }
            out.push((sep, Raw::Word(&s[i..end])));
            sep = Sep::None;
        } else if c.is_ascii_digit() {
            let end = number_end(s, i);
            let dot = s[end..].starts_with('.')
                && !s[end + 1..].starts_with(|d: char| d.is_ascii_digit());
            out.push((sep, Raw::Number(&s[i..end], dot)));
            // An ordinal's dot ("10. Juni") belongs to the number, not to the sentence.
            let consumed = end + usize::from(dot);
            while it.peek().is_some_and(|&(j, _)| j < consumed) {
                it.next();
            }
            sep = Sep::None;
        } else {
            it.next();
            match c {
                '€' => {
                    out.push((sep, Raw::Symbol("euro")));
                    sep = Sep::None;
                }
                '%' => {
                    out.push((sep, Raw::Symbol("prozent")));
                    sep = Sep::None;
                }
                c if is_space(c) && c != '\n' => sep = sep.max(Sep::Space),
                c if is_hyphen(c) => sep = sep.max(Sep::Hyphen),
                _ => sep = Sep::Punct,
            }
        }
    }
    out
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

/// Lower case with diacritics removed; umlauts become their base vowel (the
/// spelled-out "ae"/"oe"/"ue" are folded the same way in [`fold_digraphs`]).
/// A fixed table of the Latin letters of German, Sorbian, Polish, Czech and
/// French names: NFKD alone would miss ł, ø and đ, and needs another crate.
fn fold_into(word: &str, out: &mut String) {
    for c in word.chars() {
        for l in c.to_lowercase() {
            match l {
                'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => out.push('a'),
                'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ő' => out.push('o'),
                'ü' | 'ù' | 'ú' | 'û' | 'ů' | 'ű' | 'ū' => out.push('u'),
                'ß' => out.push_str("ss"),
                'ç' | 'ć' | 'č' => out.push('c'),
                'ď' | 'đ' => out.push('d'),
                'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => out.push('e'),
                'ì' | 'í' | 'î' | 'ï' => out.push('i'),
                'ł' | 'ľ' | 'ĺ' => out.push('l'),
                'ñ' | 'ń' | 'ň' => out.push('n'),
                'ŕ' | 'ř' => out.push('r'),
                'ś' | 'š' | 'ş' => out.push('s'),
                'ť' | 'ţ' => out.push('t'),
                'ý' | 'ÿ' => out.push('y'),
                'ź' | 'ż' | 'ž' => out.push('z'),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                other => out.push(other),
            }
        }
    }
}

/// "ae", "oe", "ue" written for ä, ö, ü (except "que") become the base vowel,
/// as Snowball's german2 variant does (not after q or a vowel), so "Goerlitz" and "Görlitz" agree.
fn fold_digraphs(w: &mut String) {
    let digraph = w
        .as_bytes()
        .windows(2)
        .any(|p| p[1] == b'e' && matches!(p[0], b'a' | b'o' | b'u'));
    if !digraph {
        return;
    }
    let b = w.as_bytes();
    let mut out = String::with_capacity(w.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        // Not after q ("Quelle") or a vowel ("neue", "Steuer", "Mauer").
        let after_vowel_or_q =
            i > 0 && matches!(b[i - 1], b'a' | b'e' | b'i' | b'o' | b'u' | b'y' | b'q');
        if i + 1 < b.len()
            && b[i + 1] == b'e'
            && matches!(c, b'a' | b'o' | b'u')
            && !after_vowel_or_q
        {
            out.push(c as char);
            i += 2;
        } else {
            let ch = w[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    *w = out;
}

fn folded(word: &str) -> String {
    let mut s = String::with_capacity(word.len());
    fold_into(word, &mut s);
    fold_digraphs(&mut s);
    s
}

/// [`folded`] into a reused buffer: the analysis runs for every word of every item.
fn folded_into(word: &str, out: &mut String) {
    out.clear();
    if word.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.extend(word.bytes().map(|b| b.to_ascii_lowercase() as char));
    } else {
        fold_into(word, out);
    }
    fold_digraphs(out);
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

/// German stop words (the Snowball list) and news filler, in folded form.
static STOP_WORDS: LazyLock<Set<String>> = LazyLock::new(|| {
    const WORDS: &str = "aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm andern anders auch auf aus bei beim bin bis bist da dabei damit dann der den des dem die das dass daß du dies diese diesem diesen dieser dieses doch dort durch ein eine einem einen einer eines einig einige einigem einigen einiger einiges einmal er ihn ihm es etwas euer eure eurem euren eurer eures für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich mich mir ihr ihre ihrem ihren ihrer ihres euch im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines können könnte machen man manche manchem manchen mancher manches mein meine meinem meinen meiner meines mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich sie ihnen sind so solche solchem solchen solcher solches soll sollte sondern sonst über um und uns unsere unserem unseren unser unseres unter viel vom von vor während war waren warst was weg weil weiter welche welchem welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwischen \
        wurde wurden worden sei seien seit gibt geht ab sowie bereits rund etwa mehr neu neue neuen neuer neues neuem heute gestern morgen uhr wegen denn ganz gut erst ersten erste erster beiden \
        sollen sollten können konnte konnten müssen mussten dürfen darf möchte hatte schon immer insgesamt dafür dazu davon darüber darauf daran dadurch hierzu deren dessen denen wer wem wen viele vielen weitere weiteren weiterer weiteres ans aufs durchs übers unters laut sagt sagte erklärt erklärte heißt hieß sowohl bzw ca dr je weiterlesen";
    WORDS.split_whitespace().map(folded).collect()
});

/// Spelled-out numbers, which German style guides prefer up to twelve.
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("zwei", "2"),
    ("drei", "3"),
    ("vier", "4"),
    ("funf", "5"),
    ("sechs", "6"),
    ("sieben", "7"),
    ("acht", "8"),
    ("neun", "9"),
    ("zehn", "10"),
    ("elf", "11"),
    ("zwolf", "12"),
    ("zwanzig", "20"),
    ("dreissig", "30"),
    ("vierzig", "40"),
    ("funfzig", "50"),
    ("hundert", "100"),
    ("tausend", "1000"),
];

/// Abbreviations and symbols written out, so "Mio." and "Millionen" agree.
const SYNONYMS: &[(&str, &str)] = &[
    ("mio", "millionen"),
    ("mrd", "milliarden"),
    ("tsd", "tausend"),
    ("mw", "megawatt"),
    ("mwh", "megawattstunden"),
    ("kw", "kilowatt"),
    ("kwh", "kilowattstunden"),
    ("gw", "gigawatt"),
    ("gwh", "gigawattstunden"),
    ("eur", "euro"),
    ("proz", "prozent"),
    ("km", "kilometer"),
    ("ha", "hektar"),
];

/// Month names and their abbreviations, folded.
const MONTHS: &[(&str, u8)] = &[
    ("januar", 1),
    ("jan", 1),
    ("janner", 1),
    ("februar", 2),
    ("feb", 2),
    ("marz", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("mai", 5),
    ("juni", 6),
    ("jun", 6),
    ("juli", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("oktober", 10),
    ("okt", 10),
    ("november", 11),
    ("nov", 11),
    ("dezember", 12),
    ("dez", 12),
];

/// What a folded word is to the analysis, in one lookup per word.
#[derive(Debug, Clone, Copy)]
enum Lex {
    Stop,
    Synonym(&'static str),
    Number(&'static str),
    Month(u8),
}

static LEXICON: LazyLock<Map<String, Lex>> = LazyLock::new(|| {
    let mut m: Map<String, Lex> = Map::default();
    // Later entries win: a synonym before a number word before a month before a stop word.
    for w in STOP_WORDS.iter() {
        m.insert(w.clone(), Lex::Stop);
    }
    for &(w, n) in MONTHS {
        m.insert(w.to_string(), Lex::Month(n));
    }
    for &(w, n) in NUMBER_WORDS {
        m.insert(w.to_string(), Lex::Number(n));
    }
    for &(w, to) in SYNONYMS {
        m.insert(w.to_string(), Lex::Synonym(to));
    }
    m
});

/// Stems of units whose numbers are not compared: reports of one news count
/// durations and times differently ("drei Jahre", "seit 2019", "ab 20 Uhr").
const UNCOMPARED_UNITS: &[&str] = &[
    "jahr", "monat", "woch", "tag", "stund", "minut", "uhr", "mal", "seit", "folg",
];

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

const MONTH_TERMS: [&str; 12] = [
    "januar",
    "februar",
    "marz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
];

// ---------------------------------------------------------------------------
// Comparing two signatures.
// ---------------------------------------------------------------------------

/// Whether two items state facts that cannot both be the same news.
pub fn contradicts(a: &Signature, b: &Signature) -> bool {
    let dates_differ =
        !a.dates.is_empty() && !b.dates.is_empty() && !a.dates.iter().any(|d| b.dates.contains(d));
    dates_differ || quantities_differ(&a.quantities, &b.quantities)
}

/// Some unit is counted by both and no count agrees.
fn quantities_differ(a: &[(String, String)], b: &[(String, String)]) -> bool {
    a.iter().any(|(unit, _)| {
        let mine = a.iter().filter(|(u, _)| u == unit).map(|(_, v)| v);
        let theirs: Vec<&String> = b
            .iter()
            .filter(|(u, _)| u == unit)
            .map(|(_, v)| v)
            .collect();
        !theirs.is_empty() && !mine.into_iter().any(|v| theirs.contains(&v))
    })
}

/// The usual smoothed IDF: a term in every item still weighs 1, a term in none ln(1+N)+1.
pub fn idf(df: usize, n: usize) -> f64 {
    ((1.0 + n as f64) / (1.0 + df as f64)).ln() + 1.0
}

/// A term is specific when few items carry it: at most a tenth of a small
/// store, at most √N items of a large one (N items cover on the order of √N
/// subjects, as vocabularies grow with √N by Heaps' law, so a word in more
/// items than that recurs across subjects), and at least three, so that a
/// story of four reports keeps its specific terms in a small store.
fn is_specific(df: usize, n: usize) -> bool {
    df <= (n / 10).min(n.isqrt()).max(3)
}

// ---------------------------------------------------------------------------
// The candidate index.
// ---------------------------------------------------------------------------

/// Document frequencies whose IDF a query precomputes.
const IDF_MEMO: usize = 64;

/// Postings looked at for one new item, at most (see `best_story`).
const PROBE_BUDGET: usize = 4096;

/// One term's items by day. Most terms are rare: a sorted Vec is compact and
/// fast. A long list moves to a B-tree, so that inserting an item dated in
/// the middle (a partner's backlog) costs O(log n), not a shift of the list.
/// A term in more than [`PROBE_BUDGET`] items is never looked up (it cannot
/// be specific in a store of fewer than PROBE_BUDGET² ≈ 16 million items),
/// so only its count is kept.
///
/// A posting (day, item) is packed into 8 bytes, ordered by day then item:
/// the index holds every stored item's terms, and 16-byte tuples were most
/// of its memory. Items are SQLite row ids, which stay below 2³² here.
#[derive(Debug)]
enum Postings {
    Short(Vec<u64>),
    Long(std::collections::BTreeSet<u64>),
    Count(usize),
}

/// Packs (day, item) so that integer order is (day, item) order; `None` for
/// an item id that does not fit (never indexed).
fn pack(day: i32, item: i64) -> Option<u64> {
    let item = u32::try_from(item).ok()?;
    // Flipping the sign bit maps i32 order onto u32 order.
    Some((u64::from(day as u32 ^ 0x8000_0000) << 32) | u64::from(item))
}

fn unpack_item(p: u64) -> i64 {
    i64::from(p as u32)
}

fn day_start(day: i32) -> u64 {
    u64::from(day as u32 ^ 0x8000_0000) << 32
}

impl Default for Postings {
    fn default() -> Self {
        Postings::Short(Vec::new())
    }
}

const SHORT_POSTINGS: usize = 256;

impl Postings {
    fn len(&self) -> usize {
        match self {
            Postings::Short(v) => v.len(),
            Postings::Long(b) => b.len(),
            Postings::Count(n) => *n,
        }
    }

    fn insert(&mut self, (day, item): (i32, i64)) {
        let Some(p) = pack(day, item) else { return };
        match self {
            Postings::Short(v) if v.len() < SHORT_POSTINGS => {
                let at = v.partition_point(|x| *x < p);
                if v.get(at) != Some(&p) {
                    v.insert(at, p);
                }
            }
            Postings::Short(v) => {
                let mut b: std::collections::BTreeSet<_> = v.drain(..).collect();
                b.insert(p);
                *self = Postings::Long(b);
            }
            Postings::Long(b) if b.len() < PROBE_BUDGET => {
                b.insert(p);
            }
            Postings::Long(b) => *self = Postings::Count(b.len() + usize::from(!b.contains(&p))),
            Postings::Count(n) => *n += 1,
        }
    }

    fn remove(&mut self, (day, item): (i32, i64)) {
        let Some(p) = pack(day, item) else { return };
        match self {
            Postings::Short(v) => {
                if let Ok(at) = v.binary_search(&p) {
                    v.remove(at);
                }
            }
            Postings::Long(b) => {
                b.remove(&p);
            }
            Postings::Count(n) => *n = n.saturating_sub(1),
        }
    }

    /// Calls `f` with every item dated `from..=to`.
    fn in_window(&self, from: i32, to: i32, mut f: impl FnMut(i64)) {
        let first = day_start(from);
        // The first posting past the window; none past the last day there is.
        let after = to.checked_add(1).map(day_start);
        match self {
            Postings::Short(v) => {
                let start = v.partition_point(|x| *x < first);
                v[start..]
                    .iter()
                    .take_while(|x| after.is_none_or(|a| **x < a))
                    .for_each(|x| f(unpack_item(*x)));
            }
            Postings::Long(b) => match after {
                Some(a) => b.range(first..a).for_each(|x| f(unpack_item(*x))),
                None => b.range(first..).for_each(|x| f(unpack_item(*x))),
            },
            Postings::Count(_) => {}
        }
    }

    fn shrink_to_fit(&mut self) {
        if let Postings::Short(v) = self {
            v.shrink_to_fit();
        }
    }
}

/// An indexed item.
#[derive(Debug, Clone)]
struct Entry {
    source: u32,
    story: i64,
    day: i32,
    /// Term ids, sorted.
    terms: Box<[u32]>,
    sig_dates: Box<[(u8, u8)]>,
    sig_quantities: Box<[(String, String)]>,
}

impl Entry {
    fn contradicts(&self, sig: &Signature) -> bool {
        let dates_differ = !self.sig_dates.is_empty()
            && !sig.dates.is_empty()
            && !self.sig_dates.iter().any(|d| sig.dates.contains(d));
        dates_differ || quantities_differ(&self.sig_quantities, &sig.quantities)
    }
}

/// The story a new item should join.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub story: i64,
    /// The member it resembles most.
    pub item: i64,
    pub similarity: f64,
    pub shared_terms: usize,
}

/// Every stored item's signature, by term and day, for finding candidates.
/// Items are keyed by their database row id; stories by theirs.
#[derive(Debug, Default)]
pub struct StoryIndex {
    vocab: Map<Box<str>, u32>,
    /// Per term id: (day, item) sorted; its length is the term's document frequency.
    postings: Vec<Postings>,
    /// Per term id: whether it is a number.
    numeric: Vec<bool>,
    items: Map<i64, Entry>,
    stories: Map<i64, Vec<i64>>,
    sources: Map<Box<str>, u32>,
}

impl StoryIndex {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn source_id(&mut self, source: &str) -> u32 {
        let next = self.sources.len() as u32;
        *self.sources.entry(source.into()).or_insert(next)
    }

    fn term_id(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.vocab.get(term) {
            return id;
        }
        let id = self.postings.len() as u32;
        self.vocab.insert(term.into(), id);
        self.postings.push(Postings::default());
        self.numeric.push(term.starts_with('#'));
        id
    }

    fn df(&self, term: u32) -> usize {
        self.postings[term as usize].len()
    }

    /// Adds (or replaces) an item.
    pub fn insert(&mut self, item: i64, source: &str, story: i64, day: i32, sig: &Signature) {
        self.remove(item);
        let source = self.source_id(source);
        let mut terms: Vec<u32> = sig.terms.iter().map(|t| self.term_id(t)).collect();
        terms.sort_unstable();
        terms.dedup();
        for &t in &terms {
            self.postings[t as usize].insert((day, item));
        }
        self.items.insert(
            item,
            Entry {
                source,
                story,
                day,
                terms: terms.into(),
                sig_dates: sig.dates.clone().into(),
                sig_quantities: sig.quantities.clone().into(),
            },
        );
        self.stories.entry(story).or_default().push(item);
    }

    /// Forgets an item (deleted, or about to be re-inserted).
    pub fn remove(&mut self, item: i64) {
        let Some(e) = self.items.remove(&item) else {
            return;
        };
        for &t in e.terms.iter() {
            self.postings[t as usize].remove((e.day, item));
        }
        if let Some(members) = self.stories.get_mut(&e.story) {
            members.retain(|m| *m != item);
            if members.is_empty() {
                self.stories.remove(&e.story);
            }
        }
    }

    /// Gives back what growing one item at a time over-allocated: after a bulk load.
    pub fn shrink_to_fit(&mut self) {
        self.postings.iter_mut().for_each(Postings::shrink_to_fit);
        self.postings.shrink_to_fit();
        self.numeric.shrink_to_fit();
        self.items.shrink_to_fit();
        self.stories
            .values_mut()
            .for_each(|members| members.shrink_to_fit());
    }

    /// The story of an indexed item.
    pub fn story_of(&self, item: i64) -> Option<i64> {
        self.items.get(&item).map(|e| e.story)
    }

    /// The most similar story that a new item of `source`, dated `day`, may
    /// join under `rules`; stories in `excluded` are skipped.
    pub fn best_story(
        &self,
        source: &str,
        day: i32,
        sig: &Signature,
        rules: &Rules,
        excluded: &HashSet<i64>,
    ) -> Option<Match> {
        if !rules.enabled || self.items.is_empty() {
            return None;
        }
        let n = self.items.len();
        let own_source = self.sources.get(source).copied();
        let window = rules.window_days as i32;
        let ids: Vec<Option<u32>> = sig
            .terms
            .iter()
            .map(|t| self.vocab.get(t.as_str()).copied())
            .collect();
        // Squared IDF by document frequency, computed once per query for the
        // rare terms that make up most of every comparison.
        let small: Vec<f64> = (0..IDF_MEMO).map(|df| idf(df, n).powi(2)).collect();
        let weight2 = |t: Option<u32>| {
            let df = t.map(|t| self.df(t)).unwrap_or(0);
            small.get(df).copied().unwrap_or_else(|| idf(df, n).powi(2))
        };
        let weight = |t: Option<u32>| weight2(t).sqrt();
        let own_norm: f64 = ids.iter().map(|&t| weight2(t)).sum::<f64>().sqrt();
        let mut own: Vec<u32> = ids.iter().flatten().copied().collect();
        own.sort_unstable();

        // Prefix filtering (Bayardo et al. 2007): an item sharing only terms of
        // the lightest tail cannot reach min_similarity when the tail's weight
        // is below it (Cauchy-Schwarz), so only the heavier, rarer terms are
        // looked up; the tail is where the long posting lists of common words
        // are. The tail is kept to half the threshold, so that the weight a
        // candidate shares among the looked-up terms bounds its cosine tightly.
        let mut by_weight: Vec<(u32, f64)> = own.iter().map(|&t| (t, weight(Some(t)))).collect();
        by_weight.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let (mut tail, mut probe) = (0.0, by_weight.len());
        while probe > 0 {
            let w2 = by_weight[probe - 1].1.powi(2);
            if ((tail + w2).sqrt() / own_norm) >= rules.min_similarity / 2.0 {
                break;
            }
            tail += w2;
            probe -= 1;
        }
        // Candidates: items in the window sharing at least two specific probed
        // terms, with the weight they share; terms not looked up (the tail and
        // background words) count as if shared, to bound the cosine from above.
        // Rarest first, and at most PROBE_BUDGET postings in all: should even
        // an item's rarest words fill the window (a store of near-identical
        // texts), further lookups would only find more of the same.
        let mut unprobed = tail;
        let mut scanned = 0;
        let mut candidates: Map<i64, (u32, u32, f64)> = Map::default();
        for &(t, w) in &by_weight[..probe] {
            let word = u32::from(!self.numeric[t as usize]);
            let list = &self.postings[t as usize];
            if !is_specific(list.len(), n) || scanned >= PROBE_BUDGET {
                unprobed += w * w;
                continue;
            }
            list.in_window(day - window, day + window, |item| {
                scanned += 1;
                let c = candidates.entry(item).or_default();
                c.0 += 1;
                c.1 += word;
                c.2 += w * w;
            });
        }

        let mut best: Option<Match> = None;
        // Numbers confirm a match but do not make one: at least one of the
        // shared specific terms is a word (a name, a place, a thing).
        for (&item, &(count, words, mass)) in &candidates {
            if count < 2 || words < 1 || (mass + unprobed).sqrt() / own_norm < rules.min_similarity
            {
                continue;
            }
            let e = &self.items[&item];
            if Some(e.source) == own_source || excluded.contains(&e.story) {
                continue;
            }
            let (mut dot, mut shared) = (0.0, 0usize);
            let (mut i, mut j) = (0, 0);
            while i < own.len() && j < e.terms.len() {
                match own[i].cmp(&e.terms[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        dot += weight2(Some(own[i]));
                        shared += 1;
                        i += 1;
                        j += 1;
                    }
                }
            }
            if shared < rules.min_shared_terms {
                continue;
            }
            let other_norm: f64 = e
                .terms
                .iter()
                .map(|&t| weight2(Some(t)))
                .sum::<f64>()
                .sqrt();
            let similarity = dot / (own_norm * other_norm);
            if similarity < rules.min_similarity || e.contradicts(sig) {
                continue;
            }
            let better = best.as_ref().is_none_or(|b| {
                similarity > b.similarity
                    || (similarity == b.similarity && (e.story, item) < (b.story, b.item))
            });
            if better && self.story_admits(e.story, own_source, day, sig, window) {
                best = Some(Match {
                    story: e.story,
                    item,
                    similarity,
                    shared_terms: shared,
                });
            }
        }
        best
    }

    /// A story admits a new item when it has no item of the same source,
    /// stays within the window and no member contradicts the new item.
    fn story_admits(
        &self,
        story: i64,
        source: Option<u32>,
        day: i32,
        sig: &Signature,
        window: i32,
    ) -> bool {
        let Some(members) = self.stories.get(&story) else {
            return false;
        };
        let (mut lo, mut hi) = (day, day);
        for m in members {
            let e = &self.items[m];
            if Some(e.source) == source || e.contradicts(sig) {
                return false;
            }
            lo = lo.min(e.day);
            hi = hi.max(e.day);
        }
        hi - lo <= window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn contradictions_need_both_sides_to_speak() {
        let a = Signature::of("Sperrung am 19. Juni", "");
        let b = Signature::of("Sperrung am 3. Juli", "");
        let c = Signature::of("Sperrung am Wochenende", "");
        assert!(contradicts(&a, &b));
        assert!(!contradicts(&a, &c));
        let four = Signature::of("Vier neue Ladesäulen", "");
        let six = Signature::of("6 Ladesäulen", "");
        let six_and_more = Signature::of("sechs Ladesäulen und 10 Ladesäulen", "");
        assert!(contradicts(&four, &six));
        assert!(!contradicts(&six, &six_and_more));
    }

    #[test]
    fn signatures_round_trip_through_their_stored_form() {
        let s = Signature::of(
            "Übergabe: 6.412 Unterschriften am 15. Oktober",
            "Petition für Kleinmühlen, 7,8 Mio. €.",
        );
        let line = s.encode();
        assert!(line.starts_with("s1|"), "{line}");
        assert_eq!(Signature::decode(&line), Some(s));
        assert_eq!(Signature::decode("s0|a b||"), None);
        assert_eq!(Signature::decode("garbage"), None);
    }

    #[test]
    fn idf_weighs_rare_terms_more() {
        assert!(idf(1, 100) > idf(10, 100));
        assert!((idf(100, 100) - 1.0).abs() < 0.01);
    }

    fn background(ix: &mut StoryIndex, from: i64) {
        // Thirty unrelated items make "lausitz" background, as in a real store.
        for i in 0..30 {
            let sig = Signature::of(
                &format!("Meldung {i} aus der Lausitz"),
                &format!("Thema{i} Ort{i} Sache{i} Lausitz"),
            );
            ix.insert(
                from + i,
                &format!("bg{}", i % 5),
                from + i,
                100 + (i as i32 % 40),
                &sig,
            );
        }
    }

    const A_TITLE: &str = "Größter Batteriespeicher der Lausitz geht ans Netz";
    const A_TEXT: &str = "In Schwarze Pumpe hat der Batteriespeicher mit 100 Megawatt den Betrieb aufgenommen. 120 Millionen Euro wurden investiert.";
    const B_TITLE: &str = "Schwarze Pumpe: Großbatteriespeicher in Betrieb";
    const B_TEXT: &str = "Der Batteriespeicher in Schwarze Pumpe ist gestartet: 100 MW Leistung, 120 Mio. Euro Kosten.";

    #[test]
    fn a_cross_post_joins_and_the_same_source_never_does() {
        let mut ix = StoryIndex::default();
        background(&mut ix, 1000);
        let rules = Rules::default();
        ix.insert(1, "verein", 10, 120, &Signature::of(A_TITLE, A_TEXT));
        let b = Signature::of(B_TITLE, B_TEXT);
        let m = ix
            .best_story("zeitung", 121, &b, &rules, &HashSet::new())
            .expect("cross-post matches");
        assert_eq!((m.story, m.item), (10, 1));
        assert!(m.similarity >= rules.min_similarity, "{m:?}");
        assert_eq!(
            ix.best_story("verein", 121, &b, &rules, &HashSet::new()),
            None,
            "same source"
        );
        assert_eq!(
            ix.best_story("zeitung", 121 + 5, &b, &rules, &HashSet::new()),
            None,
            "outside the window"
        );
        let excluded: HashSet<i64> = [10].into();
        assert_eq!(
            ix.best_story("zeitung", 121, &b, &rules, &excluded),
            None,
            "story already taken by this batch"
        );
        let off = Rules {
            enabled: false,
            ..Rules::default()
        };
        assert_eq!(
            ix.best_story("zeitung", 121, &b, &off, &HashSet::new()),
            None
        );
    }

    #[test]
    fn a_story_with_an_item_of_the_source_is_closed_to_it() {
        let mut ix = StoryIndex::default();
        background(&mut ix, 1000);
        ix.insert(1, "verein", 10, 120, &Signature::of(A_TITLE, A_TEXT));
        ix.insert(
            2,
            "zeitung",
            10,
            120,
            &Signature::of("Anderes", "Ganz andere Nachricht über Kleingärten"),
        );
        let b = Signature::of(B_TITLE, B_TEXT);
        assert_eq!(
            ix.best_story("zeitung", 121, &b, &Rules::default(), &HashSet::new()),
            None
        );
    }

    #[test]
    fn a_story_stays_within_its_window() {
        let mut ix = StoryIndex::default();
        background(&mut ix, 1000);
        ix.insert(1, "verein", 10, 120, &Signature::of(A_TITLE, A_TEXT));
        ix.insert(2, "radio", 10, 123, &Signature::of(B_TITLE, B_TEXT));
        // Within 4 days of the radio item but 5 after the first report.
        let late = Signature::of(
            "Batteriespeicher Schwarze Pumpe am Netz",
            "100 Megawatt, 120 Millionen Euro, Batteriespeicher in Betrieb.",
        );
        assert_eq!(
            ix.best_story("zeitung", 125, &late, &Rules::default(), &HashSet::new()),
            None
        );
        assert!(
            ix.best_story("zeitung", 124, &late, &Rules::default(), &HashSet::new())
                .is_some()
        );
    }

    #[test]
    fn an_item_like_two_stories_joins_only_the_closer_one() {
        let mut ix = StoryIndex::default();
        background(&mut ix, 1000);
        ix.insert(1, "verein", 10, 120, &Signature::of(A_TITLE, A_TEXT));
        ix.insert(2, "radio", 20, 120, &Signature::of("Batteriespeicher Schwarze Pumpe", "Der Batteriespeicher mit 100 Megawatt in Schwarze Pumpe kostet 120 Millionen Euro und speichert Windstrom."));
        let m = ix
            .best_story(
                "zeitung",
                120,
                &Signature::of(B_TITLE, B_TEXT),
                &Rules::default(),
                &HashSet::new(),
            )
            .unwrap();
        assert!(m.story == 10 || m.story == 20);
        // The index never moves the other story's item.
        assert_eq!(ix.story_of(1), Some(10));
        assert_eq!(ix.story_of(2), Some(20));
    }

    #[test]
    fn contradicting_numbers_or_dates_keep_look_alikes_apart() {
        let mut ix = StoryIndex::default();
        background(&mut ix, 1000);
        ix.insert(1, "forst", 10, 120, &Signature::of("Sechs neue Ladesäulen in Forst", "Die Stadtwerke haben sechs neue Ladesäulen mit je 22 Kilowatt in Betrieb genommen. Geladen wird mit Ökostrom, bezahlt per Karte oder App."));
        let guben = Signature::of(
            "Vier neue Ladesäulen in Guben",
            "Vier neue Ladesäulen mit je 22 Kilowatt haben die Stadtwerke in Betrieb genommen. Geladen wird mit Ökostrom, bezahlt per Karte oder App.",
        );
        assert_eq!(
            ix.best_story("guben", 121, &guben, &Rules::default(), &HashSet::new()),
            None
        );
        let forst_again = Signature::of(
            "Forst: sechs Ladesäulen eröffnet",
            "Sechs Ladesäulen mit je 22 Kilowatt haben die Stadtwerke in Betrieb genommen, Ökostrom, Karte oder App.",
        );
        assert!(
            ix.best_story(
                "zeitung",
                121,
                &forst_again,
                &Rules::default(),
                &HashSet::new()
            )
            .is_some()
        );
    }

    #[test]
    fn postings_answer_windows_before_and_after_growing_long() {
        let mut p = Postings::default();
        // A backlog arrives newest first, then in the middle.
        for i in (0..300i64).rev() {
            p.insert(((i % 50) as i32, i));
        }
        p.insert((7, 7));
        assert!(matches!(p, Postings::Long(_)));
        assert_eq!(p.len(), 300);
        let mut seen = Vec::new();
        p.in_window(10, 11, |i| seen.push(i));
        seen.sort_unstable();
        assert_eq!(
            seen,
            vec![10, 11, 60, 61, 110, 111, 160, 161, 210, 211, 260, 261]
        );
        p.remove((10, 60));
        let mut again = Vec::new();
        p.in_window(10, 10, |i| again.push(i));
        assert_eq!(again.len(), 5);
        let mut huge = Postings::default();
        for i in 0..=PROBE_BUDGET as i64 {
            huge.insert((0, i));
        }
        assert!(matches!(huge, Postings::Count(_)));
        assert_eq!(huge.len(), PROBE_BUDGET + 1);
        huge.remove((0, 3));
        assert_eq!(huge.len(), PROBE_BUDGET);
        let mut short = Postings::default();
        short.insert((5, 1));
        short.insert((3, 2));
        short.insert((5, 1));
        let mut s = Vec::new();
        short.in_window(0, 4, |i| s.push(i));
        assert_eq!((short.len(), s), (2, vec![2]));
    }

    #[test]
    fn packed_postings_keep_day_order_across_zero_and_skip_ids_beyond_u32() {
        let mut p = Postings::default();
        for (day, item) in [
            (3, 1),
            (-2, 9),
            (0, 4),
            (-2, 2),
            (i32::MAX, 5),
            (i32::MIN, 6),
        ] {
            p.insert((day, item));
        }
        p.insert((1, i64::from(u32::MAX) + 1));
        p.insert((1, -1));
        assert_eq!(p.len(), 6, "ids that do not fit are not indexed");
        let mut seen = Vec::new();
        p.in_window(-2, 0, |i| seen.push(i));
        assert_eq!(seen, vec![2, 9, 4]);
        let mut edges = Vec::new();
        p.in_window(i32::MIN, i32::MIN, |i| edges.push(i));
        p.in_window(4, i32::MAX, |i| edges.push(i));
        assert_eq!(edges, vec![6, 5]);
    }

    #[test]
    fn removing_items_updates_frequencies_and_stories() {
        let mut ix = StoryIndex::default();
        ix.insert(1, "a", 10, 1, &Signature::of("Kleinmühlen Petition", ""));
        ix.insert(2, "b", 10, 1, &Signature::of("Kleinmühlen Halt", ""));
        let t = ix.vocab["kleinmuhl"];
        assert_eq!(ix.df(t), 2);
        ix.remove(1);
        assert_eq!(ix.df(t), 1);
        assert_eq!(ix.stories[&10], vec![2]);
        ix.remove(2);
        assert!(ix.stories.is_empty() && ix.is_empty());
        // Re-inserting replaces.
        ix.insert(3, "a", 11, 1, &Signature::of("X Y Z", ""));
        ix.insert(3, "a", 12, 2, &Signature::of("X Y Z", ""));
        assert_eq!(ix.len(), 1);
        assert_eq!(ix.story_of(3), Some(12));
    }
}
