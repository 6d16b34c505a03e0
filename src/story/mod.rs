//! Cross-source story matching: whether a new item reports the same news as
//! an item another partner already published. Pure functions and an
//! in-memory candidate index: [`story_to_join`] decides which story a new
//! item joins; `store` only looks up what it needs and persists the result.
//!
//! - this file: the rules, the [`Signature`] and the decisions made with it;
//! - `analysis`: text → signature (with `tokens`, `fold` and `lexicon`);
//! - `index`: the candidate index and the most similar story an item may join;
//! - `postings`: one term's items by day, inside the index;
//! - `window`: which days a bounded index holds.
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
//! Same canonical link is always the same story: an item whose link another
//! source already published joins that item's story before any text is
//! compared. Otherwise two items are compared by the cosine of their IDF-weighted term sets. IDF
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
//! Reports of one event from different angles (a podcast recorded at a
//! conference, a stand's review of it) share few words. A pair that shares a
//! specific long compound (an event's or project's name) needs only 0.3 ×
//! `min_similarity` when the facts corroborate it: the same place, and the
//! same date (one names the day the other was published) or a stated
//! quantity; when that compound is the only specific term the two share, the
//! place must be one of the region's gazetteer (not a headline's name) and
//! only the date will do. How many other terms count as specific depends on what
//! the store holds when an item arrives, so without this the same reports
//! merged in one polling order and not in another.
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

mod analysis;
mod fold;
mod gazetteer;
mod index;
mod lexicon;
mod postings;
mod records;
mod tokens;
mod window;

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Utc};

pub(crate) use index::{Candidate, Match, StoryIndex, Verdict};

/// foldhash: several times faster than SipHash on short keys, still seeded
/// per process, so partner text cannot aim collisions at these tables.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type Set<K> = HashSet<K, foldhash::fast::RandomState>;

/// Postings looked at for one new item, at most (see `StoryIndex::best_story`).
const PROBE_BUDGET: usize = 4096;

/// Thresholds for story matching (`[stories]` in config.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Whether items of different sources are matched by their text at all.
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
    pub terms: Terms,
    /// The facts that tell two look-alike reports apart.
    pub facts: Facts,
}

/// An item's terms, sorted and unique, in one buffer: a signature is made
/// for every stored item, and a String per term (a hundred or more for a
/// long text) was most of the analysis's allocations, which cost several
/// times more inside an ingest, beside SQLite's and the index's memory, than
/// alone (BENCHMARKS.md, "Issue 13: matching cost, fourth session").
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Terms {
    text: String,
    /// Where each term ends in `text`.
    ends: Vec<u32>,
}

impl Terms {
    pub(crate) fn with_capacity(bytes: usize, terms: usize) -> Terms {
        Terms {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(terms),
        }
    }

