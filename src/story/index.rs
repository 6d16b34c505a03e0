//! The in-memory candidate index: stored items' signatures by term and
//! day, and the search for the most similar story a new item may join.
//!
//! Bounded to the days matching can reach: the store loads the items of
//! recent days (and older days on demand, `LoadedDays`), while IDF's counts
//! (each term's document frequency, the number of items) cover every indexed
//! item of history, loaded or not, so that a bounded index weighs terms as an
//! unbounded one does. A story is loaded whole or not at all, so that its
//! members are all at hand when it is weighed (`story_refuses`).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

use super::postings::Postings;
use super::records::{At, Records};
use super::window::{DayRanges, LoadedDays};
use super::{Facts, Map, PROBE_BUDGET, Rules, Signature, Terms, Veto, idf, specific_max, veto};

/// Slots of a query's memo of squared IDFs by document frequency.
const IDF_MEMO: usize = 1024;

/// Older items (see [`StoryIndex::needs_evicting`]) kept loaded however few the window's are.
const MIN_OLDER: usize = 4096;

/// An indexed item; its terms and facts are in the index's [`Records`].
#[derive(Debug, Clone, Copy)]
struct Entry {
    story: i64,
    /// Where its record starts.
    at: At,
    source: u32,
    day: i32,
}

/// A story's indexed items, in the order they were indexed: most stories
/// have one, which needs no heap block of its own.
#[derive(Debug)]
enum Members {
    One(i64),
    Many(Vec<i64>),
}

impl Members {
    fn as_slice(&self) -> &[i64] {
        match self {
            Members::One(item) => std::slice::from_ref(item),
            Members::Many(items) => items,
        }
    }

    fn push(&mut self, item: i64) {
        match self {
            Members::One(first) => *self = Members::Many(vec![*first, item]),
            Members::Many(items) => items.push(item),
        }
    }

    /// Forgets an item; whether the story has no indexed item left.
    fn remove(&mut self, item: i64) -> bool {
        match self {
            Members::One(only) => *only == item,
            Members::Many(items) => {
                items.retain(|m| *m != item);
                items.is_empty()
            }
        }
    }
}

/// What a candidate member said to a new item: the evidence `explain` shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) item: i64,
    pub(crate) story: i64,
    pub(crate) similarity: f64,
    /// The similarity this pair needed (more for items days apart).
    pub(crate) required: f64,
    pub(crate) shared_terms: usize,
    pub(crate) verdict: Verdict,
}

/// Whether a candidate's story admits the new item, and if not, why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// The story may take the item.
    Admits,
    SameSource,
    /// This poll already joined or founded the story.
    TakenByBatch,
    TooFewSharedTerms,
    BelowSimilarity,
    /// The candidate's facts contradict the item's.
    Vetoed(Veto),
    /// Another member of the story has an item of the source, contradicts, or lies outside the window.
    StoryRefuses(String),
}

/// The story a new item should join.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Match {
    pub(crate) story: i64,
    /// The member it resembles most.
    pub(crate) item: i64,
    pub(crate) similarity: f64,
    pub(crate) shared_terms: usize,
}

/// Loaded items' signatures, by term and day, for finding candidates.
/// Items are keyed by their database row id; stories by theirs.
#[derive(Debug, Default)]
pub(crate) struct StoryIndex {
    vocab: Map<Box<str>, u32>,
    /// Per term id: the loaded items' (day, item), sorted.
    postings: Vec<Postings>,
    /// Per term id: its document frequency over every counted item, loaded or not.
    df: Vec<u32>,
    /// Items counted in `df`: the N of IDF.
    counted: usize,
    /// The days whose items are all loaded.
    days: LoadedDays,
    /// Per day: the items counted, and those loaded. A day whose counted
    /// items are all loaded needs no query (a fresh store, a day of
    /// history with nothing stored): every shown stored item is counted.
    per_day: BTreeMap<i32, DayCount>,
    /// Days before the first loaded day that new items reached since the
    /// last unload: what the polls of the moment match against, kept by an
    /// unload the count of older items forces.
    reached: DayRanges,
    /// Loaded items dated before the first loaded day: members of stories
    /// reaching into it, and older days loaded for backdated items.
    older: usize,
    /// Older items tolerated beyond the window's count before they are
    /// unloaded: doubled at each unload the count forced on the same day,
    /// so a partner whose every item is dated long ago costs each older
    /// item O(log n) loads in a day, not one per poll.
    older_allowance: usize,
    /// Per term id: whether it is a number.
    numeric: Vec<bool>,
    items: Map<i64, Entry>,
    /// Every indexed item's terms and facts.
    records: Records,
    stories: Map<i64, Members>,
    sources: Map<Box<str>, u32>,
    /// The last terms [`search`](Self::search) looked up, with their ids.
    looked_up: RefCell<LookedUp>,
    /// The searches' memo of squared IDFs.
    idf_memo: RefCell<IdfMemo>,
    /// A candidate's facts, decoded (`Records::facts_into`): kept between
    /// searches, so that their strings are allocated once.
    facts: RefCell<Facts>,
    /// A search's candidates (item → shared terms, shared words, shared
    /// weight, whether a shared term is a specific compound), kept between searches: allocated and grown once, not for
    /// every new item.
    candidates: RefCell<Map<i64, (u32, u32, f64, bool)>>,
}

/// Squared IDFs by document frequency, [`IDF_MEMO`] slots of (query, df,
/// weight²): valid for the query that computed them only, as N moves with
/// every insert.
#[derive(Debug, Default)]
struct IdfMemo {
    query: u64,
    slots: Box<[(u64, usize, f64)]>,
}

/// The term ids a search looked up, kept for the insert of the same
/// signature that follows it (an item is matched, then stored): one
/// vocabulary lookup per term instead of two. Ids never change (the
/// vocabulary only grows); a term unknown then is looked up again.
#[derive(Debug, Default)]
struct LookedUp {
    terms: Terms,
    ids: Vec<Option<u32>>,
}

/// Items of one day counted for IDF, and loaded.
#[derive(Debug, Default, Clone, Copy)]
struct DayCount {
    counted: u32,
    loaded: u32,
}

impl StoryIndex {
    /// An index that is to hold the items of `first_day` on; older days are loaded on demand.
    pub(crate) fn from_day(first_day: i32) -> StoryIndex {
        StoryIndex {
            days: LoadedDays::from_day(first_day),
            ..StoryIndex::default()
        }
    }

