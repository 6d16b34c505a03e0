//! Text → signature: an item's title and lead reduced to content terms
//! (folded, stop words dropped, stemmed by CISTEM, numbers written one way),
//! the calendar dates it names and the quantities it states.

use std::borrow::Cow;
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::LazyLock;

use hashbrown::HashTable;
use regex::Regex;

use super::fold::folded_into;
use super::gazetteer::{self, MAX_WORDS};
use super::lexicon::{
    LEXICON, Lex, MONTH_TERMS, NAME_ROLE_NOUNS, NAME_SLOT_PREPOSITIONS, NOT_NAME_SUFFIXES,
    NOT_NAMES, UNCOMPARED_UNITS,
};
use super::tokens::{Raw, Sep, raw_tokens};
use super::{Facts, Signature, Terms};

/// Term `id`'s text in an analysis's term buffer.
fn span_of<'a>(text: &'a str, spans: &[(u32, u32)], id: u32) -> &'a str {
    let (from, to) = spans[id as usize];
    &text[from as usize..to as usize]
}

/// Words of the text analysed: news is written as an inverted pyramid, so the
/// facts that make two reports one news stand in the title and the lead (about
/// the first 150 words); later paragraphs add background and quotes that
/// differ between outlets. It also bounds the work per item.
const LEAD_TOKENS: usize = 150;

/// Words of the text, after the title, where the key name may stand: the
/// first sentence, where a report says where it happened.
const NAME_LEAD_WORDS: usize = 20;

thread_local! {
    /// Each thread's analysis, emptied after every item: its lists and
    /// tables keep their memory, so that they grow to an item's size once
    /// per thread instead of once per item.
    static ANALYSIS: RefCell<Analysis> = RefCell::default();
}

/// Analyses an item's title and plain text.
pub(super) fn signature(title: &str, text: &str) -> Signature {
    let text = strip_boilerplate(text);
    let mut a = ANALYSIS.with_borrow_mut(std::mem::take);
    a.in_title = true;
    a.run(title, usize::MAX);
    a.boundary();
    a.in_title = false;
    a.run(&text, LEAD_TOKENS);
    let (places, key_places) = a.places();
    let (title_names, lead_roles, lead_names) = a.names();
    // The key name: a naming slot in the title, else the work or event the
    // title quotes („Die Zauberflöte“), else a role noun's name in the lead
    // ("die Stadt Neuwerda"): these are strong; else a name after a
    // preposition in the lead, which may still be a plural noun ("aus
    // Bergbaufolgeflächen") and is only compared with another name.
    let strong = title_names
        .into_iter()
        .next()
        .or_else(|| quoted_name(title))
        .or_else(|| lead_roles.into_iter().next());
    let key_name_strong = strong.is_some();
    let key_name = strong.or_else(|| lead_names.into_iter().next());
    let terms = a.sorted_terms();
    let mut dates = std::mem::take(&mut a.dates);
    dates.sort_unstable();
    dates.dedup();
    let mut quantities = std::mem::take(&mut a.quantities);
    sort_pairs(&mut quantities);
    quantities.dedup();
    let mut title_numbers = std::mem::take(&mut a.title_numbers);
    title_numbers.sort_unstable();
    title_numbers.dedup();
    a.clear();
    // An outsized item (a title of thousands of words) does not keep its
    // memory for the thread's lifetime.
    if a.arena.capacity() <= KEPT_ARENA {
        ANALYSIS.with_borrow_mut(|kept| *kept = a);
    }
    Signature {
        terms,
        facts: Facts {
            dates,
            quantities,
            places,
            key_places,
            key_name,
            key_name_strong,
            title_numbers,
        },
    }
}

/// The first eight bytes of a string as a number that sorts as the strings
/// do, as far as those bytes tell (analysed text holds no NUL).
fn prefix_key(s: &str) -> u64 {
    let mut key = [0u8; 8];
    let n = s.len().min(8);
    key[..n].copy_from_slice(&s.as_bytes()[..n]);
    u64::from_be_bytes(key)
}

