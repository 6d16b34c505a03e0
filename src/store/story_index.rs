//! The in-memory story index and where it comes from: the `story_sig` column
//! of the items table. The index is a cache of that column; it is built on
//! first use, kept current by this connection's own writes, and rebuilt when
//! another connection (a `fetch --once` beside the daemon) has written to the
//! file, as `PRAGMA data_version` tells. Signatures missing or of an older
//! analysis are computed once from the stored title and text.
//!
//! It is bounded by the matching window, not by history: it loads the
//! stories with an item dated in the days new items reach (today ± the
//! rules' window, and [`MARGIN_DAYS`] more before), unloads the days the clock
//! leaves behind, and loads older days from SQLite (by `published`) when a
//! backdated item needs them ([`reach`]), and a whole story when an item
//! joins or replaces one that is not loaded ([`load_story`]). Every indexed
//! item of history stays counted for IDF, so the stories found are those of
//! an index holding everything.

use std::sync::{Arc, MutexGuard};

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ingest::signature_from;
use super::{Result, Store, from_ts};
use crate::story::{Rules, Signature, StoryIndex, story_day};

/// Days before the window's reach of today kept loaded too: items arrive a
/// little late (a partner's clock, a feed read once a day), and an item
/// dated within these days needs no load from SQLite.
pub(crate) const MARGIN_DAYS: i32 = 3;

/// What "now" is for the index's window: the system clock, or a test's.
#[derive(Clone)]
struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock(Arc::new(Utc::now))
    }
}

/// The matching rules and the index, behind the store's lock.
#[derive(Debug, Default)]
pub(crate) struct StoryState {
    pub(crate) rules: Rules,
    index: Option<(StoryIndex, i64)>,
    clock: Clock,
}

fn data_version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
}

impl StoryState {
    /// The index, current with the database and the clock; the caller puts
    /// it back with [`put_index`](Self::put_index) after a successful write.
    pub(crate) fn take_fresh_index(&mut self, c: &mut Connection) -> Result<StoryIndex> {
        let version = data_version(c)?;
        let first = self.first_day();
        match self.index.take() {
            Some((mut index, seen)) if seen == version => {
                if index.needs_evicting(first) {
                    let unloaded = index.evict_before(first);
                    tracing::debug!(unloaded, first_day = first, "story index: days unloaded");
                }
                Ok(index)
            }
            _ => load(c, first),
        }
    }

    /// The first day the index keeps loaded: the earliest a new item dated
    /// [`MARGIN_DAYS`] before today reaches.
    fn first_day(&self) -> i32 {
        let window = i32::try_from(self.rules.window_days).unwrap_or(i32::MAX);
        story_day((self.clock.0)())
            .saturating_sub(window)
            .saturating_sub(MARGIN_DAYS)
    }

    /// Keeps the index after a successful write.
    pub(crate) fn put_index(&mut self, c: &Connection, index: StoryIndex) -> Result<()> {
        // Our own commits leave data_version unchanged, so this is the value the next use compares with.
        self.index = Some((index, data_version(c)?));
        Ok(())
    }

    /// Forgets the index: it is rebuilt from the database on next use.
    pub(crate) fn drop_index(&mut self) {
        self.index = None;
    }
}

/// The first second (UTC) that may fall on Berlin day `day`, or on a later
/// one: Berlin is at most two hours ahead of UTC; generous by an hour.
fn day_floor(day: i32) -> i64 {
    NaiveDate::from_num_days_from_ce_opt(day).map_or(
        if day < 0 { i64::MIN } else { i64::MAX },
        |d| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp()
                - 3 * 3600
        },
    )
}

/// The first second (UTC) past Berlin day `day`, or later.
fn day_ceiling(day: i32) -> i64 {
    match day.checked_add(1) {
        Some(next) => day_floor(next).saturating_add(3 * 3600),
        None => i64::MAX,
    }
}

// Items are selected by publication time through the (source, published)
// index, a range per source (`source_id IN (SELECT id FROM sources)`: every
// item's source is a row there, a foreign key): ~5 ms at 1,000 sources. No
// index on `published` alone: one more B-tree written for every stored
// item, to save milliseconds when a backdated item arrives.