    /// Items loaded.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Items counted for IDF: every indexed item of history.
    pub(crate) fn counted(&self) -> usize {
        self.counted
    }

    pub(crate) fn contains(&self, item: i64) -> bool {
        self.items.contains_key(&item)
    }

    /// Whether a story is loaded (then it is loaded whole).
    pub(crate) fn has_story(&self, story: i64) -> bool {
        self.stories.contains_key(&story)
    }

    /// The ranges of days `first..=last` whose items are not all loaded.
    pub(crate) fn missing_days(&self, first: i32, last: i32) -> Vec<(i32, i32)> {
        self.days.missing(first, last)
    }

    /// The items of `first..=last` were loaded (with their stories).
    pub(crate) fn days_loaded(&mut self, first: i32, last: i32) {
        self.days.add(first, last);
    }

    /// Whether every counted item dated `first..=last` is loaded already
    /// (then so are their stories, loaded whole): nothing to read.
    pub(crate) fn holds_all_of(&self, first: i32, last: i32) -> bool {
        first > last
            || self
                .per_day
                .range(first..=last)
                .all(|(_, d)| d.counted == d.loaded)
    }

    /// A new item reached `first..=last`: those of its days before the first
    /// loaded day stay loaded at the next unload the count forces.
    pub(crate) fn reached(&mut self, first: i32, last: i32) {
        self.reached
            .add(first, last.min(self.days.first().saturating_sub(1)));
    }

    pub(crate) fn is_empty(&self) -> bool {
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
        self.df.push(0);
        self.numeric.push(term.starts_with('#'));
        id
    }

    fn df(&self, term: u32) -> usize {
        self.df[term as usize] as usize
    }

    /// A signature's term ids, sorted and unique.
    fn term_ids(&mut self, sig: &Signature) -> Vec<u32> {
        let cached = std::mem::take(self.looked_up.get_mut());
        let mut terms: Vec<u32> = if cached.terms == sig.terms {
            sig.terms
                .iter()
                .zip(&cached.ids)
                .map(|(t, id)| id.unwrap_or_else(|| self.term_id(t)))
                .collect()
        } else {
            sig.terms.iter().map(|t| self.term_id(t)).collect()
        };
        *self.looked_up.get_mut() = cached;
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    /// Counts (`up`) or uncounts an item of `day` and its terms for IDF.
    fn count(&mut self, terms: &[u32], day: i32, up: bool) {
        let d = self.per_day.entry(day).or_default();
        d.counted = if up {
            d.counted + 1
        } else {
            d.counted.saturating_sub(1)
        };
        for &t in terms {
            let df = &mut self.df[t as usize];
            *df = if up { *df + 1 } else { df.saturating_sub(1) };
        }
        self.counted = if up {
            self.counted + 1
        } else {
            self.counted.saturating_sub(1)
        };
    }

    /// Adds (or replaces) an item: counted and loaded.
    pub(crate) fn insert(
        &mut self,
        item: i64,
        source: &str,
        story: i64,
        day: i32,
        sig: &Signature,
    ) {
        self.remove(item);
        let terms = self.term_ids(sig);
        self.count(&terms, day, true);
        self.place(item, source, story, day, &terms, sig);
    }

    /// Counts a stored item of `day` for IDF without loading it (a day outside the window).
    pub(crate) fn count_unloaded(&mut self, sig: &Signature, day: i32) {
        let terms = self.term_ids(sig);
        self.count(&terms, day, true);
    }

    /// Uncounts a stored item of `day` that is not loaded (deleted).
    pub(crate) fn uncount_unloaded(&mut self, sig: &Signature, day: i32) {
        let terms = self.term_ids(sig);
        self.count(&terms, day, false);
    }

    /// Loads an item already counted (`count_unloaded`); nothing if it is loaded.
    pub(crate) fn load(&mut self, item: i64, source: &str, story: i64, day: i32, sig: &Signature) {
        if self.contains(item) {
            return;
        }
        let terms = self.term_ids(sig);
        self.place(item, source, story, day, &terms, sig);
    }

    /// Puts a counted item into the postings, records and stories.
    fn place(
        &mut self,
        item: i64,
        source: &str,
        story: i64,
        day: i32,
        terms: &[u32],
        sig: &Signature,
    ) {
        if day < self.days.first() {
            self.older += 1;
        }
        self.per_day.entry(day).or_default().loaded += 1;
        let source = self.source_id(source);
        for &t in terms {
            self.postings[t as usize].insert((day, item));
        }
        let at = self.records.push(terms, &sig.facts);
        self.items.insert(
            item,
            Entry {
                story,
                at,
                source,
                day,
            },
        );
        match self.stories.get_mut(&story) {
            Some(members) => members.push(item),
            None => {
                self.stories.insert(story, Members::One(item));
            }
        }
    }

    /// Forgets a loaded item (deleted, or about to be re-inserted): unloaded and uncounted.
    pub(crate) fn remove(&mut self, item: i64) {
        if let Some((terms, day)) = self.unplace(item) {
            self.count(&terms, day, false);
        }
    }

    /// Unloads an item, still counted; its term ids and day, if it was loaded.
    fn unplace(&mut self, item: i64) -> Option<(Vec<u32>, i32)> {
        let e = self.items.remove(&item)?;
        if e.day < self.days.first() {
            self.older -= 1;
        }
        if let Some(d) = self.per_day.get_mut(&e.day) {
            d.loaded = d.loaded.saturating_sub(1);
        }
        let mut terms = Vec::new();
        self.records.terms_into(e.at, &mut terms);
        for &t in &terms {
            self.postings[t as usize].remove((e.day, item));
        }
        self.records.release(e.at);
        if self.records.wasteful() {
            self.records
                .compact(self.items.values_mut().map(|e| &mut e.at));
        }
        if self
            .stories
            .get_mut(&e.story)
            .is_some_and(|members| members.remove(item))
        {
            self.stories.remove(&e.story);
        }
        Some((terms, e.day))
    }

    /// Whether it is time to [`evict_before`](Self::evict_before) `day`:
    /// the first day moved on, or older items loaded on demand outnumber
    /// those of the window (and [`MIN_OLDER`]). Older days stay loaded until
    /// then, so that a partner whose new items are all dated long ago (a
    /// wrong clock, an archive) does not make every poll load them again.
    pub(crate) fn needs_evicting(&self, day: i32) -> bool {
        day > self.days.first()
            || self.older
                > (self.items.len() - self.older)
                    .max(MIN_OLDER)
                    .max(self.older_allowance)
    }

    /// Unloads the stories whose every member is dated before `day` (they
    /// stay counted for IDF); a story with a member from `day` on stays
    /// whole. When the first day stays (an unload the count of older items
    /// forced), a story with a member on an older day that new items
    /// reached since the last unload stays whole too: the polls of the
    /// moment reach those days again (a partner dating every item long
    /// ago), and unloading them would only have the next poll read them
    /// back from SQLite. Returns the items unloaded.
    pub(crate) fn evict_before(&mut self, day: i32) -> usize {
        let moved = day > self.days.first();
        self.older_allowance = if moved {
            0
        } else {
            self.older.saturating_mul(2)
        };
        let mut kept = std::mem::take(&mut self.reached);
        if moved {
            kept = DayRanges::default();
        } else {
            // A clock set back: the days from `day` on stay, as they are loaded.
            kept.add(day, self.days.first().saturating_sub(1));
        }
        let doomed: Vec<i64> = self
            .stories
            .values()
            .filter(|m| {
                m.as_slice().iter().all(|i| {
                    let d = self.items[i].day;
                    d < day && !kept.contains(d)
                })
            })
            .flat_map(|m| m.as_slice().iter().copied())
            .collect();
        for &item in &doomed {
            self.unplace(item);
        }
        if moved {
            self.days.drop_before(day);
        } else {
            self.days.keep_older(&kept);
        }
        let first = self.days.first();
        self.older = self.items.values().filter(|e| e.day < first).count();
        doomed.len()
    }

    /// Gives back what growing one item at a time over-allocated: after a bulk load.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.postings.iter_mut().for_each(Postings::shrink_to_fit);
        self.postings.shrink_to_fit();
        self.df.shrink_to_fit();
        self.numeric.shrink_to_fit();
        self.items.shrink_to_fit();
        self.records.shrink_to_fit();
        self.stories.shrink_to_fit();
    }