/// Sorts pairs of strings (quantities: unit, number) as `sort_unstable`
/// would, comparing the strings' first eight bytes as integers first: a
/// text with dozens of sums made their string comparisons a noticeable part
/// of the analysis.
fn sort_pairs(v: &mut Vec<(String, String)>) {
    if v.len() < 2 {
        return;
    }
    let mut order: Vec<(u64, u64, u32)> = v
        .iter()
        .enumerate()
        .map(|(i, (a, b))| (prefix_key(a), prefix_key(b), i as u32))
        .collect();
    order.sort_unstable_by(|x, y| {
        let (a, b) = (&v[x.2 as usize], &v[y.2 as usize]);
        x.0.cmp(&y.0)
            .then_with(|| a.0.cmp(&b.0))
            .then(x.1.cmp(&y.1))
            .then_with(|| a.1.cmp(&b.1))
    });
    let mut taken: Vec<Option<(String, String)>> = v.drain(..).map(Some).collect();
    v.extend(order.iter().filter_map(|&(.., i)| taken[i as usize].take()));
}

/// Bytes of folded words a thread's analysis keeps between items, at most.
const KEPT_ARENA: usize = 1 << 16;

/// The first content word of a quotation in a title (a play, an event, a
/// project: „Die Zauberflöte“ → "zauberflot"), stemmed like every term.
fn quoted_name(title: &str) -> Option<String> {
    let open = title.find(['„', '“', '"', '»', '«'])?;
    let rest = &title[open..];
    let rest = &rest[rest.chars().next()?.len_utf8()..];
    let end = rest.find(['“', '”', '"', '«', '»']).unwrap_or(rest.len());
    let mut buf = String::new();
    rest[..end]
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
        .find_map(|w| {
            folded_into(w, &mut buf);
            let stop = matches!(LEXICON.get(buf.as_str()), Some(Lex::Stop));
            (!stop && buf.len() >= 3).then(|| cistem(&buf, true))
        })
}

/// The zeros a sum counted in this unit (a stem) has in euro: millions
/// and billions are compared as amounts of money (`geld`).
pub(super) fn euro_zeros(unit: &str) -> Option<usize> {
    match unit {
        "millio" => Some(6),
        "milliard" => Some(9),
        _ => None,
    }
}

/// Scales a canonical decimal number by 10^`zeros` ("7.8", 6 → "7800000")
/// without floating-point rounding.
pub(super) fn scaled(n: &str, zeros: usize) -> String {
    let mut out = String::with_capacity(n.len() + zeros);
    push_scaled(n, zeros, &mut out);
    out
}

/// [`scaled`] appended to `out`.
pub(super) fn push_scaled(n: &str, zeros: usize, out: &mut String) {
    // A whole number (most sums): its digits and the zeros, as
    // `canonical_number` would write them, without building them twice.
    if n.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = n.trim_start_matches('0');
        if trimmed.is_empty() {
            out.push('0');
        } else {
            out.push_str(trimmed);
            push_zeros(out, zeros);
        }
        return;
    }
    out.push_str(&scaled_decimal(n, zeros));
}

/// `n` zeros appended to `out`, a run at a time (sums are scaled for
/// every stored item).
fn push_zeros(out: &mut String, mut n: usize) {
    const ZEROS: &str = "0000000000000000";
    while n > 0 {
        let k = n.min(ZEROS.len());
        out.push_str(&ZEROS[..k]);
        n -= k;
    }
}

/// [`scaled`] of a number with a decimal part.
fn scaled_decimal(n: &str, zeros: usize) -> String {
    let (int, frac) = n.split_once('.').unwrap_or((n, ""));
    let mut digits = format!("{int}{frac}");
    if frac.len() <= zeros {
        digits.extend(std::iter::repeat_n('0', zeros - frac.len()));
    } else {
        digits.insert(int.len() + zeros, '.');
    }
    canonical_number(&digits)
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
    let mut out = String::new();
    cistem_into(word, noun, &mut out);
    out
}

/// [`cistem`] into a reused buffer.
fn cistem_into(word: &str, noun: bool, out: &mut String) {
    out.clear();
    if !word.is_ascii() || word.len() < 4 {
        out.push_str(word);
        return;
    }
    let mut w = word.as_bytes();
    if w.len() >= 6 && w.starts_with(b"ge") {
        w = &w[2..];
    }
    // The stem is built in place on the stack (it is never longer than the
    // word): this runs for every word of every item.
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if w.len() <= stack.len() {
        &mut stack[..w.len()]
    } else {
        heap.resize(w.len(), 0);
        &mut heap[..]
    };
    let mut n = 0;
    let mut i = 0;
    let at = |i: usize| w.get(i).copied().unwrap_or(0);
    while i < w.len() {
        let (c, len) = if w[i] == b's' && at(i + 1) == b'c' && at(i + 2) == b'h' {
            (b'$', 3)
        } else if w[i] == b'e' && at(i + 1) == b'i' {
            (b'%', 2)
        } else if w[i] == b'i' && at(i + 1) == b'e' {
            (b'&', 2)
        } else {
            (w[i], 1)
        };
        buf[n] = c;
        n += 1;
        i += len;
    }
    for i in 1..n {
        if buf[i] == buf[i - 1] {
            buf[i] = b'*';
        }
    }
    while n > 3 {
        let s = &buf[..n];
        if n > 5 && (s.ends_with(b"em") || s.ends_with(b"er") || s.ends_with(b"nd")) {
            n -= 2;
            continue;
        }
        if !noun && s.ends_with(b"t") {
            n -= 1;
            continue;
        }
        if matches!(s.last(), Some(b'e' | b's' | b'n')) {
            n -= 1;
            continue;
        }
        break;
    }
    let s = &buf[..n];
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'*' => out.push(s[i - 1] as char),
            b'$' => out.push_str("sch"),
            b'%' => out.push_str("ei"),
            b'&' => out.push_str("ie"),
            c => out.push(c as char),
        }
    }
}