    /// Appends a term (after the ones before it in sort order).
    pub(crate) fn push(&mut self, term: &str) {
        self.text.push_str(term);
        self.ends.push(self.text.len() as u32);
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`th term.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let t = &self.text[start..end as usize];
            start = end as usize;
            t
        })
    }

    /// Whether `term` is among them (they are sorted).
    pub fn contains(&self, term: &str) -> bool {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(term) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::fmt::Debug for Terms {
    /// As a list of strings, as the terms were printed when they were one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Terms {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == *b)
    }
}

/// The discriminating facts of an item: what it says happened where, when
/// and how much. Two items whose facts disagree are different news however
/// much of their wording they share (a template press release sent for
/// another town, a follow-up with new figures).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Calendar dates named in the item as (day, month), sorted and unique.
    pub dates: Vec<(u8, u8)>,
    /// Stated quantities as (unit term, number term), sorted and unique;
    /// sums of money as ("geld", amount in euro).
    pub quantities: Vec<(String, String)>,
    /// Places of the gazetteer named, as `kind:id`, sorted and unique.
    pub places: Vec<String>,
    /// Per kind, the place the item is about (named in the title, else most often).
    pub key_places: Vec<String>,
    /// The first proper noun in a naming slot ("in X", "Gemeinde X"), title
    /// first, when the gazetteer does not know it: the general rule.
    pub key_name: Option<String>,
    /// Whether the key name stood in the title or after a role noun (not
    /// only after a preposition in the lead, where plural nouns stand too).
    pub key_name_strong: bool,
    /// Numbers in the title other than years and dates, as terms ("#9").
    pub title_numbers: Vec<String>,
}

/// Bump when the analysis changes: stored signatures of another version are
/// recomputed from the stored title and text.
const SIGNATURE_VERSION: &str = "s4";

impl Signature {
    /// Analyses an item's title and plain text.
    pub fn of(title: &str, text: &str) -> Signature {
        analysis::signature(title, text)
    }

    /// Whether a term is among the item's terms.
    pub(crate) fn has_term(&self, term: &str) -> bool {
        self.terms.contains(term)
    }

    /// One line for the database: `s4|terms|dates|quantities|places|key places|key name|title numbers`.
    /// Terms are front-coded where that is shorter (`push_terms`), sums
    /// counted in millions or billions written once (`Facts::encode_into`).
    pub(crate) fn encode(&self) -> String {
        let terms = self.terms.text.len() + self.terms.len();
        let mut out = String::with_capacity(SIGNATURE_VERSION.len() + terms + 16);
        out.push_str(SIGNATURE_VERSION);
        out.push('|');
        push_terms(&mut out, &self.terms);
        out.push('|');
        self.facts.encode_into(&mut out);
        out
    }

    /// The signature stored by [`encode`](Self::encode); `None` for another version or garbage.
    pub(crate) fn decode(line: &str) -> Option<Signature> {
        let mut parts = line.split('|');
        if parts.next()? != SIGNATURE_VERSION {
            return None;
        }
        let terms = read_terms(parts.next()?)?;
        let dates = words(parts.next()?)
            .map(|d| {
                let (day, month) = d.split_once('.')?;
                Some((day.parse().ok()?, month.parse().ok()?))
            })
            .collect::<Option<Vec<_>>>()?;
        let written = parts.next()?;
        let derived = written.starts_with('+');
        let mut quantities = words(written.trim_start_matches('+'))
            .map(|q| {
                q.split_once('=')
                    .map(|(u, v)| (u.to_string(), v.to_string()))
            })
            .collect::<Option<Vec<_>>>()?;
        if derived {
            let sums = sums_in_euro(&quantities)?;
            quantities.extend(sums);
            quantities.sort_unstable();
            quantities.dedup();
        }
        let places = words(parts.next()?).map(str::to_string).collect();
        let key_places = words(parts.next()?).map(str::to_string).collect();
        let name = parts.next()?;
        let key_name_strong = name.ends_with('!');
        let key_name = Some(name.trim_end_matches('!').to_string()).filter(|n| !n.is_empty());
        let title_numbers = words(parts.next()?).map(str::to_string).collect();
        parts.next().is_none().then_some(Signature {
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
        })
    }
}

/// The space-separated words of a stored signature's field.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|w| !w.is_empty())
}

/// The euro amounts of the sums counted in millions and billions among
/// `quantities` ("millio=1.2" → "geld=1200000"), as the analysis adds them;
/// `None` when such a count is no plain number (not from the analysis).
fn sums_in_euro(quantities: &[(String, String)]) -> Option<Vec<(String, String)>> {
    quantities
        .iter()
        .filter_map(|(unit, n)| Some((n, analysis::euro_zeros(unit)?)))
        .map(|(n, zeros)| {
            is_plain_number(n).then(|| ("geld".to_string(), analysis::scaled(n, zeros)))
        })
        .collect()
}

/// Whether a counted sum is a number as the analysis writes one (digits
/// and a decimal point), so that its euro amount can be computed again.
fn is_plain_number(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Longest prefix a term shares with the one before it, as front coding writes it (one character).
const MAX_SHARED: usize = 35;

/// Of the `common` bytes `t` shares with the term before at its start, how
/// many front coding writes as shared: up to [`MAX_SHARED`], on a character boundary.
fn prefix_within(t: &str, common: usize) -> usize {
    let mut k = common.min(MAX_SHARED);
    while !t.is_char_boundary(k) {
        k -= 1;
    }
    k
}

/// Sorted terms, space-separated; front-coded (marked `~`) when that is
/// shorter: each term as the number of bytes it shares with the one before
/// (one character, 0–9 then a–z) and the rest. Long texts' terms share
/// many beginnings ("#12", "#125", "bahnhof", "bahnhofsvorplatz").
/// Written front-coded in one pass, which also finds out whether that
/// was shorter and the terms sorted; else written again plainly.
fn push_terms(out: &mut String, terms: &Terms) {
    let start = out.len();
    out.push('~');
    let (mut prev, mut saved, mut sorted) = ("", 0isize, true);
    for (i, t) in terms.iter().enumerate() {
        // How far `t` agrees with the term before, and whether it sorts after it.
        let common = prev
            .bytes()
            .zip(t.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let k = prefix_within(t, common);
        if i > 0 {
            out.push(' ');
            saved += k as isize - 1;
            sorted &= match (prev.as_bytes().get(common), t.as_bytes().get(common)) {
                (None, Some(_)) => true,
                (Some(a), Some(b)) => a < b,
                _ => false,
            };
        }
        out.push(char::from_digit(k as u32, 36).expect("at most 35"));
        out.push_str(&t[k..]);
        prev = t;
    }
    // The first term's prefix and the marker cost two bytes more.
    if saved <= 2 || !sorted {
        out.truncate(start);
        for (i, t) in terms.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(t);
        }
    }
}

/// The terms written by [`push_terms`]; `None` for garbage.
fn read_terms(field: &str) -> Option<Terms> {
    let mut terms = Terms::with_capacity(field.len() * 2, 0);
    let Some(coded) = field.strip_prefix('~') else {
        words(field).for_each(|w| terms.push(w));
        return Some(terms);
    };
    let mut t = String::new();
    for w in words(coded) {
        let first = w.chars().next()?;
        let k = first.to_digit(36)? as usize;
        // `t` is the term before (empty for the first).
        if !first.is_ascii_lowercase() && !first.is_ascii_digit() || !t.is_char_boundary(k) {
            return None;
        }
        t.get(..k)?;
        t.truncate(k);
        t.push_str(&w[1..]);
        terms.push(&t);
    }
    Some(terms)
}

/// Where in sorted, unique `quantities` the euro amounts stand that
/// [`sums_in_euro`] computes again, sorted; `None` when one is missing or
/// the list is not sorted (then nothing is left out). Without a String per
/// sum: this runs for every stored item and every index entry.
fn derived_sums(quantities: &[(String, String)]) -> Option<Vec<usize>> {
    let mut at = Vec::new();
    let mut euro = String::new();
    // The euro amounts among the quantities (sorted: one run of "geld").
    let geld_from = quantities.partition_point(|(u, _)| u.as_str() < "geld");
    let geld_to = quantities.partition_point(|(u, _)| u.as_str() <= "geld");
    let geld = quantities.get(geld_from..geld_to).unwrap_or_default();
    for (unit, n) in quantities {
        let Some(zeros) = analysis::euro_zeros(unit) else {
            continue;
        };
        if !is_plain_number(n) {
            return None;
        }
        euro.clear();
        analysis::push_scaled(n, zeros, &mut euro);
        let found = geld
            .binary_search_by(|(_, v)| v.as_str().cmp(euro.as_str()))
            .ok()?;
        at.push(geld_from + found);
    }
    if at.is_empty() || !quantities.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    at.sort_unstable();
    Some(at)
}

/// Words joined by one space, written into `out`.
fn push_joined(out: &mut String, words: &[String]) {
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
}

/// A small number in decimal, without the formatting machinery (signatures
/// are encoded for every stored item).
fn push_u8(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

impl Facts {
    /// The facts' part of [`Signature::encode`]: `dates|quantities|places|key places|key name|title numbers`.
    /// A sum in millions or billions is stated twice, as counted and in
    /// euro (`millio=1.2 geld=1200000`): the euro amount is left out and
    /// the quantities marked `+` when [`decode`](Signature::decode) can
    /// compute it again. Stored signatures are a large part of an item's
    /// row, and writing them is most of what storing costs with matching on.
    fn encode_into(&self, out: &mut String) {
        for (i, (d, m)) in self.dates.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            push_u8(out, *d);
            out.push('.');
            push_u8(out, *m);
        }
        out.push('|');
        let q = &self.quantities;
        let derived = derived_sums(q).unwrap_or_default();
        if !derived.is_empty() {
            out.push('+');
        }
        let mut first = true;
        for (i, (u, v)) in q.iter().enumerate() {
            if derived.binary_search(&i).is_ok() {
                continue;
            }
            if !first {
                out.push(' ');
            }
            first = false;
            out.push_str(u);
            out.push('=');
            out.push_str(v);
        }
        out.push('|');
        push_joined(out, &self.places);
        out.push('|');
        push_joined(out, &self.key_places);
        out.push('|');
        out.push_str(self.key_name.as_deref().unwrap_or(""));
        if self.key_name_strong {
            out.push('!');
        }
        out.push('|');
        push_joined(out, &self.title_numbers);
    }
}

// ---------------------------------------------------------------------------
// Comparing two signatures.
// ---------------------------------------------------------------------------

/// Why two items cannot be the same news, whatever their wording shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Veto {
    /// Both name calendar dates and none is common.
    Dates,
    /// Both count this unit and no count agrees.
    Quantity(String),
    /// Each is about another place of this kind, which the other never names.
    Place { mine: String, theirs: String },
    /// Each names another proper noun in the same slot, which the other never names.
    Name { mine: String, theirs: String },
    /// Each headline states numbers the other never states.
    TitleNumbers,
}

impl std::fmt::Display for Veto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Veto::Dates => write!(f, "they name different dates"),
            Veto::Quantity(unit) => write!(f, "they state different numbers of {unit}"),
            Veto::Place { mine, theirs } => write!(f, "different places: {mine} / {theirs}"),
            Veto::Name { mine, theirs } => write!(f, "different names: {mine} / {theirs}"),
            Veto::TitleNumbers => write!(f, "their headlines state different numbers"),
        }
    }
}

/// Why an item with facts `a` (and terms answered by `a_has`) cannot be the
/// same news as one with facts `b` (terms `b_has`); `None` when nothing
/// contradicts. Every rule needs both sides to speak: a report that names no
/// date, place or sum contradicts nothing.
pub(crate) fn veto(
    a: &Facts,
    a_has: impl Fn(&str) -> bool,
    b: &Facts,
    b_has: impl Fn(&str) -> bool,
) -> Option<Veto> {
    if !a.dates.is_empty() && !b.dates.is_empty() && !a.dates.iter().any(|d| b.dates.contains(d)) {
        return Some(Veto::Dates);
    }
    if let Some(unit) = quantities_differ(&a.quantities, &b.quantities) {
        return Some(Veto::Quantity(unit.to_string()));
    }
    // The place each is about, of one kind: different, and the other item never names it.
    for mine in &a.key_places {
        let kind = mine.split(':').next().unwrap_or("");
        for theirs in b
            .key_places
            .iter()
            .filter(|t| t.split(':').next() == Some(kind))
        {
            if mine != theirs && !b.places.contains(mine) && !a.places.contains(theirs) {
                return Some(Veto::Place {
                    mine: mine.clone(),
                    theirs: theirs.clone(),
                });
            }
        }
    }
    // A known place on one side, an unknown name on the other ("am
    // Partwitzer See" / "in Kleinsee"): each never names what the other is about.
    fn place_absent<'a>(x: &'a Facts, y: &Facts) -> Option<&'a String> {
        x.key_places.iter().find(|p| !y.places.contains(p))
    }
    for (places, name, name_absent) in [
        (
            place_absent(a, b),
            &b.key_name,
            b.key_name_strong && b.key_name.as_deref().is_some_and(|n| !a_has(n)),
        ),
        (
            place_absent(b, a),
            &a.key_name,
            a.key_name_strong && a.key_name.as_deref().is_some_and(|n| !b_has(n)),
        ),
    ] {
        if let (Some(place), Some(name), true) = (places, name, name_absent) {
            return Some(Veto::Name {
                mine: place.clone(),
                theirs: name.clone(),
            });
        }
    }
    if let (Some(mine), Some(theirs)) = (&a.key_name, &b.key_name) {
        if mine != theirs && !b_has(mine) && !a_has(theirs) {
            return Some(Veto::Name {
                mine: mine.clone(),
                theirs: theirs.clone(),
            });
        }
    }
    // A line or road the headline is about ("RE 2", "B 169"): the other
    // report must name it too.
    let code = |n: &&String| n.starts_with(|c: char| c.is_ascii_alphabetic());
    if a.title_numbers.iter().filter(code).any(|c| !b_has(c))
        || b.title_numbers.iter().filter(code).any(|c| !a_has(c))
    {
        return Some(Veto::TitleNumbers);
    }
    if !a.title_numbers.is_empty()
        && !b.title_numbers.is_empty()
        && !a.title_numbers.iter().any(|n| b_has(n))
        && !b.title_numbers.iter().any(|n| a_has(n))
    {
        return Some(Veto::TitleNumbers);
    }
    None
}

/// Whether two signatures state facts that cannot be the same news.
pub fn contradiction(a: &Signature, b: &Signature) -> Option<Veto> {
    veto(&a.facts, |t| a.has_term(t), &b.facts, |t| b.has_term(t))
}

/// Some unit counted by both where no count agrees. Without allocating:
/// veto runs for every candidate and every story member.
fn quantities_differ<'a>(a: &'a [(String, String)], b: &[(String, String)]) -> Option<&'a str> {
    if a.is_sorted() && b.is_sorted() {
        sorted_quantities_differ(a, b)
    } else {
        unsorted_quantities_differ(a, b)
    }
}

/// [`quantities_differ`] of lists in any order: every pair compared.
fn unsorted_quantities_differ<'a>(
    a: &'a [(String, String)],
    b: &[(String, String)],
) -> Option<&'a str> {
    a.iter()
        .map(|(unit, _)| unit)
        .find(|unit| {
            let mut theirs = b.iter().filter(|(u, _)| u == *unit).peekable();
            theirs.peek().is_some()
                && !theirs.any(|(_, v)| a.iter().any(|(u, w)| u == *unit && w == v))
        })
        .map(String::as_str)
}

/// [`quantities_differ`] of sorted lists (as signatures keep them), in one
/// pass over both instead of comparing every pair: long texts state dozens
/// of sums. The first unit of `a` that differs, as there.
fn sorted_quantities_differ<'a>(
    a: &'a [(String, String)],
    b: &[(String, String)],
) -> Option<&'a str> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() {
        let unit = &a[i].0;
        let mine = a[i..].iter().take_while(|(u, _)| u == unit).count();
        while j < b.len() && b[j].0 < *unit {
            j += 1;
        }
        let theirs = b[j..].iter().take_while(|(u, _)| u == unit).count();
        if theirs > 0 {
            let (mine, theirs) = (&a[i..i + mine], &b[j..j + theirs]);
            // Both runs are sorted by value: one merge finds a common one.
            let (mut x, mut y) = (0, 0);
            let mut agree = false;
            while x < mine.len() && y < theirs.len() {
                match mine[x].1.cmp(&theirs[y].1) {
                    std::cmp::Ordering::Less => x += 1,
                    std::cmp::Ordering::Greater => y += 1,
                    std::cmp::Ordering::Equal => {
                        agree = true;
                        break;
                    }
                }
            }
            if !agree {
                return Some(unit.as_str());
            }
        }
        i += mine;
        j += theirs;
    }
    None
}

/// The usual smoothed IDF: a term in every item still weighs 1, a term in none ln(1+N)+1.
pub(crate) fn idf(df: usize, n: usize) -> f64 {
    ((1.0 + n as f64) / (1.0 + df as f64)).ln() + 1.0
}

/// The most items a specific term is carried by, of N: a term is specific
/// when few items carry it: at most a tenth of a small store, at most √N
/// items of a large one (N items cover on the order of √N subjects, as
/// vocabularies grow with √N by Heaps' law, so a word in more items than
/// that recurs across subjects), and at least three, so that a story of
/// four reports keeps its specific terms in a small store. Computed once
/// per search (a square root), not per term.
pub(crate) fn specific_max(n: usize) -> usize {
    (n / 10).min(n.isqrt()).max(3)
}

// ---------------------------------------------------------------------------
// Which story a new item joins.
// ---------------------------------------------------------------------------

/// The Europe/Berlin calendar day of a publication time: the unit of the story window.
pub(crate) fn story_day(published: DateTime<Utc>) -> i32 {
    published
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
        .num_days_from_ce()
}

/// Story matching during one ingest: the index (kept current as items are
/// written) and the stories this batch already joined or founded — its items
/// are all of one source, and a story holds at most one item per source.
pub(crate) struct Matching<'a> {
    index: &'a mut StoryIndex,
    rules: &'a Rules,
    touched: HashSet<i64>,
    stale: bool,
}

impl<'a> Matching<'a> {
    pub(crate) fn new(index: &'a mut StoryIndex, rules: &'a Rules) -> Self {
        Matching {
            index,
            rules,
            touched: HashSet::new(),
            stale: false,
        }
    }

    /// The index no longer matches the stored items (an item was hidden or
    /// shown again by the rules): the store rebuilds it after this poll.
    pub(crate) fn invalidate(&mut self) {
        self.stale = true;
    }

    pub(crate) fn is_stale(&self) -> bool {
        self.stale
    }

    /// A new item was stored in `story`: no later item of this batch joins it.
    pub(crate) fn stored_new(
        &mut self,
        item: i64,
        source: &str,
        story: i64,
        published: DateTime<Utc>,
        sig: &Signature,
    ) {
        self.index
            .insert(item, source, story, story_day(published), sig);
        self.touched.insert(story);
    }

    /// A stored item was edited: it keeps its story (its entry id must not
    /// move), only its signature follows the text.
    pub(crate) fn stored_edit(
        &mut self,
        item: i64,
        source: &str,
        story: i64,
        published: DateTime<Utc>,
        sig: &Signature,
    ) {
        self.index
            .insert(item, source, story, story_day(published), sig);
    }

    /// The index, for the store to load what matching needs before it is used.
    pub(crate) fn index_mut(&mut self) -> &mut StoryIndex {
        self.index
    }

    pub(crate) fn rules(&self) -> &Rules {
        self.rules
    }

    /// The index, to forget the items the batch's retention deletes.
    pub(crate) fn into_index(self) -> &'a mut StoryIndex {
        self.index
    }
}

/// How a new item found the story it joins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Joining {
    /// Another source published the same canonical link.
    SameLink(i64),
    /// The most similar story that admits the item.
    Similar(Match),
}

impl Joining {
    pub(crate) fn story(&self) -> i64 {
        match self {
            Joining::SameLink(story) => *story,
            Joining::Similar(found) => found.story,
        }
    }
}

/// The existing story a new item of `source` joins; `None` when it founds one.
///
/// `by_link` is what the store found for the item's canonical link: the
/// earliest story with another source's item of that link and no item of
/// `source`. Same canonical link is always the same story, unless this batch
/// already joined or founded it; otherwise, when `matching` is on, the most
/// similar story that admits the item.
pub(crate) fn story_to_join(
    by_link: Option<i64>,
    source: &str,
    published: DateTime<Utc>,
    matching: Option<(&Matching, &Signature)>,
) -> Option<Joining> {
    let touched = |story: i64| {
        matching
            .as_ref()
            .is_some_and(|(m, _)| m.touched.contains(&story))
    };
    if let Some(story) = by_link.filter(|s| !touched(*s)) {
        return Some(Joining::SameLink(story));
    }
    let (m, sig) = matching?;
    let found = m
        .index
        .best_story(source, story_day(published), sig, m.rules, &m.touched)?;
    tracing::debug!(
        source,
        story = found.story,
        similar_to = found.item,
        similarity = found.similarity,
        shared_terms = found.shared_terms,
        "item joins a story"
    );
    Some(Joining::Similar(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether two items state facts that cannot both be the same news.
    fn contradicts(a: &Signature, b: &Signature) -> bool {
        contradiction(a, b).is_some()
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
            "Petition für Kleinmühlen in Neuwerda, 7,8 Mio. € für Schwarze Pumpe am Cottbuser Ostsee.",
        );
        assert!(
            s.facts.places.contains(&"ort:schwarze_pumpe".to_string()),
            "{s:?}"
        );
        assert_eq!(s.facts.key_name.as_deref(), Some("neuwerda"));
        let line = s.encode();
        assert!(line.starts_with("s4|"), "{line}");
        assert_eq!(Signature::decode(&line), Some(s));
        assert_eq!(Signature::decode("s0|a b||"), None);
        assert_eq!(Signature::decode("garbage"), None);
    }

    #[test]
    fn stored_signatures_write_sums_once_and_shared_beginnings_once() {
        let s = Signature::of(
            "Bahnhof und Bahnhofsvorplatz: 4,2 Millionen Euro",
            "Bahnhofsgebäude, Bahnhofstraße und Bahnhofsuhr für 1,5 Mrd. Euro, 12 Bänke, 125 Bäume, 1250 Blumen.",
        );
        assert!(
            s.facts
                .quantities
                .contains(&("geld".into(), "4200000".into())),
            "{:?}",
            s.facts
        );
        let line = s.encode();
        assert!(line.starts_with("s4|~"), "{line}");
        assert!(!line.contains("geld="), "{line}");
        assert!(line.contains("|+"), "{line}");
        assert!(
            line.len() < s.terms.iter().map(|t| t.len() + 1).sum::<usize>() + 60,
            "{line}"
        );
        assert_eq!(Signature::decode(&line), Some(s));
        // A prefix longer than the term before it, a sum that is no number: garbage.
        assert_eq!(Signature::decode("s4|~0ab 3c||||||"), None);
        assert_eq!(Signature::decode("s4|~0ab Xc||||||"), None);
        assert_eq!(Signature::decode("s4|||+millio=zwei||||"), None);
        assert!(
            Signature::decode("s4|~0ab 2c||+millio=1.5||||").is_some_and(|d| d.terms
                == ["ab", "abc"]
                && d.facts.quantities
                    == [
                        ("geld".to_string(), "1500000".to_string()),
                        ("millio".to_string(), "1.5".to_string())
                    ])
        );
    }

    #[test]
    fn sorted_quantities_are_compared_as_every_pair_is() {
        // Small lists over few units and values, so that every case occurs:
        // units on one side only, runs of several values, agreement anywhere in a run.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut list = || {
            let mut q: Vec<(String, String)> = (0..next() % 6)
                .map(|_| {
                    let r = next();
                    (format!("u{}", r % 3), format!("{}", (r >> 8) % 4))
                })
                .collect();
            q.sort_unstable();
            q.dedup();
            q
        };
        let mut vetoes = 0;
        for _ in 0..5000 {
            let (a, b) = (list(), list());
            let fast = sorted_quantities_differ(&a, &b);
            assert_eq!(fast, unsorted_quantities_differ(&a, &b), "{a:?} {b:?}");
            vetoes += usize::from(fast.is_some());
        }
        assert!(vetoes > 100, "{vetoes}");
    }

    #[test]
    fn idf_weighs_rare_terms_more() {
        assert!(idf(1, 100) > idf(10, 100));
        assert!((idf(100, 100) - 1.0).abs() < 0.01);
    }

    fn noon(day: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 2, day, 11, 0, 0).unwrap()
    }

    /// An index where a battery-storage report of "verein" is story 10,
    /// among thirty unrelated items that make the region's words background.
    fn index_with_a_report() -> StoryIndex {
        let mut ix = StoryIndex::default();
        for i in 0..30 {
            let sig = Signature::of(
                &format!("Meldung {i} aus der Lausitz"),
                &format!("Thema{i} Ort{i} Sache{i} Lausitz"),
            );
            ix.insert(1000 + i, "bg", 1000 + i, story_day(noon(1)), &sig);
        }
        let report = Signature::of(
            "Größter Batteriespeicher der Lausitz geht ans Netz",
            "In Schwarze Pumpe hat der Batteriespeicher mit 100 Megawatt den Betrieb aufgenommen. 120 Millionen Euro wurden investiert.",
        );
        ix.insert(1, "verein", 10, story_day(noon(13)), &report);
        ix
    }

    fn cross_post() -> Signature {
        Signature::of(
            "Schwarze Pumpe: Großbatteriespeicher in Betrieb",
            "Der Batteriespeicher in Schwarze Pumpe ist gestartet: 100 MW Leistung, 120 Mio. Euro Kosten.",
        )
    }

    #[test]
    fn the_same_link_joins_before_any_text_is_compared() {
        let mut ix = index_with_a_report();
        let rules = Rules::default();
        let matching = Matching::new(&mut ix, &rules);
        let unrelated = Signature::of("Kleingärten", "Ganz andere Nachricht");
        assert_eq!(
            story_to_join(Some(20), "zeitung", noon(14), Some((&matching, &unrelated))),
            Some(Joining::SameLink(20))
        );
        // With matching off the link still decides, and nothing else does.
        assert_eq!(
            story_to_join(Some(20), "zeitung", noon(14), None),
            Some(Joining::SameLink(20))
        );
        assert_eq!(story_to_join(None, "zeitung", noon(14), None), None);
    }

    #[test]
    fn a_story_this_batch_took_is_not_joined_by_link() {
        let mut ix = index_with_a_report();
        let rules = Rules::default();
        let mut matching = Matching::new(&mut ix, &rules);
        let sig = cross_post();
        let joined = story_to_join(None, "zeitung", noon(14), Some((&matching, &sig)));
        assert!(
            matches!(&joined, Some(Joining::Similar(m)) if m.story == 10),
            "{joined:?}"
        );
        let earlier = Signature::of("Anderes", "Ganz andere Nachricht über Kleingärten");
        matching.stored_new(2, "zeitung", 20, noon(14), &earlier);
        // Story 20 already holds this batch's item: the text decides instead.
        let joined = story_to_join(Some(20), "zeitung", noon(14), Some((&matching, &sig)));
        assert_eq!(joined.map(|j| j.story()), Some(10));
        matching.stored_new(3, "zeitung", 10, noon(14), &sig);
        assert_eq!(
            story_to_join(Some(20), "zeitung", noon(14), Some((&matching, &sig))),
            None
        );
    }
}