    /// The story of an indexed item (the tests' view: the store reads it from the database).
    #[cfg(test)]
    fn story_of(&self, item: i64) -> Option<i64> {
        self.items.get(&item).map(|e| e.story)
    }

    /// Why an indexed item and a new one cannot be the same news, if they cannot.
    fn veto(&self, e: &Entry, sig: &Signature) -> Option<Veto> {
        let mut terms = Vec::new();
        self.records.terms_into(e.at, &mut terms);
        let mut facts = self.facts.take();
        self.records.facts_into(e.at, &mut facts);
        let veto = self.veto_with(&facts, &terms, sig);
        self.facts.replace(facts);
        veto
    }

    /// [`veto`](Self::veto) with the entry's facts and sorted term ids already decoded.
    fn veto_with(&self, facts: &Facts, terms: &[u32], sig: &Signature) -> Option<Veto> {
        veto(
            facts,
            |t| {
                self.vocab
                    .get(t)
                    .is_some_and(|id| terms.binary_search(id).is_ok())
            },
            &sig.facts,
            |t| sig.has_term(t),
        )
    }

    /// The most similar story that a new item of `source`, dated `day`, may
    /// join under `rules`; stories in `excluded` are skipped.
    pub(crate) fn best_story(
        &self,
        source: &str,
        day: i32,
        sig: &Signature,
        rules: &Rules,
        excluded: &HashSet<i64>,
    ) -> Option<Match> {
        self.search(source, day, sig, rules, excluded, None)
    }

    /// Every candidate a new item was weighed against, with its verdict: what `explain` shows.
    pub(crate) fn candidates(
        &self,
        source: &str,
        day: i32,
        sig: &Signature,
        rules: &Rules,
    ) -> (Option<Match>, Vec<Candidate>) {
        let mut trace = Vec::new();
        let best = self.search(source, day, sig, rules, &HashSet::new(), Some(&mut trace));
        trace.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        (best, trace)
    }