/// [`canonical_number`] appended to `out`.
fn push_canonical_number(raw: &str, out: &mut String) {
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = raw.trim_start_matches('0');
        out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
    } else {
        out.push_str(&canonical_number(raw));
    }
}

/// A number as one canonical string: "6.412" → "6412", "7,80" → "7.8".
fn canonical_number(raw: &str) -> String {
    // Most numbers are plain digits: only leading zeros to drop.
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = raw.trim_start_matches('0');
        return if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_string()
        };
    }
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

/// A word as it stood in the text, for the passes after the analysis
/// (gazetteer names, proper-noun slots): its folded form in `Analysis::arena`.
struct Word {
    span: (u32, u32),
    /// Written with a capital letter and not the first word of a sentence.
    cap: bool,
    /// The first word of a sentence (or of the title): capitalised anyway.
    sentence_start: bool,
    /// Separated from the word before by a space or hyphen only (one name may continue).
    joined: bool,
    title: bool,
    /// Its term, when it made one (not a stop word).
    term: Option<u32>,
}

#[derive(Default)]
struct Analysis {
    in_title: bool,
    /// Distinct terms, in the order first met, one after the other in one
    /// buffer (kept between items, so that a term costs no allocation); a
    /// word refers to its term by index.
    term_text: String,
    /// Where each term lies in `term_text`.
    term_spans: Vec<(u32, u32)>,
    /// Indexes into `term_spans`, by the term's text.
    term_ids: HashTable<u32>,
    /// Words already stemmed in this item, as (span in `arena`, capitalised,
    /// term): a word met again is neither looked up nor stemmed again.
    stems: HashTable<(u32, u32, bool, u32)>,
    hasher: foldhash::fast::RandomState,
    words: Vec<Word>,
    arena: String,
    title_numbers: Vec<String>,
    dates: Vec<(u8, u8)>,
    quantities: Vec<(String, String)>,
    /// A number waiting for the word it counts, and how many stop words passed since.
    pending: Option<(String, u8)>,
    /// A day number ("10.") that a following month name makes a date.
    day: Option<u8>,
    /// The current word, folded.
    buf: String,
    /// A term being written (a stem, a number).
    term_buf: String,
    /// The terms' sort keys (`sorted_terms`).
    order: Vec<(u64, u32)>,
    /// Words of earlier items and what they were: kept with the analysis
    /// (its hasher's keys), not emptied between items.
    known: KnownWords,
}

/// What a word seen before was, when it was a stop word or made a stem.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Known {
    Stop,
    Stem,
}

/// Bytes of a word, and of its stem, that [`KnownWords`] keeps.
const KNOWN_LEN: usize = 22;

/// Slots of [`KnownWords`]: 2,048 of 56 bytes, 112 KiB per analysing thread.
const KNOWN_SLOTS: usize = 2048;

/// A word of an earlier item: hash, word, capitalised, stop word or stem, stem.
#[derive(Clone, Copy)]
struct KnownSlot {
    hash: u64,
    word_len: u8,
    stem_len: u8,
    noun: bool,
    known: Option<Known>,
    word: [u8; KNOWN_LEN],
    stem: [u8; KNOWN_LEN],
}

/// The folded words of earlier items, each with what the lexicon and the
/// stemmer made of it, in a fixed table (a slot per hash, the last word
/// kept): news vocabulary is Zipf-distributed, so many words of an item
/// were met in recent ones, and a lookup here replaces one or two lexicon
/// lookups and CISTEM (the stemmer alone was a seventh of the analysis of
/// long texts; half of its calls go, BENCHMARKS.md, "Issue 13: matching
/// cost, sixth session"). Both are functions of the folded word and its
/// capitalisation alone, so the terms are the same either way.
#[derive(Default)]
struct KnownWords {
    slots: Vec<KnownSlot>,
}

