//! Cross-source story matching: whether a new item reports the same news as
//! an item another partner already published. Pure functions and an
//! in-memory candidate index: [`story_to_join`] decides which story a new
//! item joins; `store` only looks up what it needs and persists the result.
//!
//! - this file: the rules, the [`Signature`] and the decisions made with it;
//! - `analysis`: text → signature (with `tokens`, `fold` and `lexicon`);
//! - `index`: the candidate index and the most similar story an item may join;
//! - `postings`: one term's items by day, inside the index.
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
    pub terms: Vec<String>,
    /// The facts that tell two look-alike reports apart.
    pub facts: Facts,
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
const SIGNATURE_VERSION: &str = "s3";

impl Signature {
    /// Analyses an item's title and plain text.
    pub fn of(title: &str, text: &str) -> Signature {
        analysis::signature(title, text)
    }

    /// Whether a term is among the item's terms.
    pub(crate) fn has_term(&self, term: &str) -> bool {
        self.terms
            .binary_search_by(|t| t.as_str().cmp(term))
            .is_ok()
    }

    /// One line for the database: `s3|terms|dates|quantities|places|key places|key name|title numbers`.
    pub(crate) fn encode(&self) -> String {
        let f = &self.facts;
        let dates: Vec<String> = f.dates.iter().map(|(d, m)| format!("{d}.{m}")).collect();
        let quantities: Vec<String> = f
            .quantities
            .iter()
            .map(|(u, v)| format!("{u}={v}"))
            .collect();
        format!(
            "{SIGNATURE_VERSION}|{}|{}|{}|{}|{}|{}{}|{}",
            self.terms.join(" "),
            dates.join(" "),
            quantities.join(" "),
            f.places.join(" "),
            f.key_places.join(" "),
            f.key_name.as_deref().unwrap_or(""),
            if f.key_name_strong { "!" } else { "" },
            f.title_numbers.join(" "),
        )
    }

    /// The signature stored by [`encode`](Self::encode); `None` for another version or garbage.
    pub(crate) fn decode(line: &str) -> Option<Signature> {
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
        let places = words(parts.next()?);
        let key_places = words(parts.next()?);
        let name = parts.next()?;
        let key_name_strong = name.ends_with('!');
        let key_name = Some(name.trim_end_matches('!').to_string()).filter(|n| !n.is_empty());
        let title_numbers = words(parts.next()?);
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
    a.iter()
        .map(|(unit, _)| unit)
        .find(|unit| {
            let mut theirs = b.iter().filter(|(u, _)| u == *unit).peekable();
            theirs.peek().is_some()
                && !theirs.any(|(_, v)| a.iter().any(|(u, w)| u == *unit && w == v))
        })
        .map(String::as_str)
}

/// The usual smoothed IDF: a term in every item still weighs 1, a term in none ln(1+N)+1.
pub(crate) fn idf(df: usize, n: usize) -> f64 {
    ((1.0 + n as f64) / (1.0 + df as f64)).ln() + 1.0
}

/// A term is specific when few items carry it: at most a tenth of a small
/// store, at most √N items of a large one (N items cover on the order of √N
/// subjects, as vocabularies grow with √N by Heaps' law, so a word in more
/// items than that recurs across subjects), and at least three, so that a
/// story of four reports keeps its specific terms in a small store.
pub(crate) fn is_specific(df: usize, n: usize) -> bool {
    df <= (n / 10).min(n.isqrt()).max(3)
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
        assert!(line.starts_with("s3|"), "{line}");
        assert_eq!(Signature::decode(&line), Some(s));
        assert_eq!(Signature::decode("s0|a b||"), None);
        assert_eq!(Signature::decode("garbage"), None);
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