    fn search(
        &self,
        source: &str,
        day: i32,
        sig: &Signature,
        rules: &Rules,
        excluded: &HashSet<i64>,
        mut trace: Option<&mut Vec<Candidate>>,
    ) -> Option<Match> {
        if !rules.enabled || self.is_empty() {
            return None;
        }
        // IDF over every counted item, loaded or not: the same weights as an unbounded index.
        let n = self.counted;
        let own_source = self.sources.get(source).copied();
        let window = rules.window_days as i32;
        let ids: Vec<Option<u32>> = sig
            .terms
            .iter()
            .map(|t| self.vocab.get(t).copied())
            .collect();
        {
            let mut kept = self.looked_up.borrow_mut();
            kept.terms.clone_from(&sig.terms);
            kept.ids.clone_from(&ids);
        }
        // Squared IDF by document frequency, computed once per query and
        // frequency met (a slot per frequency modulo IDF_MEMO, the last one
        // kept): every candidate's norm weighs all its terms, and most share
        // their frequencies with other candidates' terms. The slots live in
        // the index and are stamped with the query they were computed for,
        // so that a query neither sets them up nor sees another's N.
        let mut memo = self.idf_memo.borrow_mut();
        if memo.slots.is_empty() {
            memo.slots = vec![(0, 0, 0.0); IDF_MEMO].into_boxed_slice();
        }
        memo.query += 1;
        let memo = RefCell::new(memo);
        let weight2 = |t: Option<u32>| {
            let df = t.map(|t| self.df(t)).unwrap_or(0);
            let mut memo = memo.borrow_mut();
            let query = memo.query;
            let slot = &mut memo.slots[df % IDF_MEMO];
            if slot.0 == query && slot.1 == df {
                return slot.2;
            }
            let w2 = idf(df, n).powi(2);
            *slot = (query, df, w2);
            w2
        };
        let weight = |t: Option<u32>| weight2(t).sqrt();
        let own_norm: f64 = ids.iter().map(|&t| weight2(t)).sum::<f64>().sqrt();
        // The item's known terms by id, each with whether it is a long
        // compound word ("Fachkräftekonferenz"): names of events and
        // projects, which corroborate a weaker match (see below).
        let mut own_marked: Vec<(u32, bool)> = sig
            .terms
            .iter()
            .zip(&ids)
            .filter_map(|(t, id)| Some((id.as_ref().copied()?, is_compound(t))))
            .collect();
        // Unstable is enough: a term has one id, so ids are unique.
        own_marked.sort_unstable_by_key(|&(t, _)| t);
        let specific = specific_max(n);
        let own: Vec<u32> = own_marked.iter().map(|&(t, _)| t).collect();
        // Per term of `own`, for every candidate alike: its squared weight
        // and whether it is a specific compound (each a frequency looked up).
        let own_w2: Vec<f64> = own.iter().map(|&t| weight2(Some(t))).collect();
        let own_compound: Vec<bool> = own_marked
            .iter()
            .map(|&(t, compound)| compound && self.df(t) <= specific)
            .collect();

        // Prefix filtering (Bayardo et al. 2007): an item sharing only terms of
        // the lightest tail cannot reach min_similarity when the tail's weight
        // is below it (Cauchy-Schwarz), so only the heavier, rarer terms are
        // looked up; the tail is where the long posting lists of common words
        // are. The tail is kept to half the threshold, so that the weight a
        // candidate shares among the looked-up terms bounds its cosine tightly.
        // Heaviest first is rarest first: IDF falls strictly with the
        // document frequency (by far more than a rounding step), so the
        // terms are sorted by (frequency, id) as one integer each, which
        // gives the order of (weight descending, id) without comparing
        // floating-point numbers. Unstable is enough: ids are unique.
        let mut order: Vec<u64> = own
            .iter()
            .map(|&t| (self.df(t) as u64) << 32 | u64::from(t))
            .collect();
        order.sort_unstable();
        let by_weight: Vec<(u32, f64)> = order
            .iter()
            .map(|&k| {
                let t = k as u32;
                (t, weight(Some(t)))
            })
            .collect();
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
        let mut candidates = self.candidates.take();
        candidates.clear();
        for &(t, w) in &by_weight[..probe] {
            let word = u32::from(!self.numeric[t as usize]);
            let compound = own.binary_search(&t).is_ok_and(|at| own_compound[at]);
            let list = &self.postings[t as usize];
            if self.df(t) > specific || scanned >= PROBE_BUDGET {
                unprobed += w * w;
                continue;
            }
            list.in_window(day - window, day + window, |item| {
                scanned += 1;
                let c = candidates.entry(item).or_default();
                c.0 += 1;
                c.1 += word;
                c.2 += w * w;
                c.3 |= compound;
            });
        }

        let mut best: Option<Match> = None;
        let mut terms = Vec::new();
        // Numbers confirm a match but do not make one: at least one of the
        // shared specific terms is a word (a name, a place, a thing).
        // A lone compound's corroboration needs a gazetteer place the item is about.
        let can_corroborate = !sig.facts.key_places.is_empty();
        let place_and_dates = can_corroborate.then(|| self.records.place_and_dates(&sig.facts));
        let own_day = day_of(day);
        // The days of the window this item names by date: a candidate
        // published on one of them agrees on the date.
        let named_days: Vec<i32> = (day - window..=day + window)
            .filter(|&d| day_of(d).is_some_and(|dm| sig.facts.dates.contains(&dm)))
            .collect();
        for (&item, &(count, words, mass, shares_compound)) in &candidates {
            let bound = (mass + unprobed).sqrt() / own_norm;
            // One specific term is enough only when it is a rare compound
            // (an event's or project's name) and the facts corroborate the
            // pair below: what decides is then the place and the date, not
            // how many of the rarer words the two happen to share — which
            // depends on what else the store holds when the item arrives.
            let lone_compound = count == 1 && shares_compound && can_corroborate;
            // Most candidates fail here, before their entry is looked up: no
            // pair needs less than min_similarity (`required_similarity`).
            if trace.is_none()
                && ((count < 2 && !lone_compound) || words < 1 || bound < rules.min_similarity)
            {
                continue;
            }
            let e = &self.items[&item];
            let required = required_similarity(rules, (day - e.day).abs());
            if trace.is_none() && bound < required {
                continue;
            }
            let tracing = trace.is_some();
            let mut note = |similarity: f64, shared: usize, verdict: Verdict| {
                if let Some(t) = trace.as_deref_mut() {
                    t.push(Candidate {
                        item,
                        story: e.story,
                        similarity,
                        required,
                        shared_terms: shared,
                        verdict,
                    });
                }
            };
            if Some(e.source) == own_source {
                note(0.0, 0, Verdict::SameSource);
                continue;
            }
            if excluded.contains(&e.story) {
                note(0.0, 0, Verdict::TakenByBatch);
                continue;
            }
            // A lone compound stands only with the facts behind it: place
            // and date are checked first, on the record's symbol ids, since
            // most such candidates share the rare word by chance (decoding
            // their facts as strings made matching a third dearer,
            // BENCHMARKS.md). `corroborated` decides below, the same way.
            if lone_compound
                && !tracing
                && let Some(item) = &place_and_dates
            {
                let dated = named_days.contains(&e.day);
                if !self
                    .records
                    .agrees_on_place_and_date(e.at, item, own_day, dated)
                {
                    continue;
                }
            }
            self.records.terms_into(e.at, &mut terms);
            let (mut dot, mut shared, mut compound) = (0.0, 0usize, false);
            let (mut i, mut j) = (0, 0);
            while i < own.len() && j < terms.len() {
                match own[i].cmp(&terms[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        dot += own_w2[i];
                        shared += 1;
                        compound |= own_compound[i];
                        i += 1;
                        j += 1;
                    }
                }
            }
            let too_few =
                shared < rules.min_shared_terms || (count < 2 && !lone_compound) || words < 1;
            // The candidate's norm weighs every term it has (a frequency
            // looked up for each): not for a candidate refused anyway,
            // unless `explain` shows its similarity.
            if too_few && !tracing {
                continue;
            }
            // The candidate's norm is at least that of the terms it shares
            // (`dot`, the same weights), so its similarity is at most
            // √dot / own norm: below what any admission needs, its norm is
            // not weighed (a hair of margin for the sums' rounding).
            let most = dot.sqrt() / own_norm * (1.0 + 1e-9);
            let needed = if compound {
                required.min(rules.min_similarity * CORROBORATED)
            } else {
                required
            };
            if most < needed && !tracing {
                continue;
            }
            let other_norm: f64 = terms.iter().map(|&t| weight2(Some(t))).sum::<f64>().sqrt();
            let similarity = dot / (own_norm * other_norm);
            if too_few {
                note(similarity, shared, Verdict::TooFewSharedTerms);
                continue;
            }
            // The entry's facts are decoded once, for the few candidates that get this far.
            let below = similarity < required || lone_compound;
            if below && !(compound && similarity >= rules.min_similarity * CORROBORATED) {
                note(similarity, shared, Verdict::BelowSimilarity);
                continue;
            }
            // Into the index's scratch facts, whose strings are reused.
            let mut facts = self.facts.take();
            self.records.facts_into(e.at, &mut facts);
            let verdict = if below && !corroborated(&facts, e.day, &sig.facts, day, lone_compound) {
                // A lone specific compound stands only with the facts behind it.
                Some(if lone_compound {
                    Verdict::TooFewSharedTerms
                } else {
                    Verdict::BelowSimilarity
                })
            } else {
                self.veto_with(&facts, &terms, sig).map(Verdict::Vetoed)
            };
            self.facts.replace(facts);
            if let Some(verdict) = verdict {
                note(similarity, shared, verdict);
                continue;
            }
            let better = best.as_ref().is_none_or(|b| {
                similarity > b.similarity
                    || (similarity == b.similarity && (e.story, item) < (b.story, b.item))
            });
            if !better && !tracing {
                continue;
            }
            match self.story_refuses(e.story, own_source, day, sig, window, item) {
                Some(why) => note(similarity, shared, Verdict::StoryRefuses(why)),
                None => {
                    note(similarity, shared, Verdict::Admits);
                    if better {
                        best = Some(Match {
                            story: e.story,
                            item,
                            similarity,
                            shared_terms: shared,
                        });
                    }
                }
            }
        }
        // One search that met more (a list longer than the budget) does not
        // keep its memory.
        if candidates.capacity() <= 2 * PROBE_BUDGET {
            self.candidates.replace(candidates);
        }
        best
    }