/// Builds the index: every stored item's signature counted, and the stories
/// with an item from `first_day` on loaded.
fn load(c: &mut Connection, first_day: i32) -> Result<StoryIndex> {
    let started = std::time::Instant::now();
    let mut index = StoryIndex::from_day(first_day);
    // Sorted and unique here, not by SQLite (DISTINCT is a temporary B-tree
    // beside it): a plain list is the least memory for the load's peak.
    let recent: Vec<i64> = {
        let mut stmt = c.prepare(
            "SELECT story_id FROM items WHERE hidden IS NULL \
             AND source_id IN (SELECT id FROM sources) AND published >= ?1",
        )?;
        let rows = stmt.query_map([day_floor(first_day)], |r| r.get(0))?;
        let mut recent = rows.collect::<rusqlite::Result<Vec<i64>>>()?;
        recent.sort_unstable();
        recent.dedup();
        recent
    };
    let mut stale: Vec<(i64, bool)> = Vec::new();
    {
        let mut stmt =
            // Hidden items are not matched against: the rules removed them.
            c.prepare("SELECT id, source_id, story_id, published, story_sig FROM items WHERE hidden IS NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let story: i64 = r.get(2)?;
            let loaded = recent.binary_search(&story).is_ok();
            let sig: Option<String> = r.get(4)?;
            match sig.as_deref().and_then(Signature::decode) {
                Some(sig) if loaded => {
                    let source: String = r.get(1)?;
                    index.insert(id, &source, story, story_day(from_ts(r.get(3)?)), &sig);
                }
                Some(sig) => index.count_unloaded(&sig, story_day(from_ts(r.get(3)?))),
                None => stale.push((id, loaded)),
            }
        }
    }
    if !stale.is_empty() {
        let tx = c.transaction()?;
        {
            let mut read = tx.prepare(
                "SELECT source_id, story_id, published, title, text, summary_html, content_html FROM items WHERE id = ?1",
            )?;
            let mut write = tx.prepare("UPDATE items SET story_sig = ?2 WHERE id = ?1")?;
            for (id, loaded) in &stale {
                type Row = (
                    String,
                    i64,
                    i64,
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                );
                let (source, story, published, title, text, summary, content): Row = read
                    .query_row([id], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ))
                    })?;
                let sig = signature_from(&title, &text, summary.as_deref(), content.as_deref());
                write.execute(params![id, sig.encode()])?;
                if *loaded {
                    index.insert(*id, &source, story, story_day(from_ts(published)), &sig);
                } else {
                    index.count_unloaded(&sig, story_day(from_ts(published)));
                }
            }
        }
        tx.commit()?;
    }
    index.shrink_to_fit();
    tracing::debug!(
        items = index.counted(),
        loaded = index.len(),
        first_day,
        computed = stale.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "story index built"
    );
    Ok(index)
}

/// Loads the stories of the rows `sql` selects (id, source, story,
/// published, signature), those not loaded yet. Not sorted by SQLite (a
/// sorter holding every row's signature): read through `items_story`, a
/// story's members come in the order of their ids, as a full load puts them.
fn load_rows(
    c: &Connection,
    index: &mut StoryIndex,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<()> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if index.contains(id) {
            continue;
        }
        let (source, story, published): (String, i64, i64) = (r.get(1)?, r.get(2)?, r.get(3)?);
        let day = story_day(from_ts(published));
        let sig: Option<String> = r.get(4)?;
        match sig.as_deref().and_then(Signature::decode) {
            Some(sig) => index.load(id, &source, story, day, &sig),
            None => {
                // Stored without a signature after the index was built (it
                // was not counted then): computed, counted and loaded now.
                let (title, text, summary, content): (
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                ) = c.query_row(
                    "SELECT title, text, summary_html, content_html FROM items WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?;
                let sig = signature_from(&title, &text, summary.as_deref(), content.as_deref());
                index.insert(id, &source, story, day, &sig);
            }
        }
    }
    Ok(())
}

/// Makes sure the index holds every story a new item dated `day` may
/// join: the days within `window` of it, loaded from SQLite where missing
/// (a backdated item, an old one published again).
pub(super) fn reach(c: &Connection, index: &mut StoryIndex, day: i32, window: u32) -> Result<()> {
    let window = i32::try_from(window).unwrap_or(i32::MAX);
    let (first, last) = (day.saturating_sub(window), day.saturating_add(window));
    index.reached(first, last);
    for (from, to) in index.missing_days(first, last) {
        if index.holds_all_of(from, to) {
            // Nothing stored there that is not loaded (a fresh store's backdated items).
            index.days_loaded(from, to);
            continue;
        }
        load_rows(
            c,
            index,
            "SELECT id, source_id, story_id, published, story_sig FROM items \
             WHERE hidden IS NULL AND story_id IN \
             (SELECT story_id FROM items WHERE hidden IS NULL \
             AND source_id IN (SELECT id FROM sources) AND published >= ?1 AND published < ?2)",
            params![day_floor(from), day_ceiling(to)],
        )?;
        index.days_loaded(from, to);
        tracing::debug!(
            from,
            to,
            loaded = index.len(),
            "story index: older days loaded"
        );
    }
    Ok(())
}