impl KnownWords {
    /// What `word` (capitalised: `noun`, hashed to `hash`) was; a stem is
    /// written into `stem`.
    fn get(&self, hash: u64, word: &str, noun: bool, stem: &mut String) -> Option<Known> {
        let slot = self.slots.get(hash as usize % KNOWN_SLOTS)?;
        if slot.hash != hash
            || slot.noun != noun
            || slot.word.get(..usize::from(slot.word_len))? != word.as_bytes()
        {
            return None;
        }
        let known = slot.known?;
        if known == Known::Stem {
            stem.clear();
            // Stems are cut from folded words at character boundaries: valid UTF-8.
            stem.push_str(std::str::from_utf8(&slot.stem[..usize::from(slot.stem_len)]).ok()?);
        }
        Some(known)
    }

    /// Remembers what `word` was (a stem when `known` is `Stem`); words or
    /// stems longer than a slot holds are not kept.
    fn put(&mut self, hash: u64, word: &str, noun: bool, known: Known, stem: &str) {
        if word.len() > KNOWN_LEN || stem.len() > KNOWN_LEN {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![
                KnownSlot {
                    hash: 0,
                    word_len: 0,
                    stem_len: 0,
                    noun: false,
                    known: None,
                    word: [0; KNOWN_LEN],
                    stem: [0; KNOWN_LEN],
                };
                KNOWN_SLOTS
            ];
        }
        let slot = &mut self.slots[hash as usize % KNOWN_SLOTS];
        slot.hash = hash;
        slot.noun = noun;
        slot.known = Some(known);
        slot.word_len = word.len() as u8;
        slot.word[..word.len()].copy_from_slice(word.as_bytes());
        slot.stem_len = stem.len() as u8;
        slot.stem[..stem.len()].copy_from_slice(stem.as_bytes());
    }
}

impl Analysis {
    fn boundary(&mut self) {
        self.pending = None;
        self.day = None;
    }

    /// Empties the analysis for the next item, keeping its memory.
    fn clear(&mut self) {
        self.in_title = false;
        self.term_text.clear();
        self.term_spans.clear();
        self.term_ids.clear();
        self.stems.clear();
        self.words.clear();
        self.arena.clear();
        self.title_numbers.clear();
        self.dates.clear();
        self.quantities.clear();
        self.pending = None;
        self.day = None;
    }

    /// The text of term `id`.
    fn term_str(&self, id: u32) -> &str {
        span_of(&self.term_text, &self.term_spans, id)
    }

    /// The index of a term, added when it is new.
    fn term(&mut self, t: &str) -> u32 {
        let Analysis {
            term_text,
            term_spans,
            term_ids,
            hasher,
            ..
        } = self;
        let hash = hasher.hash_one(t);
        if let Some(&id) = term_ids.find(hash, |&id| span_of(term_text, term_spans, id) == t) {
            return id;
        }
        let id = term_spans.len() as u32;
        let start = term_text.len() as u32;
        term_text.push_str(t);
        term_spans.push((start, term_text.len() as u32));
        term_ids.insert_unique(hash, id, |&id| {
            hasher.hash_one(span_of(term_text, term_spans, id))
        });
        id
    }