    /// Why a story does not admit a new item: it has an item of the same
    /// source, would span more than the window, or a member contradicts the
    /// new item; `None` when it admits it. `checked` is a member whose
    /// facts were just found not to contradict (its record is not decoded again).
    fn story_refuses(
        &self,
        story: i64,
        source: Option<u32>,
        day: i32,
        sig: &Signature,
        window: i32,
        checked: i64,
    ) -> Option<String> {
        let Some(members) = self.stories.get(&story) else {
            return Some("the story is gone".into());
        };
        let (mut lo, mut hi) = (day, day);
        for m in members.as_slice() {
            let e = &self.items[m];
            if Some(e.source) == source {
                return Some(format!("member {m} is of the same source"));
            }
            if *m != checked
                && let Some(v) = self.veto(e, sig)
            {
                return Some(format!("member {m}: {v}"));
            }
            lo = lo.min(e.day);
            hi = hi.max(e.day);
        }
        (hi - lo > window).then(|| format!("the story would span {} days", hi - lo))
    }
}

/// Least length of a term that counts as a compound name (folded, stemmed).
const COMPOUND_LEN: usize = 12;

/// Whether a term is long enough to be a compound name, and a word.
fn is_compound(term: &str) -> bool {
    term.len() >= COMPOUND_LEN && !term.starts_with('#')
}

/// A story day as the (day, month) a text would name it by.
fn day_of(day: i32) -> Option<(u8, u8)> {
    use chrono::Datelike;
    chrono::NaiveDate::from_num_days_from_ce_opt(day).map(|d| (d.day() as u8, d.month() as u8))
}

/// The share of `min_similarity` a corroborated pair needs.
const CORROBORATED: f64 = 0.3;

/// Whether two items agree on the facts of one event, beyond sharing
/// vocabulary: reports of one event from different angles ("the podcast
/// recorded at the conference", "our stand at the conference") share few
/// words, but name the same place and the same date or figures. Both must
/// be about the same gazetteer place (or the same named place), and agree on
/// a date (both name it, or one names the day the other was published) or
/// on a stated quantity. Together with a shared rare compound word, this
/// lets a pair below the similarity threshold join. A pair that shares no
/// other specific term (`lone`) needs more: a place of the region's
/// gazetteer, where partners' events happen (a headline's name, "Kiew: …",
/// is as often a person's or a far city's, whose reports share rare words
/// for other reasons), and the date — a count like "zwei Unternehmen" is
/// too common to stand in for it.
fn corroborated(a: &Facts, a_day: i32, b: &Facts, b_day: i32, lone: bool) -> bool {
    let same_place = a.key_places.iter().any(|p| b.key_places.contains(p))
        || (!lone && a.key_name.is_some() && a.key_name == b.key_name);
    if !same_place {
        return false;
    }
    let dates = a.dates.iter().any(|d| b.dates.contains(d))
        || day_of(b_day).is_some_and(|d| a.dates.contains(&d))
        || day_of(a_day).is_some_and(|d| b.dates.contains(&d));
    let quantity = !lone && a.quantities.iter().any(|q| b.quantities.contains(q));
    dates || quantity
}