/// Loads a story whole when the index does not hold it: before an item
/// joins it (by its link, whatever its date) or one of its items is
/// replaced (its old signature must be the one counted).
pub(super) fn load_story(c: &Connection, index: &mut StoryIndex, story: i64) -> Result<()> {
    if index.has_story(story) {
        return Ok(());
    }
    load_rows(
        c,
        index,
        "SELECT id, source_id, story_id, published, story_sig FROM items \
         WHERE hidden IS NULL AND story_id = ?1 ORDER BY id",
        [story],
    )
}

/// Forgets an item about to be deleted: unloaded if loaded, and uncounted
/// either way (an item not loaded by its stored signature).
pub(super) fn forget(c: &Connection, index: &mut StoryIndex, item: i64) -> Result<()> {
    if index.contains(item) {
        index.remove(item);
        return Ok(());
    }
    let row: Option<(Option<String>, i64)> = c
        .prepare_cached("SELECT story_sig, published FROM items WHERE id = ?1 AND hidden IS NULL")?
        .query_row([item], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((Some(sig), published)) = row
        && let Some(sig) = Signature::decode(&sig)
    {
        index.uncount_unloaded(&sig, story_day(from_ts(published)));
    }
    Ok(())
}

impl Store {
    pub(crate) fn story_state(&self) -> MutexGuard<'_, StoryState> {
        self.inner.stories.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rules new items are matched into stories by (`[stories]` in the config).
    pub fn set_story_rules(&self, rules: Rules) {
        let enabled = rules.enabled;
        self.story_state().rules = rules;
        // What `prepare_ingest` reads before the writer, without this lock.
        self.inner
            .group
            .matching
            .store(enabled, std::sync::atomic::Ordering::Relaxed);
    }

    /// The clock the index's window follows (tests move it by hand).
    #[cfg(test)]
    pub(crate) fn set_story_clock(
        &self,
        clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static,
    ) {
        self.story_state().clock = Clock(Arc::new(clock));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::*;
    use crate::model::Item;
    use crate::store::ingest::tests::{one_item_poll, store_with};
    use crate::store::to_ts;

    const SOURCES: [&str; 6] = ["s0", "s1", "s2", "s3", "s4", "s5"];

    /// A store whose index follows `clock` (seconds since the epoch).
    fn store(clock: &Arc<AtomicI64>) -> Store {
        let store = store_with(&SOURCES, Rules::default());
        let clock = Arc::clone(clock);
        store.set_story_clock(move || from_ts(clock.load(Ordering::Relaxed)));
        store
    }

    fn day0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 11, 0, 0).unwrap()
    }

    fn at_day(day: i64) -> DateTime<Utc> {
        day0() + Duration::days(day)
    }

    fn item(guid: &str, link_key: &str, title: &str, text: &str, published: DateTime<Utc>) -> Item {
        Item {
            guid: Some(guid.to_string()),
            link: Some(format!("https://{link_key}")),
            link_key: Some(link_key.to_string()),
            title: title.to_string(),
            text: text.to_string(),
            published: Some(published),
            ..Item::default()
        }
    }

    /// splitmix64: a seeded sequence, the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// A made-up word of three syllables, capitalised: unique enough to be a rare term.
        fn word(&mut self) -> String {
            const ONSETS: [&str; 12] = ["b", "d", "f", "g", "k", "l", "m", "n", "r", "s", "t", "w"];
            const VOWELS: [&str; 5] = ["a", "e", "i", "o", "u"];
            let mut w = String::new();
            for _ in 0..3 {
                w.push_str(ONSETS[self.below(12) as usize]);
                w.push_str(VOWELS[self.below(5) as usize]);
                w.push_str(ONSETS[self.below(12) as usize]);
            }
            let mut c = w.chars();
            let first = c.next().unwrap().to_ascii_uppercase();
            std::iter::once(first).chain(c).collect()
        }
    }

    fn index_of(store: &Store) -> StoryIndex {
        store
            .with(|c| {
                let mut state = store.story_state();
                let index = state.take_fresh_index(c)?;
                Ok(index)
            })
            .unwrap()
    }

    fn put_back(store: &Store, index: StoryIndex) {
        store
            .with(|c| store.story_state().put_index(c, index))
            .unwrap();
    }

    /// `per_day` unrelated items on each of `days` days, the clock moving with them.
    fn history(days: i64, per_day: usize, clock: &Arc<AtomicI64>) -> Store {
        let mut rng = Rng(days as u64);
        let store = store(clock);
        for day in 0..days {
            clock.store(to_ts(at_day(day)), Ordering::Relaxed);
            for k in 0..per_day {
                let source = SOURCES[k % SOURCES.len()];
                let words: Vec<String> = (0..8).map(|_| rng.word()).collect();
                let guid = format!("{source}-{day}-{k}");
                let it = item(
                    &guid,
                    &guid,
                    &words[..3].join(" "),
                    &words[3..].join(" "),
                    at_day(day),
                );
                store
                    .ingest(one_item_poll(source, it, at_day(day), None))
                    .unwrap();
            }
        }
        store
    }

    #[test]
    fn the_index_holds_the_window_whatever_the_history() {
        let clock = Arc::new(AtomicI64::new(0));
        // Days 193..=199 of 200 are those the window (4) and the margin (3) keep before today.
        let first = 199 - i64::from(Rules::default().window_days) - i64::from(MARGIN_DAYS);
        let mut loaded = Vec::new();
        for days in [100, 200] {
            let store = history(days, 3, &clock);
            // Rebuilt from the database, as at start-up.
            store.story_state().drop_index();
            let index = index_of(&store);
            assert_eq!(index.counted(), days as usize * 3, "all history is counted");
            let first = days - 1 - (199 - first);
            assert_eq!(
                index.len(),
                (days - first) as usize * 3,
                "only the window is loaded"
            );
            for (id, published) in stored(&store) {
                let day = story_day(from_ts(published));
                assert_eq!(
                    index.contains(id),
                    day >= story_day(at_day(first)),
                    "item {id}"
                );
            }
            loaded.push(index.len());
        }
        assert_eq!(loaded[0], loaded[1], "twice the history, the same index");
    }

    fn stored(store: &Store) -> Vec<(i64, i64)> {
        store
            .with(|c| {
                let mut stmt = c.prepare("SELECT id, published FROM items ORDER BY id")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap()
    }

    #[test]
    fn days_fall_out_as_the_clock_moves() {
        let clock = Arc::new(AtomicI64::new(0));
        let store = history(30, 2, &clock);
        let index = index_of(&store);
        // Built as the items came: every day was recent once; today's window stays.
        assert_eq!(index.counted(), 60);
        assert_eq!(index.len(), 8 * 2, "days 22..=29");
        put_back(&store, index);
        clock.store(to_ts(at_day(29 + 5)), Ordering::Relaxed);
        let index = index_of(&store);
        assert_eq!((index.len(), index.counted()), (3 * 2, 60), "days 27..=29");
        let newest = stored(&store).last().unwrap().0;
        assert!(index.contains(newest));
        put_back(&store, index);
        clock.store(to_ts(at_day(29 + 8)), Ordering::Relaxed);
        let index = index_of(&store);
        assert_eq!((index.len(), index.counted()), (0, 60));
    }

    const STORY_A: [&str; 2] = [
        "Größter Batteriespeicher der Lausitz geht ans Netz",
        "In Schwarze Pumpe hat der Batteriespeicher mit 100 Megawatt den Betrieb aufgenommen. 120 Millionen Euro wurden investiert.",
    ];
    const STORY_B: [&str; 2] = [
        "Schwarze Pumpe: Großbatteriespeicher in Betrieb",
        "Der Batteriespeicher in Schwarze Pumpe ist gestartet: 100 MW Leistung, 120 Mio. Euro Kosten.",
    ];

    #[test]
    fn a_backdated_item_joins_its_old_story_as_with_every_day_loaded() {
        let mut found = Vec::new();
        for bounded in [true, false] {
            let clock = Arc::new(AtomicI64::new(0));
            let store = history(200, 2, &clock);
            // The first report on day 50, arriving on time then.
            let a = item("a", "a.example/1", STORY_A[0], STORY_A[1], at_day(50));
            store
                .ingest(one_item_poll("s4", a, at_day(200), None))
                .unwrap();
            if !bounded {
                // A clock before every item: every day is loaded, as before the bound.
                clock.store(to_ts(at_day(-30)), Ordering::Relaxed);
            }
            store.story_state().drop_index();
            let index = index_of(&store);
            assert_eq!(index.len() < index.counted(), bounded);
            put_back(&store, index);
            // Another partner's report of day 51, delivered 150 days late.
            let b = item("b", "b.example/1", STORY_B[0], STORY_B[1], at_day(51));
            store
                .ingest(one_item_poll("s5", b, at_day(201), None))
                .unwrap();
            let explained = store.explain("b.example/1").unwrap().unwrap();
            let stories: Vec<i64> = store
                .with(|c| {
                    let mut stmt = c.prepare(
                        "SELECT story_id FROM items WHERE guid IN ('a', 'b') ORDER BY guid",
                    )?;
                    let rows = stmt.query_map([], |r| r.get(0))?;
                    Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
                })
                .unwrap();
            assert_eq!(stories[0], stories[1], "bounded: {bounded}");
            found.push(format!("{explained:?}"));
        }
        assert_eq!(found[0], found[1], "explain says the same");
    }

    /// One delivery of the replayed corpus: a poll of `source` at day `at`.
    struct Delivery {
        at: i64,
        source: &'static str,
        item: Item,
        keep_days: Option<u32>,
    }

    /// A corpus of stories reported by several partners, some late (days
    /// or months after their date), some published again under their link
    /// weeks later, some edited, over background items sharing a common
    /// vocabulary, with retention deleting old items: every path that
    /// loads, evicts, counts or uncounts.
    fn corpus(seed: u64) -> Vec<Delivery> {
        let mut rng = Rng(seed);
        let common: Vec<String> = (0..40).map(|_| rng.word()).collect();
        let mut out = Vec::new();
        let pick_common = |rng: &mut Rng, n: usize| -> Vec<String> {
            (0..n)
                .map(|_| common[rng.below(common.len() as u64) as usize].clone())
                .collect()
        };
        for story in 0..70 {
            let day = rng.below(180) as i64;
            let words: Vec<String> = (0..9).map(|_| rng.word()).collect();
            let reports = 2 + rng.below(3) as usize;
            let mut first_link = None;
            for r in 0..reports {
                // With replacement: a second report of a source must found a story of its own.
                let source = SOURCES[rng.below(SOURCES.len() as u64) as usize];
                let mut mine: Vec<String> = words
                    .iter()
                    .filter(|_| rng.below(4) != 0)
                    .cloned()
                    .collect();
                mine.extend(pick_common(&mut rng, 3));
                let title = format!(
                    "{} {} in {}",
                    mine[0],
                    mine.get(1).unwrap_or(&words[1]),
                    words[8]
                );
                let text = format!("Bericht: {}.", mine.join(" "));
                let guid = format!("story{story}-{r}");
                let mut link = format!("{source}.example/{guid}");
                let mut date = day + rng.below(3) as i64;
                if r > 0 && rng.below(8) == 0 {
                    // An old item published again under its link, weeks later.
                    if let Some(l) = &first_link {
                        link = String::clone(l);
                        date = day + 20 + rng.below(40) as i64;
                    }
                }
                first_link.get_or_insert_with(|| link.clone());
                let delay = match rng.below(7) {
                    0 => 5 + rng.below(60) as i64,
                    1 => 1,
                    _ => 0,
                };
                let keep_days = (rng.below(3) == 0).then_some(90);
                out.push(Delivery {
                    at: date + delay,
                    source,
                    item: item(&guid, &link, &title, &text, at_day(date)),
                    keep_days,
                });
                if rng.below(10) == 0 {
                    let mut edited = item(
                        &guid,
                        &link,
                        &title,
                        &format!("{text} Ergänzt: {}.", words[2]),
                        at_day(date),
                    );
                    edited.updated = Some(at_day(date + 1));
                    out.push(Delivery {
                        at: date + delay + 10 + rng.below(40) as i64,
                        source,
                        item: edited,
                        keep_days: None,
                    });
                }
            }
        }
        for k in 0..250 {
            let day = rng.below(200) as i64;
            let source = SOURCES[rng.below(SOURCES.len() as u64) as usize];
            let mut words = pick_common(&mut rng, 5);
            words.push(rng.word());
            let guid = format!("bg{k}");
            out.push(Delivery {
                at: day,
                source,
                item: item(
                    &guid,
                    &format!("{source}.example/{guid}"),
                    &words[..2].join(" "),
                    &words.join(" "),
                    at_day(day),
                ),
                keep_days: Some(120),
            });
        }
        out.sort_by_key(|d| d.at);
        out
    }

    /// Each item's story and what `explain` says of it, after replaying the corpus.
    fn replay(
        deliveries: &[Delivery],
        bounded: bool,
    ) -> (Vec<(String, i64)>, Vec<String>, usize, usize) {
        let clock = Arc::new(AtomicI64::new(to_ts(at_day(-30))));
        let store = store(&clock);
        for d in deliveries {
            let at = at_day(d.at) + Duration::hours(1);
            if bounded {
                clock.store(to_ts(at), Ordering::Relaxed);
            }
            store
                .ingest(one_item_poll(d.source, d.item.clone(), at, d.keep_days))
                .unwrap();
        }
        let stories: Vec<(String, i64)> = store
            .with(|c| {
                let mut stmt = c.prepare("SELECT guid, story_id FROM items ORDER BY id")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap();
        let links: Vec<String> = store
            .with(|c| {
                let mut stmt = c.prepare("SELECT link_key FROM items ORDER BY id")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap();
        let explained = links
            .iter()
            .map(|l| format!("{:?}", store.explain(l).unwrap()))
            .collect();
        if bounded {
            // The next day: what the last polls and `explain` loaded of older days goes.
            clock.fetch_add(86_400, Ordering::Relaxed);
        }
        let index = index_of(&store);
        (stories, explained, index.len(), index.counted())
    }

    #[test]
    fn a_replayed_corpus_gives_the_same_stories_with_the_bound_as_without() {
        for seed in [1, 2, 3] {
            let deliveries = corpus(seed);
            let (all, all_explained, all_loaded, all_counted) = replay(&deliveries, false);
            let (bounded, bounded_explained, loaded, counted) = replay(&deliveries, true);
            assert_eq!(
                all_loaded, all_counted,
                "a clock before every item loads every day"
            );
            assert!(
                loaded < counted / 4,
                "seed {seed}: {loaded} of {counted} loaded"
            );
            assert_eq!(counted, all_counted);
            assert_eq!(all, bounded, "seed {seed}");
            for (a, b) in all_explained.iter().zip(&bounded_explained) {
                assert_eq!(a, b, "seed {seed}");
            }
            // The corpus merges stories (else the comparison would say little).
            let mut sizes: std::collections::HashMap<i64, usize> = Default::default();
            for (_, story) in &all {
                *sizes.entry(*story).or_default() += 1;
            }
            let merged = sizes.values().filter(|n| **n > 1).count();
            assert!(
                merged >= 20,
                "seed {seed}: {merged} stories of several items, {loaded} of {counted} loaded"
            );
        }
    }

    fn vm_rss_kb() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse().ok()
            })
            .unwrap_or(0)
    }

    /// The figure in BENCHMARKS.md: the index of a stored database
    /// (`STORY_INDEX_DB`, a copy: it is migrated and signatures may be
    /// written), built as at start-up with today's clock, or with
    /// `STORY_INDEX_ALL=1` a clock before every item (every day loaded: the
    /// unbounded index's size).
    #[test]
    #[ignore = "a figure: needs STORY_INDEX_DB"]
    fn story_index_figure() {
        let path = std::env::var("STORY_INDEX_DB").expect("STORY_INDEX_DB=path of a copy");
        let store = Store::open(std::path::Path::new(&path)).unwrap();
        let all = std::env::var("STORY_INDEX_ALL").is_ok_and(|v| v == "1");
        if all {
            store.set_story_clock(|| Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).unwrap());
        }
        let before = vm_rss_kb();
        let started = std::time::Instant::now();
        let index = index_of(&store);
        let elapsed = started.elapsed();
        let after = vm_rss_kb();
        println!(
            "story index ({}): {} of {} items loaded; VmRSS {before} → {after} kB (+{} kB); built in {} ms",
            if all { "every day" } else { "bounded" },
            index.len(),
            index.counted(),
            after.saturating_sub(before),
            elapsed.as_millis()
        );
        put_back(&store, index);
    }
}