    /// The terms, sorted (they are unique already). Sorted by
    /// their first eight bytes first, so that most comparisons are one
    /// integer comparison instead of a string comparison; the order is the
    /// strings' order all the same (a shorter string's missing bytes count
    /// as zero, and equal prefixes are compared whole).
    fn sorted_terms(&mut self) -> Terms {
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend((0..self.term_spans.len() as u32).map(|i| (prefix_key(self.term_str(i)), i)));
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| self.term_str(a.1).cmp(self.term_str(b.1)))
        });
        let mut sorted = Terms::with_capacity(self.term_text.len(), order.len());
        for &(_, i) in &order {
            sorted.push(self.term_str(i));
        }
        self.order = order;
        sorted
    }

    /// [`term`](Self::term) of the text in `term_buf`.
    fn term_from_buf(&mut self) -> u32 {
        let t = std::mem::take(&mut self.term_buf);
        let id = self.term(&t);
        self.term_buf = t;
        id
    }

    fn run(&mut self, s: &str, max_tokens: usize) {
        let mut tokens = raw_tokens(s, max_tokens).peekable();
        while let Some((sep, tok)) = tokens.next() {
            if sep >= Sep::Punct {
                self.boundary();
            }
            match tok {
                Raw::Number(n, dot) => {
                    self.number(n, dot);
                }
                Raw::Score(n) => {
                    // A result: two reports of one match or vote state the same.
                    self.boundary();
                    self.term_buf.clear();
                    self.term_buf.push('#');
                    self.term_buf.push_str(n);
                    let id = self.term_from_buf();
                    self.quantities.push(("ergebnis".into(), n.to_string()));
                    if self.in_title {
                        let t = self.term_str(id).to_string();
                        self.title_numbers.push(t);
                    }
                }
                Raw::Symbol(w) => self.word(w, true, Sep::Punct),
                Raw::Word(w) => {
                    // "A 15", "RE 2", "B 168": a road or line name written with a space.
                    let short_caps = w.len() <= 3 && w.chars().all(|c| c.is_ascii_uppercase());
                    if let (true, Some(&(Sep::Space, Raw::Number(n, _)))) =
                        (short_caps, tokens.peek())
                    {
                        if n.len() <= 3 && n.chars().all(|c| c.is_ascii_digit()) {
                            tokens.next();
                            self.boundary();
                            self.term_buf.clear();
                            self.term_buf.push_str(w);
                            self.term_buf.make_ascii_lowercase();
                            self.term_buf.push_str(n);
                            let id = self.term_from_buf();
                            if self.in_title {
                                // A line or road in the headline ("RE 2", "B 169") is what the news is about.
                                let t = self.term_str(id).to_string();
                                self.title_numbers.push(t);
                            }
                            continue;
                        }
                    }
                    let noun = w.chars().next().is_some_and(char::is_uppercase);
                    self.word(w, noun, sep);
                }
            }
        }
    }

    /// Takes in a number; returns its (first) term.
    fn number(&mut self, raw: &str, dot: bool) -> u32 {
        self.day = None;
        let mut parts = raw.split('.');
        let (p0, p1, p2) = (parts.next().unwrap_or(""), parts.next(), parts.next());
        let count = 1 + usize::from(p1.is_some()) + usize::from(p2.is_some()) + parts.count();
        // 13.02.2026, 13.02.26, or 13.02. — a calendar date.
        let date_like = (count == 3 || (count == 2 && dot))
            && p0.len() <= 2
            && p1.is_some_and(|m| m.len() <= 2)
            && p2.is_none_or(|y| y.len() == 2 || y.len() == 4);
        if date_like {
            if let (Ok(d), Some(Ok(m))) = (p0.parse::<u8>(), p1.map(str::parse::<u8>)) {
                if (1..=31).contains(&d) && (1..=12).contains(&m) {
                    self.dates.push((d, m));
                    self.term_buf.clear();
                    self.term_buf.push('#');
                    super::push_u8(&mut self.term_buf, d);
                    let id = self.term_from_buf();
                    self.term(MONTH_TERMS[usize::from(m) - 1]);
                    if let Some(y) = p2.filter(|y| !y.is_empty()) {
                        self.term_buf.clear();
                        self.term_buf.push('#');
                        push_canonical_number(y, &mut self.term_buf);
                        self.term_from_buf();
                    }
                    self.pending = None;
                    return id;
                }
            }
        }
        self.term_buf.clear();
        self.term_buf.push('#');
        push_canonical_number(raw, &mut self.term_buf);
        let id = self.term_from_buf();
        let n = &span_of(&self.term_text, &self.term_spans, id)[1..];
        if dot {
            self.day = n.parse::<u8>().ok().filter(|d| (1..=31).contains(d));
        }
        let counted = !is_year(n) && !dot;
        self.pending = counted.then(|| (n.to_string(), 0));
        if self.in_title && counted {
            let t = self.term_str(id).to_string();
            self.title_numbers.push(t);
        }
        id
    }

    fn word(&mut self, raw: &str, noun: bool, sep: Sep) {
        let mut buf = std::mem::take(&mut self.buf);
        folded_into(raw, &mut buf);
        let start = self.arena.len() as u32;
        self.arena.push_str(&buf);
        let span = (start, self.arena.len() as u32);
        let term = self.folded_word(&buf, span, noun);
        let sentence_start = sep == Sep::Punct;
        self.words.push(Word {
            span,
            cap: noun && !sentence_start,
            sentence_start,
            joined: matches!(sep, Sep::Space | Sep::Hyphen),
            title: self.in_title,
            term,
        });
        self.buf = buf;
    }

    fn folded(&self, w: &Word) -> &str {
        &self.arena[w.span.0 as usize..w.span.1 as usize]
    }

    /// The gazetteer's places named, as `kind:id` sorted, and the key place
    /// of each kind: the one named in the title, else the one named most,
    /// else the first. Names are matched longest first ("Kraftwerk Schwarze
    /// Pumpe" before "Schwarze Pumpe") and start with a capital letter.
    fn places(&self) -> (Vec<String>, Vec<String>) {
        // (place, score, first position)
        let mut found: Vec<(gazetteer::Place, u32, usize)> = Vec::new();
        let mut i = 0;
        let mut key = String::new();
        while i < self.words.len() {
            let first = &self.words[i];
            if !(first.cap || first.sentence_start) {
                i += 1;
                continue;
            }
            let reach = gazetteer::name_words_from(self.folded(first));
            let mut n = 1;
            while n < reach.min(MAX_WORDS) && i + n < self.words.len() && self.words[i + n].joined {
                n += 1;
            }
            let mut hit = None;
            for len in (1..=n.min(reach)).rev() {
                key.clear();
                for (k, w) in self.words[i..i + len].iter().enumerate() {
                    if k > 0 {
                        key.push(' ');
                    }
                    key.push_str(self.folded(w));
                }
                if let Some(p) = gazetteer::lookup(&key) {
                    hit = Some((p, len));
                    break;
                }
            }
            if hit.is_none() {
                hit = gazetteer::lookup_derived(self.folded(first)).map(|p| (p, 1));
            }
            match hit {
                Some((p, len)) => {
                    let score = 1 + 2 * u32::from(first.title);
                    match found.iter_mut().find(|f| f.0.key == p.key) {
                        Some(f) => f.1 += score,
                        None => found.push((p, score, i)),
                    }
                    i += len;
                }
                None => i += 1,
            }
        }
        let mut all: Vec<&str> = found.iter().map(|f| f.0.key).collect();
        all.sort_unstable();
        all.dedup();
        let mut keys: Vec<String> = Vec::new();
        let mut kinds: Vec<&str> = found.iter().map(|f| f.0.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            let best = found
                .iter()
                .filter(|f| f.0.kind == kind)
                .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
                .expect("a place of this kind");
            keys.push(best.0.key.to_string());
        }
        (all.into_iter().map(str::to_string).collect(), keys)
    }

    /// Proper nouns in a naming slot, title first: a capitalised word right
    /// after a preposition of place without article ("in Neuwerda", "aus
    /// Tschechien") or a role noun ("Gemeinde Kleinmühlen", "Bahnhof
    /// Altdorf"). German capitalises every noun; a common noun rarely stands
    /// there without an article, and the lists in `lexicon` catch the set
    /// phrases ("in Betrieb", "nach Angaben"). Places the gazetteer knows
    /// are left to it.
    fn names(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let mut out: Vec<String> = Vec::new();
        let mut roles: Vec<String> = Vec::new();
        let mut lead: Vec<String> = Vec::new();
        let title_words = self.words.iter().take_while(|w| w.title).count();
        // The title and the lead's first words only: later sentences list
        // trades, sectors and partners ("aus Handwerk, Industrie und Pflege").
        let end = self.words.len().min(title_words + NAME_LEAD_WORDS);
        for pair in self.words[..end].windows(2) {
            let (prev, w) = (&pair[0], &pair[1]);
            if !w.cap || !w.joined || w.title != prev.title {
                continue;
            }
            let Some(term) = w.term else { continue };
            let folded = self.folded(w);
            if folded.len() < 3
                || !(NAME_SLOT_PREPOSITIONS.contains(&self.folded(prev))
                    || NAME_ROLE_NOUNS.contains(&self.folded(prev)))
                || NOT_NAMES.contains(&folded)
                || NOT_NAME_SUFFIXES.iter().any(|s| folded.ends_with(s))
                || gazetteer::lookup(folded).is_some()
                || gazetteer::lookup_derived(folded).is_some()
            {
                continue;
            }
            let stem = self.term_str(term);
            let list = if w.title {
                &mut out
            } else if NAME_ROLE_NOUNS.contains(&self.folded(prev)) {
                &mut roles
            } else {
                &mut lead
            };
            if !stem.starts_with('#') && !list.iter().any(|s| s == stem) {
                list.push(stem.to_string());
            }
        }
        // A headline that opens with one word and a colon names what it is
        // about ("Turnow: Feuerwehr löscht Scheune") when the text writes
        // that word capitalised inside a sentence too (a name, not "Endlich:"
        // or "Update:"); after the slots, as it may as well be a topic
        // ("Bauarbeiten: Umleitung in Turnow").
        if let [first, next, ..] = &self.words[..title_words] {
            let word = self.folded(first);
            let recurs = || {
                self.words[1..]
                    .iter()
                    .any(|w| w.cap && self.folded(w) == word)
            };
            if next.sentence_start && recurs() {
                if let Some(stem) = self.name_stem(first).filter(|s| !out.contains(s)) {
                    out.push(stem);
                }
            }
        }
        (out, roles, lead)
    }

    /// The term of a word that may be a name (a headline's first word is
    /// capitalised anyway): a term, not a word of the lists that look like
    /// names, not a place the gazetteer knows.
    fn name_stem(&self, w: &Word) -> Option<String> {
        let folded = self.folded(w);
        let stem = self.term_str(w.term?);
        (folded.len() >= 3
            && !stem.starts_with('#')
            && !NOT_NAMES.contains(&folded)
            && !NOT_NAME_SUFFIXES.iter().any(|s| folded.ends_with(s))
            && gazetteer::lookup(folded).is_none()
            && gazetteer::lookup_derived(folded).is_none())
        .then(|| stem.to_string())
    }

    /// Takes in a folded word (at `span` in the arena); returns the term it
    /// made, if any.
    fn folded_word(&mut self, folded: &str, span: (u32, u32), noun: bool) -> Option<u32> {
        let key = self.hasher.hash_one((folded, noun));
        let arena = &self.arena;
        if let Some(&(.., term)) = self.stems.find(key, |&(from, to, n, _)| {
            n == noun && &arena[from as usize..to as usize] == folded
        }) {
            // Stemmed before in this item, so neither a number, a month nor a stop word.
            self.day = None;
            self.stemmed(term);
            return Some(term);
        }
        // Seen in an earlier item: a stop word, or the stem it made.
        match self.known.get(key, folded, noun, &mut self.term_buf) {
            Some(Known::Stop) => {
                self.day = None;
                self.stop_word();
                return None;
            }
            Some(Known::Stem) => {
                self.day = None;
                return Some(self.new_stem(key, span, noun));
            }
            None => {}
        }
        let mut w = folded;
        let mut lex = LEXICON.get(w).copied();
        if let Some(Lex::Synonym(to)) = lex {
            w = to;
            lex = LEXICON.get(w).copied();
        }
        if let Some(Lex::Number(n)) = lex {
            return Some(self.number(n, false));
        }
        let day = self.day.take();
        if let Some(Lex::Month(m)) = lex {
            if let Some(d) = day {
                self.dates.push((d, m));
            }
            self.pending = None;
            return Some(self.term(MONTH_TERMS[usize::from(m) - 1]));
        }
        if w.len() < 2 || matches!(lex, Some(Lex::Stop)) {
            self.known.put(key, folded, noun, Known::Stop, "");
            self.stop_word();
            return None;
        }
        cistem_into(w, noun, &mut self.term_buf);
        self.known
            .put(key, folded, noun, Known::Stem, &self.term_buf);
        Some(self.new_stem(key, span, noun))
    }

    /// A stop word came: "sechs neue Ladesäulen": up to two stop words
    /// between a number and its noun.
    fn stop_word(&mut self) {
        if let Some((_, gap)) = &mut self.pending {
            *gap += 1;
            if *gap > 2 {
                self.pending = None;
            }
        }
    }

    /// The stem in `term_buf` of the word at `span` (hashed with its
    /// capitalisation to `key`), met first in this item: its term.
    fn new_stem(&mut self, key: u64, span: (u32, u32), noun: bool) -> u32 {
        let term = self.term_from_buf();
        let Analysis {
            stems,
            hasher,
            arena,
            ..
        } = self;
        stems.insert_unique(key, (span.0, span.1, noun, term), |&(from, to, n, _)| {
            hasher.hash_one((&arena[from as usize..to as usize], n))
        });
        self.stemmed(term);
        term
    }

    /// A stem came: the number waiting for the word it counts counts it.
    fn stemmed(&mut self, term: u32) {
        let Some((n, _)) = self.pending.take() else {
            return;
        };
        let stem = self.term_str(term);
        if UNCOMPARED_UNITS.contains(&stem) {
            return;
        }
        // Sums are compared as amounts of money whichever way they
        // are written: "1,2 Millionen Euro", "1,2 Mio. €", "1.200.000 Euro".
        if let Some(zeros) = euro_zeros(stem) {
            self.quantities.push((stem.to_string(), n.clone()));
            self.quantities.push(("geld".into(), scaled(&n, zeros)));
        } else if stem == "euro" {
            self.quantities.push(("geld".into(), n));
        } else {
            self.quantities.push((stem.to_string(), n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Signature;

    fn terms(title: &str, text: &str) -> Vec<String> {
        Signature::of(title, text).terms.to_vec()
    }

    fn has(title: &str, text: &str, wanted: &[&str]) {
        let t = terms(title, text);
        for w in wanted {
            assert!(t.contains(&w.to_string()), "{w} missing in {t:?}");
        }
    }

    #[test]
    fn pairs_sort_by_prefix_keys_as_a_plain_sort_does() {
        let words = [
            "",
            "a",
            "geld",
            "geldern",
            "millio",
            "milliard",
            "strukturwandel",
            "strukturwandel1",
            "strukturwandel12",
            "#12",
            "#125",
            "12",
            "1.5",
            "ergebnis",
            "3:1",
            "ä",
        ];
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (i, a) in words.iter().enumerate() {
            for (j, b) in words.iter().enumerate() {
                if (i * 7 + j * 3) % 5 != 0 {
                    pairs.push((a.to_string(), b.to_string()));
                }
            }
        }
        // Scrambled, with duplicates.
        pairs.extend(pairs.clone().into_iter().step_by(3));
        pairs.reverse();
        pairs.rotate_left(17);
        let mut want = pairs.clone();
        want.sort_unstable();
        super::sort_pairs(&mut pairs);
        assert_eq!(pairs, want);
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
        assert_eq!(a.facts.dates, vec![(13, 2)]);
        assert_eq!(b.facts.dates, vec![(13, 2)]);
        // A sentence-final number is no day.
        assert!(Signature::of("Bis 2029. Dann", "").facts.dates.is_empty());
        assert!(Signature::of("Im Jahr 12. Mai", "").facts.dates == vec![(12, 5)]);
    }

    #[test]
    fn quantities_bind_numbers_to_what_they_count() {
        let s = Signature::of(
            "Sechs neue Ladesäulen",
            "mit je 22 Kilowatt, 120 Mio. €, seit drei Jahren, 2029 weiter",
        );
        let q: Vec<(&str, &str)> = s
            .facts
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
                .facts
                .quantities
                .is_empty()
        );
    }
    #[test]
    fn results_with_a_colon_are_compared_and_times_are_not() {
        let won = Signature::of("SV Burg gewinnt Derby mit 3:1", "");
        assert!(
            won.facts
                .quantities
                .contains(&("ergebnis".to_string(), "3:1".to_string())),
            "{:?}",
            won.facts
        );
        assert_eq!(won.facts.title_numbers, vec!["#3:1".to_string()]);
        let lost = Signature::of("Derby", "Der SV Burg verlor 1:3.");
        assert!(crate::story::contradiction(&won, &lost).is_some());
        let time = Signature::of("Anpfiff um 19:30 Uhr", "");
        assert!(time.facts.quantities.is_empty(), "{:?}", time.facts);
        assert!(
            Signature::of("Am 12.3.:1", "")
                .facts
                .quantities
                .iter()
                .all(|(u, _)| u != "ergebnis")
        );
    }

    #[test]
    fn a_headline_opening_with_a_name_and_a_colon_names_its_subject() {
        // The word recurs capitalised in the text: a name.
        let s = Signature::of(
            "Turnow: Feuerwehr löscht brennende Scheune",
            "Eine Scheune in der Nähe von Turnow stand in Flammen.",
        );
        assert_eq!(s.facts.key_name.as_deref(), Some("turnow"));
        assert!(s.facts.key_name_strong);
        // A word the text never capitalises again is no name ("Endlich:").
        let s = Signature::of(
            "Endlich: Der Ausbau ist finanziert",
            "Die Strecke wird endlich elektrifiziert.",
        );
        assert_eq!(s.facts.key_name, None);
        // A slot name comes first: the opening word may be a topic.
        let s = Signature::of(
            "Bauarbeiten: Umleitung in Turnow",
            "Die Bauarbeiten dauern drei Wochen.",
        );
        assert_eq!(s.facts.key_name.as_deref(), Some("turnow"));
        // Clubs are named after their town.
        let s = Signature::of("Derbysieg", "Am Samstag gewann der SV Hosena das Derby.");
        assert_eq!(s.facts.key_name.as_deref(), Some("hosena"));
    }
}