/// The similarity two items `gap` calendar days apart need: `min_similarity`
/// up to three days apart, a fifth more for each further day. Reports of one
/// news appear within a few days (a weekly column three days later); items
/// further apart that share names and topic are more often follow-ups of one
/// saga (the next leg, the next statement), and what they share must be more
/// than the saga. (A steeper rise split the sample stories whose first
/// report was a late one.)
pub(crate) fn required_similarity(rules: &Rules, gap: i32) -> f64 {
    rules.min_similarity * (1.0 + 0.2 * f64::from((gap - 3).max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // The radio's report shares the battery, the place and the power with
        // B, enough to join on its own, but not the cost and the start of
        // operation that A and B both report.
        let radio = Signature::of(
            "Batteriespeicher Schwarze Pumpe",
            "Der Batteriespeicher mit 100 Megawatt in Schwarze Pumpe speichert Windstrom aus der Region für die Nacht.",
        );
        let b = Signature::of(B_TITLE, B_TEXT);
        let rules = Rules::default();
        // Both orders of insertion: the closer story wins, not the first or last one.
        for radio_first in [true, false] {
            let mut ix = StoryIndex::default();
            background(&mut ix, 1000);
            let a = Signature::of(A_TITLE, A_TEXT);
            if radio_first {
                ix.insert(2, "radio", 20, 120, &radio);
                ix.insert(1, "verein", 10, 120, &a);
            } else {
                ix.insert(1, "verein", 10, 120, &a);
                ix.insert(2, "radio", 20, 120, &radio);
            }
            let only = |story: i64| {
                let other: HashSet<i64> = [30 - story].into();
                ix.best_story("zeitung", 120, &b, &rules, &other)
                    .unwrap_or_else(|| panic!("B alone qualifies for story {story}"))
            };
            let (to_a, to_radio) = (only(10), only(20));
            assert!(
                to_a.similarity > to_radio.similarity,
                "A is the closer report: {to_a:?} {to_radio:?}"
            );
            let m = ix
                .best_story("zeitung", 120, &b, &rules, &HashSet::new())
                .unwrap();
            assert_eq!((m.story, m.item), (10, 1), "radio first: {radio_first}");
        }
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

    /// The story day of `d` June 2026.
    fn june(d: u32) -> i32 {
        use chrono::Datelike;
        chrono::NaiveDate::from_ymd_opt(2026, 6, d)
            .unwrap()
            .num_days_from_ce()
    }

    /// Reports of one event from different angles share its name, a rare
    /// long compound, and words the region's other news use too. With the
    /// same gazetteer place and the date agreeing, that one specific term is
    /// enough, and only then: not with another date, another place, a count
    /// in place of the date, or a headline's name in place of the place.
    #[test]
    fn a_lone_event_name_joins_with_the_place_and_the_date_behind_it() {
        let day = june;
        let rules = Rules::default();
        let podcast = Signature::of(
            "Folge 37: Live von der Fachkräftekonferenz",
            "Am 10. Juni waren wir auf der Fachkräftekonferenz in Cottbus und haben mit Beschäftigten und Unternehmen über Pendeln und Wohnungssuche gesprochen.",
        );
        let store = |podcast: &Signature| {
            let mut ix = StoryIndex::default();
            // The region's other news: Cottbus, Neuwerda, employees,
            // companies and two microphones are background.
            for i in 0..40 {
                let sig = Signature::of(
                    &format!("Meldung {i} aus Cottbus und Neuwerda"),
                    &format!(
                        "Beschäftigte und Unternehmen mit 2 Mikrofonen, Thema{i} Sache{i} Lausitz"
                    ),
                );
                ix.insert(
                    1000 + i,
                    &format!("bg{}", i % 5),
                    1000 + i,
                    day(1) + (i as i32 % 9),
                    &sig,
                );
            }
            ix.insert(1, "podcast", 10, day(10), podcast);
            ix
        };
        let hochschule = |text: &str| {
            Signature::of(
                "Fachkräftekonferenz: Hochschule wirbt für duale Studiengänge",
                text,
            )
        };
        let report = hochschule(
            "Auf der Fachkräftekonferenz in Cottbus stellte die Transferstelle Beschäftigten und Unternehmen duale Studienangebote vor.",
        );
        let ix = store(&podcast);
        // The pair shares one specific term, the event's name; the rest is background.
        let specific = specific_max(ix.counted);
        let shared: Vec<&str> = report
            .terms
            .iter()
            .filter(|t| podcast.has_term(t))
            .collect();
        let specific_shared: Vec<&&str> = shared
            .iter()
            .filter(|t| ix.df(ix.vocab[**t]) <= specific)
            .collect();
        assert!(shared.len() >= rules.min_shared_terms, "{shared:?}");
        assert_eq!(specific_shared, [&"fachkraftekonferenz"], "{shared:?}");

        let joined = ix.best_story("hochschule", day(10), &report, &rules, &HashSet::new());
        assert_eq!(
            joined.map(|m| m.story),
            Some(10),
            "published on the day the podcast names"
        );
        assert_eq!(
            ix.best_story("hochschule", day(12), &report, &rules, &HashSet::new()),
            None,
            "published two days later: no date in common"
        );
        let elsewhere = hochschule(
            "Auf der Fachkräftekonferenz in Hoyerswerda stellte die Transferstelle Beschäftigten und Unternehmen duale Studienangebote vor.",
        );
        assert_eq!(
            ix.best_story("hochschule", day(10), &elsewhere, &rules, &HashSet::new()),
            None,
            "another town"
        );
        // A count in common does not stand in for the date.
        let undated = Signature::of(
            "Folge 37: Live von der Fachkräftekonferenz",
            "Wir waren mit 2 Mikrofonen auf der Fachkräftekonferenz in Cottbus und haben mit Beschäftigten und Unternehmen über Pendeln und Wohnungssuche gesprochen.",
        );
        let counted = hochschule(
            "Mit 2 Mikrofonen: auf der Fachkräftekonferenz in Cottbus stellte die Transferstelle Beschäftigten und Unternehmen duale Studienangebote vor.",
        );
        assert!(
            undated
                .facts
                .quantities
                .iter()
                .any(|q| counted.facts.quantities.contains(q))
        );
        assert_eq!(
            store(&undated).best_story("hochschule", day(12), &counted, &rules, &HashSet::new()),
            None,
            "a shared count without the date"
        );
        // A headline's name ("Neuwerda: …", a town outside the gazetteer)
        // with the date: enough beside two specific terms, not beside one.
        let named = Signature::of(
            "Neuwerda: Folge 37 von der Fachkräftekonferenz",
            "Am 10. Juni waren wir auf der Fachkräftekonferenz in Neuwerda und haben mit Beschäftigten und Unternehmen über Pendeln und Wohnungssuche gesprochen.",
        );
        let named_report = Signature::of(
            "Neuwerda: Hochschule wirbt auf der Fachkräftekonferenz",
            "In Neuwerda stellte die Transferstelle Beschäftigten und Unternehmen duale Studienangebote vor.",
        );
        assert!(
            named.facts.key_name.is_some() && named.facts.key_name == named_report.facts.key_name
        );
        assert!(named.facts.key_places.is_empty() && named_report.facts.key_places.is_empty());
        assert_eq!(
            store(&named).best_story(
                "hochschule",
                day(10),
                &named_report,
                &rules,
                &HashSet::new()
            ),
            None,
            "a headline's name is not a gazetteer place"
        );
    }

    /// The search's early check of a lone compound's facts, on symbol ids,
    /// says what `corroborated` says without quantities, for every pair of
    /// these texts and every pair of days around the dates they name.
    #[test]
    fn the_early_place_and_date_check_agrees_with_corroborated() {
        let texts = [
            (
                "Fachkräftekonferenz in Cottbus",
                "Am 10. Juni kamen 350 Gäste.",
            ),
            (
                "Fachkräftekonferenz",
                "In Cottbus stellte die Hochschule Studiengänge vor.",
            ),
            (
                "Rückblick",
                "Auf der Konferenz in Cottbus am 11. Juni und am 10. Juni.",
            ),
            ("Konferenz in Hoyerswerda", "Am 10. Juni, 350 Gäste."),
            ("Neuwerda: Bürgerfest", "Am 12. Juni feiert Neuwerda."),
            ("Neuwerda: Rückblick", "Das Bürgerfest am 12. Juni."),
            ("Ohne Ort", "Am 10. Juni."),
            ("Ohne alles", "Nichts."),
        ];
        let sigs: Vec<Signature> = texts.iter().map(|(t, x)| Signature::of(t, x)).collect();
        let mut records = Records::default();
        let ats: Vec<At> = sigs.iter().map(|s| records.push(&[], &s.facts)).collect();
        let (mut agreed, mut pairs) = (0, 0);
        for (a, at) in sigs.iter().zip(&ats) {
            for b in &sigs {
                let item = records.place_and_dates(&b.facts);
                for a_day in (9..=13).map(june) {
                    for b_day in (9..=13).map(june) {
                        let dated = day_of(a_day).is_some_and(|d| b.facts.dates.contains(&d));
                        let early =
                            records.agrees_on_place_and_date(*at, &item, day_of(b_day), dated);
                        let full = corroborated(&records.facts(*at), a_day, &b.facts, b_day, true);
                        assert_eq!(early, full, "{a:?} on {a_day} / {b:?} on {b_day}");
                        agreed += usize::from(full);
                        pairs += 1;
                    }
                }
            }
        }
        // Both verdicts occur: the check is not trivially one-sided.
        assert!(agreed > 0 && agreed < pairs, "{agreed} of {pairs}");
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
        assert_eq!(ix.stories[&10].as_slice(), [2]);
        ix.remove(2);
        assert!(ix.stories.is_empty() && ix.is_empty());
        // Re-inserting replaces.
        ix.insert(3, "a", 11, 1, &Signature::of("X Y Z", ""));
        ix.insert(3, "a", 12, 2, &Signature::of("X Y Z", ""));
        assert_eq!(ix.len(), 1);
        assert_eq!(ix.story_of(3), Some(12));
    }

    #[test]
    fn older_items_stay_loaded_until_they_outnumber_the_window() {
        let mut ix = StoryIndex::from_day(100);
        let sig = Signature::of("Meldung aus Cottbus", "Text");
        for i in 0..10 {
            ix.insert(i, "a", i, 100 + (i as i32 % 3), &sig);
        }
        // Loaded for backdated items: kept while no more than MIN_OLDER.
        for i in 10..10 + MIN_OLDER as i64 {
            ix.insert(i, "a", i, 50, &sig);
        }
        assert!(!ix.needs_evicting(100));
        // A story with a member in the window stays whole, however old its others.
        ix.insert(100_000, "b", 7, 40, &sig);
        assert!(ix.needs_evicting(100));
        assert_eq!(ix.evict_before(100), MIN_OLDER);
        assert_eq!((ix.len(), ix.counted()), (11, MIN_OLDER + 11));
        assert!(ix.contains(100_000) && ix.contains(7));
        assert!(!ix.needs_evicting(100));
        // Loaded again the same day (a partner dating every item long ago):
        // the next unload waits for twice as many, so reloads stay rare.
        let mut reloaded = 0;
        while !ix.needs_evicting(100) {
            ix.insert(10 + reloaded, "a", 10 + reloaded, 50, &sig);
            reloaded += 1;
        }
        // The older items then were MIN_OLDER and item 100,000; one more than twice that unloads.
        assert_eq!(reloaded as usize, 2 * (MIN_OLDER + 1));
        assert_eq!(ix.evict_before(100), reloaded as usize);
        let counted = ix.counted();
        // The day moves on: the stories of day 100 go; story 7 (day 101) stays whole.
        assert!(ix.needs_evicting(101));
        assert_eq!(ix.evict_before(101), 4);
        assert!(!ix.contains(0) && ix.contains(7) && ix.contains(100_000));
        assert_eq!(ix.counted(), counted, "still counted for IDF");
        // A new day forgets the allowance the last day's unloads earned.
        assert_eq!(ix.older_allowance, 0);
    }

    #[test]
    fn an_unload_the_count_forces_keeps_the_older_days_new_items_reached() {
        let mut ix = StoryIndex::from_day(100);
        let sig = Signature::of("Meldung aus Cottbus", "Text");
        // Older days 10..=19 and 50..=59 loaded; new items reached 50..=59 since.
        for i in 0..2 * MIN_OLDER as i64 {
            let day = if i % 2 == 0 { 10 } else { 50 } + (i as i32 % 10);
            ix.insert(i, "a", i, day, &sig);
        }
        ix.days_loaded(10, 19);
        ix.days_loaded(50, 59);
        ix.reached(46, 63);
        // A story of an unreached day with a member on a reached one stays whole.
        ix.insert(100_000, "b", 0, 55, &sig);
        assert!(ix.needs_evicting(100));
        assert_eq!(ix.evict_before(100), MIN_OLDER - 1);
        assert!(ix.contains(0) && ix.contains(100_000) && !ix.contains(2));
        assert!(
            (0..2 * MIN_OLDER as i64)
                .filter(|i| i % 2 == 1)
                .all(|i| ix.contains(i))
        );
        assert_eq!(ix.missing_days(8, 60), vec![(8, 49), (60, 60)]);
        // What the next unload keeps is what was reached after this one: nothing here.
        assert_eq!(ix.counted(), 2 * MIN_OLDER + 1);
        assert_eq!(ix.evict_before(100), MIN_OLDER + 2);
        assert_eq!(ix.len(), 0);
        assert_eq!(ix.missing_days(50, 60), vec![(50, 60)]);
    }

    #[test]
    fn days_whose_counted_items_are_all_loaded_need_no_reading() {
        let mut ix = StoryIndex::from_day(100);
        let sig = Signature::of("Meldung aus Cottbus", "Text");
        // Nothing stored: every day is held whole, loaded or not.
        assert!(ix.holds_all_of(0, 99));
        ix.count_unloaded(&sig, 40);
        assert!(!ix.holds_all_of(38, 42) && ix.holds_all_of(41, 99));
        ix.load(7, "a", 7, 40, &sig);
        assert!(ix.holds_all_of(38, 42));
        // New items are counted and loaded at once; a deleted one is neither.
        ix.insert(8, "a", 8, 41, &sig);
        assert!(ix.holds_all_of(0, 99));
        ix.count_unloaded(&sig, 41);
        assert!(!ix.holds_all_of(41, 41));
        ix.uncount_unloaded(&sig, 41);
        ix.remove(7);
        assert!(ix.holds_all_of(0, 99));
        // Unloaded by the clock, still counted: to be read again.
        ix.evict_before(101);
        assert!(!ix.holds_all_of(41, 41) && ix.holds_all_of(42, 99));
    }

    #[test]
    fn an_insert_after_a_search_uses_its_lookups_and_the_terms_known_since() {
        let mut ix = StoryIndex::default();
        background(&mut ix, 1000);
        let (a, b) = (
            Signature::of(A_TITLE, A_TEXT),
            Signature::of(B_TITLE, B_TEXT),
        );
        let rules = Rules::default();
        // B is looked up while the terms it shares with A are unknown; A is stored, then B.
        assert_eq!(
            ix.best_story("zeitung", 121, &b, &rules, &HashSet::new()),
            None
        );
        ix.insert(1, "verein", 10, 120, &a);
        ix.insert(2, "zeitung", 20, 121, &b);
        for (item, sig) in [(1, &a), (2, &b)] {
            let mut stored = Vec::new();
            ix.records.terms_into(ix.items[&item].at, &mut stored);
            let mut want: Vec<u32> = sig.terms.iter().map(|t| ix.vocab[t]).collect();
            want.sort_unstable();
            assert_eq!(stored, want, "item {item}");
            assert!(stored.iter().all(|t| ix.df(*t) >= 1));
        }
        // B, looked up again, finds the story of A through the terms they share.
        ix.remove(2);
        assert_eq!(
            ix.best_story("zeitung", 121, &b, &rules, &HashSet::new())
                .map(|m| m.story),
            Some(10)
        );
    }

    #[test]
    fn an_entry_keeps_its_facts_packed_and_gives_them_back_whole() {
        let mut ix = StoryIndex::default();
        let sig = Signature::of(A_TITLE, A_TEXT);
        assert_ne!(sig.facts, Facts::default(), "the sample names figures");
        ix.insert(1, "verein", 10, 120, &sig);
        ix.insert(2, "verein", 11, 120, &Signature::of("Ohne", "nichts"));
        assert_eq!(ix.records.facts(ix.items[&1].at), sig.facts);
        assert!(!ix.records.has_facts(ix.items[&2].at));
        assert_eq!(ix.records.facts(ix.items[&2].at), Facts::default());
    }

    /// The search skips candidates by bounds (the shared weight before a
    /// record is decoded, the shared terms' norm before the candidate's
    /// norm is weighed); `explain`'s trace weighs every candidate in full.
    /// Both must pick the same story for every item, on texts near the
    /// threshold: retellings with words dropped, longer reports around a
    /// short one, long compounds, sums.
    #[test]
    fn the_searchs_bounds_pick_what_weighing_every_candidate_picks() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let stems = [
            "Speicher",
            "Bahnhof",
            "Kraftwerk",
            "Fachkräftekonferenz",
            "Wasserstoffzentrum",
            "Radweg",
            "Schule",
            "Gemeinde",
            "Förderbescheid",
            "Strukturwandelprojekt",
        ];
        let text = |words: usize, next: &mut dyn FnMut(u64) -> u64| {
            let mut t = Vec::new();
            for _ in 0..words {
                let w = match next(12) {
                    0 => format!("{} Millionen Euro", next(40)),
                    1 => format!("am {}. März", 1 + next(28)),
                    2 | 3 => "der".to_string(),
                    _ => {
                        let i = next(300) as usize;
                        format!("{}{}", stems[i % stems.len()], i / 3)
                    }
                };
                t.push(w);
            }
            t
        };
        let (mut ix, rules) = (StoryIndex::default(), Rules::default());
        let (mut found, mut compared) = (0, 0);
        let mut stored: Vec<Vec<String>> = Vec::new();
        for item in 0..600i64 {
            let words = if item % 3 == 0 && !stored.is_empty() {
                // A retelling of an earlier item: some of its words dropped, some new.
                let orig = &stored[next(stored.len() as u64) as usize];
                let keep = 2 + next(5);
                let mut w: Vec<String> = orig.iter().filter(|_| next(keep) != 0).cloned().collect();
                w.extend(text(4, &mut next));
                w
            } else if item % 3 == 1 && !stored.is_empty() {
                // A longer report around an earlier one: all of its words and
                // more, so that the similarity falls near the threshold.
                let mut w = stored[next(stored.len() as u64) as usize].clone();
                let more = 10 + next(140) as usize;
                w.extend(text(more, &mut next));
                w
            } else {
                let words = 8 + next(25) as usize;
                text(words, &mut next)
            };
            let sig = Signature::of(&words[..3].join(" "), &words[3..].join(" "));
            let (source, day) = (format!("s{}", item % 7), 100 + (item / 40) as i32);
            let best = ix.best_story(&source, day, &sig, &rules, &HashSet::new());
            let (full, trace) = ix.candidates(&source, day, &sig, &rules);
            assert_eq!(best, full, "item {item}: {trace:?}");
            found += usize::from(best.is_some());
            compared += trace.len();
            let story = best.map_or(10_000 + item, |m| m.story);
            ix.insert(item, &source, story, day, &sig);
            stored.push(words);
        }
        // Enough matches and weighed candidates that a wrong bound would show.
        assert!(
            found >= 50 && compared >= 1000,
            "{found} found, {compared} weighed"
        );
    }
}
