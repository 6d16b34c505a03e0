//! A poll's ingest: what spans the tables for one source — its items new,
//! updated or unchanged, the stories they join or found, retention, the
//! article pages read and the source's poll record — all or nothing, in a
//! transaction shared with the other polls waiting for the writer (group
//! commit); and what is computed for it before the writer (hashes, story
//! signatures).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, mpsc};

use rusqlite::{Connection, Transaction};

use super::items::{self, Lookup, Written};
use super::pages::save_pages_in;
use super::sources::{PollRecord, guids_unreliable_in, record_ingest_in, record_poll_in};
use super::stories;
use super::story_index;
use super::{Result, Store, StoreError, from_ts, to_ts};
use crate::dedup::{self, Prepared};
use crate::model::{Item, PageRecord, stable_uuid};
use crate::story::{self, Matching, Signature, StoryIndex};

/// One successful poll with content, to be stored atomically.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub source_id: String,
    pub items: Vec<Item>,
    pub record: PollRecord,
    pub feed_title: Option<String>,
    pub home_url: Option<String>,
    pub keep_days: Option<u32>,
    pub keep_items: Option<usize>,
    /// Article pages read for this poll (HTML sources).
    pub pages: Vec<PageRecord>,
}

/// What one ingest did with the poll's items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Repeats of an item inside one document, ignored.
    pub repeats: usize,
    /// Two items of the document shared a GUID: the source's GUIDs are unreliable from now on.
    pub guid_collision: bool,
    /// Items deleted by the source's retention limits.
    pub expired: usize,
}

impl IngestReport {
    /// Whether the served feeds need rendering again.
    pub(crate) fn changed(&self) -> bool {
        self.new > 0 || self.updated > 0 || self.expired > 0
    }
}

/// What the writer needs of an item that does not need the database:
/// computed on the caller's thread (the parse pool) before the writer takes
/// the connection, so that every core works on it, not only the writer's.
#[derive(Debug, Clone)]
struct Precomputed {
    content_hash: String,
    /// The item's `dedup::fingerprint`.
    fingerprint: String,
    /// The story signature; `None` when matching is off or the item was in
    /// its source's previous document unchanged (the writer computes it if
    /// the item turns out new or changed after all).
    signature: Option<Signed>,
}

/// A story signature with its encoding for the item's row: both are
/// computed ahead, the encoding too (it cost the writer 5 % of its
/// instructions per new item, BENCHMARKS.md).
#[derive(Debug, Clone)]
struct Signed {
    signature: Signature,
    encoded: String,
}

impl Signed {
    fn of(item: &Item) -> Signed {
        let signature = signature_of(item);
        let encoded = signature.encode();
        Signed { signature, encoded }
    }
}

/// An [`IngestRequest`] with its items' hashes and signatures computed,
/// ready for the writer ([`Store::prepare_ingest`], [`Store::ingest_prepared`]).
#[derive(Debug, Clone)]
pub struct PreparedIngest {
    req: IngestRequest,
    /// In the order of `req.items`.
    pre: Vec<Precomputed>,
}

/// Most polls one transaction stores, and most items: a poll waits at most
/// for the group being stored when it arrives, so the group is kept short.
const MAX_GROUP_POLLS: usize = 64;
const MAX_GROUP_ITEMS: usize = 4000;

/// Group commit: polls waiting for the writer, and what the steps before the
/// writer need to know. Whichever poll takes the connection stores every
/// waiting poll (up to the limits above) in one transaction; a poll that
/// fails is left out and the rest stored without it (`Store::store_locked`).
/// A lone poll is stored at once (nobody waits on a timer): the wait is
/// bounded by the one transaction in progress, and the polls that arrive
/// during it share the next one and its one fsync.
pub(super) struct Group {
    waiting: Mutex<VecDeque<Waiting>>,
    /// Whether story matching is on: read before the writer without its lock.
    pub(super) matching: AtomicBool,
    /// Per source, the content hashes of the items of its last stored
    /// document: an item found there is unchanged (almost always), and
    /// its signature is not computed ahead. Bounded by the items of one
    /// document per source.
    last_document: Mutex<HashMap<String, HashSet<u64>>>,
    /// Whether a thread is storing a group (the writer's role), and the
    /// signal that it has answered its polls and let go of the role. A
    /// waiting poll sleeps on it, not on the connection's lock: its report
    /// may come from the group being stored, and waiting for the connection
    /// would keep it (and the thread it holds) until the next group is
    /// stored too.
    writing: Mutex<bool>,
    written: Condvar,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            waiting: Mutex::default(),
            matching: AtomicBool::new(story::Rules::default().enabled),
            last_document: Mutex::default(),
            writing: Mutex::new(false),
            written: Condvar::new(),
        }
    }
}

impl Group {
    fn writing(&self) -> MutexGuard<'_, bool> {
        self.writing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writer's role, held while a group is stored; given back on drop
/// (also when storing panics, so that the polls left waiting take it over).
struct WriterRole<'a>(&'a Group);

impl Drop for WriterRole<'_> {
    fn drop(&mut self) {
        *self.0.writing() = false;
        self.0.written.notify_all();
    }
}

struct Waiting {
    ready: PreparedIngest,
    done: mpsc::SyncSender<Result<IngestReport>>,
}

/// A poll in the writer's queue ([`Store::enqueue_ingest`]); its report
/// comes from [`Store::store_queued`].
#[derive(Debug)]
pub struct QueuedIngest {
    result: mpsc::Receiver<Result<IngestReport>>,
}

/// A content hash's first 64 bits, enough to recognise an unchanged item.
fn hash_key(content_hash: &str) -> u64 {
    content_hash
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

enum Outcome {
    New,
    Updated,
    Unchanged,
}

/// Which story a new item belongs to, and whether the item just founded it.
#[derive(Clone, Copy)]
enum StoryFor {
    Founded(i64),
    Joined(i64),
}

impl StoryFor {
    fn id(self) -> i64 {
        match self {
            StoryFor::Founded(id) | StoryFor::Joined(id) => id,
        }
    }
}

/// What an item is matched by: its title and text, and where the feed's
/// text is a teaser beside the article's full content, the content's lead
/// too (the facts a teaser leaves out are what tell reports apart).
pub(super) fn signature_of(item: &Item) -> Signature {
    signature_from(
        &item.title,
        &item.text,
        item.summary_html.as_deref(),
        item.content_html.as_deref(),
    )
}

/// [`signature_of`] from the stored columns.
pub(super) fn signature_from(
    title: &str,
    text: &str,
    summary_html: Option<&str>,
    content_html: Option<&str>,
) -> Signature {
    match (summary_html, content_html) {
        (Some(_), Some(content)) => {
            // Stored content is sanitised: its text is read without parsing it again.
            let full = crate::normalize::sanitized_text(content);
            if full.len() > text.len() {
                return Signature::of(title, &format!("{text}\n{full}"));
            }
            Signature::of(title, text)
        }
        _ => Signature::of(title, text),
    }
}

/// The story a new item joins (the story module decides, from what is found
/// by its link and in the index), else the one it founds. `dedup_lookup`
/// is the item's own lookup, which may have read every copy of its link.
fn story_for_new_item(
    tx: &Transaction,
    source: Source,
    p: &Prepared,
    (published, updated): (i64, i64),
    identity: &str,
    matching: Option<(&Matching, &Signature)>,
    dedup_lookup: &Lookup,
) -> rusqlite::Result<StoryFor> {
    let source_id = source.id;
    let by_link = match &p.item.link_key {
        // Dedup read every copy of the link: none is another source's.
        Some(link_key) if dedup_lookup.elsewhere(link_key) == Some(false) => None,
        Some(link_key) => stories::by_link(tx, link_key, source_id)?,
        None => None,
    };
    if let Some(joining) = story::story_to_join(by_link, source_id, from_ts(published), matching) {
        return Ok(StoryFor::Joined(joining.story()));
    }
    let uid = stable_uuid(&["story", source_id, identity]);
    if let Some(id) = stories::found(
        tx,
        source_id,
        &uid,
        published,
        updated,
        source.stories_without_founder,
    )? {
        // Its only member is this item, whose dates it already carries.
        return Ok(StoryFor::Founded(id));
    }
    // The story outlived its item (expired and seen again): it joins it again.
    Ok(StoryFor::Joined(stories::id_of(tx, source_id, &uid)?))
}

/// The source a poll's items are stored for.
#[derive(Clone, Copy)]
struct Source<'a> {
    id: &'a str,
    /// Whether the database holds stories founded before migration 9
    /// (`stories::any_without_founder`), asked once per poll.
    stories_without_founder: bool,
}

fn ingest_one(
    tx: &Transaction,
    source: Source,
    p: &Prepared,
    pre: &mut Precomputed,
    guids: &HashSet<String>,
    at: i64,
    matching: Option<&mut Matching>,
) -> Result<(Outcome, i64)> {
    let source_id = source.id;
    let mut lookup = Lookup::new(tx, source_id);
    let existing = dedup::find_existing(p, guids, &mut lookup)?;
    let item = &p.item;
    // Computed ahead unless the item looked unchanged; the same value either
    // way. Borrowed, not taken: it stays in the prepared poll and is freed
    // with it once the writer's role is given back. Freed here, its memory
    // (from a parse thread's arena) made the writer wait on that arena's lock.
    let Precomputed {
        content_hash,
        signature: ahead,
        ..
    } = pre;
    let hash = content_hash.as_str();
    let Some(row) = existing else {
        let published = item.published.map(to_ts).unwrap_or(at);
        let updated = item.updated.map(to_ts).unwrap_or(published).max(published);
        let identity = p.identity();
        let sig = matching
            .as_ref()
            .map(|_| &*ahead.get_or_insert_with(|| Signed::of(item)));
        // A hidden item joins no story by its text and no later item joins it:
        // the operator's rules removed it, so it must not pull others together.
        let mut matching = matching.filter(|_| item.hidden.is_none());
        if let Some(m) = matching.as_deref_mut() {
            // A backdated item's days are loaded before it is matched.
            let window = m.rules().window_days;
            story_index::reach(
                tx,
                m.index_mut(),
                story::story_day(from_ts(published)),
                window,
            )?;
        }
        let with_sig = matching.as_deref().zip(sig.as_ref().map(|s| &s.signature));
        let story_for = story_for_new_item(
            tx,
            source,
            p,
            (published, updated),
            &identity,
            with_sig,
            &lookup,
        )?;
        let story = story_for.id();
        if let (StoryFor::Joined(story), Some(m)) = (story_for, matching.as_deref_mut()) {
            // Joined by its link, perhaps a story of days not loaded: loaded
            // whole, before the item is stored (it is counted when indexed).
            story_index::load_story(tx, m.index_mut(), story)?;
        }
        let uid = stable_uuid(&["item", source_id, &identity]);
        let written = Written {
            prepared: p,
            published,
            updated,
            seen_at: at,
            content_hash: hash,
            signature: sig.as_ref().map(|s| s.encoded.as_str()),
        };
        let new_row = match items::insert_unless_taken(tx, source_id, &uid, story, &written)? {
            Some(row) => row,
            None => {
                // Only when a stored item's identity changed under it; keep both, distinctly.
                let uid = stable_uuid(&["item", source_id, &identity, &at.to_string(), hash]);
                items::insert(tx, source_id, &uid, story, &written)?
            }
        };
        if let (Some(m), Some(sig)) = (matching, &sig) {
            m.stored_new(
                new_row,
                source_id,
                story,
                from_ts(published),
                &sig.signature,
            );
        }
        if let StoryFor::Joined(story) = story_for {
            stories::refresh(tx, story)?;
        }
        return Ok((Outcome::New, new_row));
    };
    let old = items::stored(tx, row)?;
    let mut matching = matching;
    if let Some(m) = matching.as_deref_mut()
        && (old.content_hash != hash || old.hidden.is_some() != item.hidden.is_some())
    {
        // The index replaces the item's entry (or keeps it until rebuilt):
        // its story is loaded first, as it stands before this change.
        story_index::load_story(tx, m.index_mut(), old.story)?;
    }
    if old.hidden != item.hidden || old.tags != items::json(&item.tags) {
        items::set_verdict(tx, row, item.hidden.as_deref(), &item.tags, &old.tags)?;
    }
    if old.hidden.is_some() != item.hidden.is_some() {
        // Shown or hidden now: the index (which holds shown items only) is rebuilt after this poll.
        if let Some(m) = matching.as_deref_mut() {
            m.invalidate();
        }
    }
    if old.content_hash == hash {
        items::touch(tx, row, at)?;
        return Ok((Outcome::Unchanged, row));
    }
    // A changed title or body updates the item; a date-less item keeps its first-seen date.
    let published = item.published.map(to_ts).unwrap_or(old.published);
    let updated = item
        .updated
        .map(to_ts)
        .filter(|u| *u > old.updated)
        .unwrap_or(at)
        .max(published);
    // An edited item keeps its story (its entry id must not move); only its signature follows the text.
    let sig = matching
        .as_ref()
        .map(|_| &*ahead.get_or_insert_with(|| Signed::of(item)));
    let written = Written {
        prepared: p,
        published,
        updated,
        seen_at: at,
        content_hash: hash,
        signature: sig.as_ref().map(|s| s.encoded.as_str()),
    };
    items::update(tx, row, &written)?;
    if let (Some(m), Some(sig), None) = (matching, &sig, &item.hidden) {
        m.stored_edit(
            row,
            source_id,
            old.story,
            from_ts(published),
            &sig.signature,
        );
    }
    stories::refresh(tx, old.story)?;
    Ok((Outcome::Updated, row))
}

/// Deletes items that left the partner's feed and are past the retention limits.
fn expire(
    tx: &Transaction,
    source_id: &str,
    in_document: &HashSet<i64>,
    at: i64,
    keep_days: Option<u32>,
    keep_items: Option<usize>,
    mut index: Option<&mut StoryIndex>,
) -> Result<usize> {
    if keep_days.is_none() && keep_items.is_none() {
        return Ok(0);
    }
    let cutoff = keep_days
        .map(|d| at - i64::from(d) * 86400)
        .unwrap_or(i64::MIN);
    let keep = keep_items.map(|n| n as i64).unwrap_or(i64::MAX);
    // Items in the partner's current document are never expired: deleting
    // them would bring them back as "new" on the next poll.
    let doomed: Vec<(i64, i64)> = items::beyond_retention(tx, source_id, cutoff, keep)?
        .into_iter()
        .filter(|(id, _)| !in_document.contains(id))
        .collect();
    for (id, _) in &doomed {
        if let Some(index) = index.as_deref_mut() {
            story_index::forget(tx, index, *id)?;
        }
        items::delete(tx, *id)?;
    }
    let mut touched: Vec<i64> = doomed.iter().map(|(_, s)| *s).collect();
    touched.sort_unstable();
    touched.dedup();
    for s in touched {
        stories::delete_if_empty(tx, s)?;
        stories::refresh(tx, s)?;
    }
    Ok(doomed.len())
}

/// One poll's items, inside the group's transaction; `index` (when matching
/// is on) takes in every change as it is written.
fn ingest_in(
    tx: &Transaction,
    ready: &mut PreparedIngest,
    index: Option<&mut StoryIndex>,
    rules: &story::Rules,
) -> Result<(IngestReport, bool)> {
    let PreparedIngest { req, pre } = ready;
    let mut matching = index.map(|index| Matching::new(index, rules));
    let unreliable = guids_unreliable_in(tx, &req.source_id)?;
    let fingerprints = pre.iter().map(|p| p.fingerprint.clone()).collect();
    let batch = dedup::prepare_fingerprinted(&req.items, fingerprints, unreliable);
    let at = to_ts(req.record.at);
    let mut report = IngestReport {
        repeats: batch.repeats,
        guid_collision: batch.guid_collision,
        ..Default::default()
    };
    let mut in_document = HashSet::with_capacity(batch.items.len());
    let source = Source {
        id: &req.source_id,
        stories_without_founder: stories::any_without_founder(tx)?,
    };
    for p in &batch.items {
        let (outcome, row) = ingest_one(
            tx,
            source,
            p,
            &mut pre[p.position],
            &batch.guids_in_document,
            at,
            matching.as_mut(),
        )?;
        in_document.insert(row);
        match outcome {
            Outcome::New => report.new += 1,
            Outcome::Updated => report.updated += 1,
            Outcome::Unchanged => report.unchanged += 1,
        }
    }
    let stale = matching.as_ref().is_some_and(Matching::is_stale);
    let index = matching.map(Matching::into_index);
    report.expired = expire(
        tx,
        &req.source_id,
        &in_document,
        at,
        req.keep_days,
        req.keep_items,
        index,
    )?;
    save_pages_in(tx, &req.source_id, &req.pages, req.record.at)?;
    record_poll_in(tx, &req.source_id, &req.record)?;
    record_ingest_in(
        tx,
        &req.source_id,
        req.feed_title.as_deref(),
        req.home_url.as_deref(),
        &report,
        at,
    )?;
    Ok((report, stale))
}

/// The same failure again, for every poll of a group that a failed
/// transaction took down: the SQLite code is kept, so that each poll's
/// error still tells a busy or full disk apart (`StoreError::advice`).
fn repeat_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Sql(rusqlite::Error::SqliteFailure(code, msg)) => {
            StoreError::Sql(rusqlite::Error::SqliteFailure(*code, msg.clone()))
        }
        other => StoreError::Task(other.to_string()),
    }
}

/// What became of each poll of a group, in its order: its source, its
/// items' hash keys (for `Group::last_document`) and its report.
type Stored = Vec<(String, Vec<u64>, Result<IngestReport>)>;

/// Why a group's transaction did not commit.
enum GroupFailed {
    /// The poll at this place of the group failed; the others may be stored without it.
    Poll(usize, StoreError),
    /// The transaction itself (begin, commit): no poll of the group can be stored now.
    Transaction(StoreError),
}

/// Failures that are the database's, not one poll's: a busy or full disk
/// fails every poll alike, so the group is not tried again without the poll.
fn fails_every_poll(e: &StoreError) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e,
        StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) if matches!(
            f.code,
            DatabaseBusy | DatabaseLocked | DiskFull | SystemIoFailure | OutOfMemory
                | ReadOnly | CannotOpen | DatabaseCorrupt | NotADatabase
        )
    )
}

/// One attempt at a group: every poll in one transaction, committed once.
/// Not a savepoint per poll: in WAL mode SQLite copies every page a
/// savepoint modifies into a statement journal (measured: three times the
/// writes and a fifth more CPU per item, BENCHMARKS.md); a failing poll,
/// which is rare, instead rolls the transaction back, and the group is
/// stored again without it.
fn try_group(
    c: &mut Connection,
    group: &mut [PreparedIngest],
    mut index: Option<&mut StoryIndex>,
    rules: &story::Rules,
) -> std::result::Result<(Vec<IngestReport>, bool), GroupFailed> {
    let tx = c
        .transaction()
        .map_err(|e| GroupFailed::Transaction(e.into()))?;
    let mut reports = Vec::with_capacity(group.len());
    let mut stale = false;
    for (at, ready) in group.iter_mut().enumerate() {
        let (report, poll_stale) = ingest_in(&tx, ready, index.as_deref_mut(), rules)
            .map_err(|e| GroupFailed::Poll(at, e))?;
        stale |= poll_stale;
        reports.push(report);
    }
    tx.commit()
        .map_err(|e| GroupFailed::Transaction(e.into()))?;
    Ok((reports, stale))
}

impl Store {
    /// Stores one poll's items and the poll's record, all or nothing: [`prepare_ingest`](Self::prepare_ingest)
    /// then [`ingest_prepared`](Self::ingest_prepared) on this thread.
    pub fn ingest(&self, req: IngestRequest) -> Result<IngestReport> {
        self.ingest_prepared(self.prepare_ingest(req))
    }

    /// The part of an ingest that needs no database: content hashes, dedup
    /// fingerprints, and the story signatures of items not in the source's
    /// last document unchanged. Runs on the caller's thread, never waits
    /// for the writer.
    pub fn prepare_ingest(&self, req: IngestRequest) -> PreparedIngest {
        let group = &self.inner.group;
        let matching = group.matching.load(Ordering::Relaxed);
        let hashes: Vec<String> = req.items.iter().map(items::content_hash).collect();
        let known: Vec<bool> = {
            let last = group
                .last_document
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let last = last.get(&req.source_id);
            hashes
                .iter()
                .map(|h| last.is_some_and(|l| l.contains(&hash_key(h))))
                .collect()
        };
        let pre = req
            .items
            .iter()
            .zip(hashes)
            .zip(known)
            .map(|((item, content_hash), known)| Precomputed {
                content_hash,
                fingerprint: dedup::fingerprint(item),
                signature: (matching && !known).then(|| Signed::of(item)),
            })
            .collect();
        PreparedIngest { req, pre }
    }

    /// Stores a prepared poll: in a transaction of its own, or shared with
    /// the polls waiting beside it (group commit). Returns once the
    /// transaction that holds it is durably committed.
    pub fn ingest_prepared(&self, ready: PreparedIngest) -> Result<IngestReport> {
        self.store_queued(self.enqueue_ingest(ready))
    }

    /// Puts a prepared poll in the writer's queue without waiting: cheap (a
    /// lock and a push), fit for an async task. The poll is stored by the
    /// next thread that takes the writer's role ([`store_queued`](Self::store_queued)
    /// for it or for any other queued poll). Queueing apart from waiting
    /// lets a group hold every poll ready for the writer, not only as many
    /// as there are threads blocked on it (the daemon's blocking pool has
    /// four): fewer, larger transactions, and fewer fsyncs.
    pub fn enqueue_ingest(&self, ready: PreparedIngest) -> QueuedIngest {
        let (done, result) = mpsc::sync_channel(1);
        self.inner
            .group
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Waiting { ready, done });
        QueuedIngest { result }
    }

    /// Waits for a queued poll to be stored, storing it (and the polls
    /// queued with it) if no other thread already did.
    pub fn store_queued(&self, queued: QueuedIngest) -> Result<IngestReport> {
        let QueuedIngest { result } = queued;
        let group = &self.inner.group;
        loop {
            // Answered by a group another thread stored, or the writer's role.
            let role = {
                let mut writing = group.writing();
                loop {
                    match result.try_recv() {
                        Ok(report) => return report,
                        Err(mpsc::TryRecvError::Disconnected) => {
                            return Err(StoreError::Task(
                                "the poll storing this one's group failed".into(),
                            ));
                        }
                        Err(mpsc::TryRecvError::Empty) => {}
                    }
                    if !*writing {
                        *writing = true;
                        break WriterRole(group);
                    }
                    writing = group
                        .written
                        .wait(writing)
                        .unwrap_or_else(|p| p.into_inner());
                }
            };
            let mut c = self.inner.conn.lock().unwrap_or_else(|p| p.into_inner());
            let taken: Vec<Waiting> = {
                let mut waiting = group.waiting.lock().unwrap_or_else(|p| p.into_inner());
                let mut items = 0;
                let mut n = 0;
                while n < waiting.len().min(MAX_GROUP_POLLS)
                    && (n == 0 || items + waiting[n].ready.pre.len() <= MAX_GROUP_ITEMS)
                {
                    items += waiting[n].ready.pre.len();
                    n += 1;
                }
                waiting.drain(..n).collect()
            };
            let (group_reqs, senders): (Vec<_>, Vec<_>) =
                taken.into_iter().map(|w| (w.ready, w.done)).unzip();
            let (stored, spent) = self.store_locked(&mut c, group_reqs);
            let mut last = group
                .last_document
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for ((source, hashes, report), done) in stored.into_iter().zip(senders) {
                if report.is_ok() {
                    last.insert(source, hashes.into_iter().collect());
                }
                // A poll that stopped waiting (its thread gone) needs no answer.
                let _ = done.send(report);
            }
            drop(last);
            drop(c);
            // Every poll of the group answered: the threads waiting for them
            // go on, and the next group may start.
            drop(role);
            // The group's documents are freed with the connection free for
            // the next group and every poll answered: most of their memory
            // came from the parse threads' arenas, and freeing it there
            // (each arena's lock) held up the writer by a percent or two.
            drop(spent);
            // The arenas give their free pages back (at most twice a second).
            crate::allocator::give_back_free_memory();
        }
    }

    /// Stores a group of polls in one transaction; a poll that fails is
    /// left out and the others are stored without it, so that one poll's
    /// failure loses nothing of another's. The story index is taken out and
    /// put back, or rebuilt after a rollback (it took in what was undone).
    /// The polls stored come back, for the caller to free once it has let
    /// go of the connection.
    fn store_locked(
        &self,
        c: &mut Connection,
        group: Vec<PreparedIngest>,
    ) -> (Stored, Vec<PreparedIngest>) {
        let mut stories = self.story_state();
        let rules = stories.rules.clone();
        let mut stored: Vec<(String, Vec<u64>, Option<Result<IngestReport>>)> = group
            .iter()
            .map(|r| {
                let keys = r.pre.iter().map(|p| hash_key(&p.content_hash)).collect();
                (r.req.source_id.clone(), keys, None)
            })
            .collect();
        // The polls still to store, and where each stands in `stored`.
        let mut polls = group;
        let mut places: Vec<usize> = (0..polls.len()).collect();
        while !polls.is_empty() {
            let mut index = if rules.enabled {
                match stories.take_fresh_index(c) {
                    Ok(index) => Some(index),
                    Err(e) => {
                        for at in &places {
                            stored[*at].2 = Some(Err(repeat_error(&e)));
                        }
                        break;
                    }
                }
            } else {
                // Not kept current while matching is off: rebuilt from the database when it is back on.
                stories.drop_index();
                None
            };
            match try_group(c, &mut polls, index.as_mut(), &rules) {
                Ok((reports, stale)) => {
                    for (at, report) in places.iter().zip(reports) {
                        stored[*at].2 = Some(Ok(report));
                    }
                    match index {
                        // An item was hidden or shown again: rebuilt next time.
                        Some(index) if !stale => {
                            if stories.put_index(c, index).is_err() {
                                stories.drop_index();
                            }
                        }
                        _ => stories.drop_index(),
                    }
                    break;
                }
                Err(failed) => {
                    // Rolled back: the index took in what was undone.
                    stories.drop_index();
                    match failed {
                        GroupFailed::Poll(at, e) if !fails_every_poll(&e) => {
                            // Stored again without the poll that failed.
                            polls.remove(at);
                            stored[places.remove(at)].2 = Some(Err(e));
                        }
                        GroupFailed::Poll(_, e) | GroupFailed::Transaction(e) => {
                            for at in &places {
                                stored[*at].2 = Some(Err(repeat_error(&e)));
                            }
                            break;
                        }
                    }
                }
            }
        }
        let stored = stored
            .into_iter()
            .map(|(source, keys, report)| {
                let report = report.unwrap_or_else(|| Err(StoreError::Task("not stored".into())));
                (source, keys, report)
            })
            .collect();
        (stored, polls)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use url::Url;

    use super::*;
    use crate::model::{Registration, SourceKind};

    /// An in-memory store with `sources` registered as feeds and `rules` for matching.
    pub(in crate::store) fn store_with(sources: &[&str], rules: story::Rules) -> Store {
        let store = Store::open_in_memory().unwrap();
        let urls: Vec<Url> = sources
            .iter()
            .map(|s| Url::parse(&format!("https://{s}.example/feed")).unwrap())
            .collect();
        let registrations: Vec<Registration> = sources
            .iter()
            .zip(&urls)
            .map(|(id, url)| Registration {
                id,
                name: id,
                kind: SourceKind::Feed,
                url,
            })
            .collect();
        store.sync_sources(&registrations).unwrap();
        store.set_story_rules(rules);
        store
    }

    fn report(
        source: &str,
        link_key: &str,
        title: &str,
        published: DateTime<Utc>,
    ) -> IngestRequest {
        let item = Item {
            guid: Some(format!("{source}:{title}")),
            link: Some(format!("https://{link_key}")),
            link_key: Some(link_key.to_string()),
            title: title.to_string(),
            published: Some(published),
            ..Item::default()
        };
        one_item_poll(source, item, published, None)
    }

    /// A successful poll of `source` at `at` whose document holds `item`.
    pub(in crate::store) fn one_item_poll(
        source: &str,
        item: Item,
        at: DateTime<Utc>,
        keep_days: Option<u32>,
    ) -> IngestRequest {
        IngestRequest {
            source_id: source.to_string(),
            items: vec![item],
            record: PollRecord {
                at,
                status: Some(200),
                error: None,
                duration_ms: 1,
                not_before: None,
                validators: None,
                moved_to: None,
                warning: None,
                resolution: None,
            },
            feed_title: None,
            home_url: None,
            keep_days,
            keep_items: None,
            pages: Vec::new(),
        }
    }

    fn stories_of(store: &Store) -> Vec<i64> {
        store
            .with(|c| {
                let mut stmt = c.prepare("SELECT story_id FROM items ORDER BY id")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
            })
            .unwrap()
    }

    #[test]
    fn the_same_canonical_link_is_one_story_whether_matching_is_on_or_off() {
        for enabled in [true, false] {
            let rules = story::Rules {
                enabled,
                ..story::Rules::default()
            };
            let store = store_with(&["verein", "zeitung", "radio"], rules);
            let day = Utc.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).unwrap();
            // Titles with nothing in common: only the link can join them.
            for (source, title) in [("verein", "Eins"), ("zeitung", "Zwei"), ("radio", "Drei")] {
                let done = store
                    .ingest(report(source, "lr.example/meldung/7", title, day))
                    .unwrap();
                assert_eq!(done.new, 1);
            }
            let stories = stories_of(&store);
            assert_eq!(stories.len(), 3);
            assert!(stories.iter().all(|s| *s == stories[0]), "{stories:?}");
            // Another link founds a story of its own.
            store
                .ingest(report("zeitung", "lr.example/meldung/8", "Vier", day))
                .unwrap();
            assert_ne!(stories_of(&store)[3], stories[0]);
        }
    }

    #[test]
    fn a_new_item_looks_for_another_sources_story_by_link_only_when_one_holds_the_link() {
        let store = store_with(&["verein", "zeitung"], story::Rules::default());
        let day = Utc.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).unwrap();
        // How often the story's lookup by link ran (its cached statement's count).
        let story_lookups = || {
            store
                .with(|c| {
                    let stmt = c.prepare_cached(stories::BY_LINK)?;
                    Ok(stmt.get_status(rusqlite::StatementStatus::Run))
                })
                .unwrap()
        };
        let runs = story_lookups();
        store
            .ingest(report("verein", "lr.example/meldung/7", "Eins", day))
            .unwrap();
        store
            .ingest(report("verein", "lr.example/meldung/8", "Zwei", day))
            .unwrap();
        assert_eq!(story_lookups(), runs, "no other source holds either link");
        // Another source's copy: looked up, and joined.
        store
            .ingest(report("zeitung", "lr.example/meldung/7", "Drei", day))
            .unwrap();
        assert_eq!(story_lookups(), runs + 1);
        let stories = stories_of(&store);
        assert_eq!(stories[2], stories[0], "{stories:?}");
        assert_ne!(stories[1], stories[0]);
        // A link of its own: not looked up.
        store
            .ingest(report("zeitung", "lr.example/meldung/9", "Vier", day))
            .unwrap();
        assert_eq!(story_lookups(), runs + 1);
    }

    fn items_of(store: &Store, source: &str) -> usize {
        store
            .with(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM items WHERE source_id = ?1",
                    [source],
                    |r| r.get::<_, i64>(0),
                )? as usize)
            })
            .unwrap()
    }

    #[test]
    fn a_failing_poll_in_a_group_loses_nothing_of_the_others() {
        let store = store_with(&["verein", "zeitung"], story::Rules::default());
        let day = Utc.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).unwrap();
        let group = vec![
            store.prepare_ingest(report("verein", "lr.example/a", "Eins", day)),
            // Not registered: its items break a foreign key inside the shared transaction.
            store.prepare_ingest(report("unbekannt", "lr.example/b", "Zwei", day)),
            store.prepare_ingest(report("zeitung", "lr.example/c", "Drei", day)),
        ];
        let (stored, spent) = store.with(|c| Ok(store.store_locked(c, group))).unwrap();
        // The polls stored come back to be freed outside the lock; the failed one was dropped.
        let spent: Vec<_> = spent.iter().map(|p| p.req.source_id.as_str()).collect();
        assert_eq!(spent, ["verein", "zeitung"]);
        let outcomes: Vec<_> = stored
            .iter()
            .map(|(s, _, r)| (s.as_str(), r.is_ok()))
            .collect();
        assert_eq!(
            outcomes,
            [("verein", true), ("unbekannt", false), ("zeitung", true)]
        );
        assert_eq!(stored[0].2.as_ref().unwrap().new, 1);
        assert_eq!(
            (items_of(&store, "verein"), items_of(&store, "zeitung")),
            (1, 1)
        );
        assert_eq!(items_of(&store, "unbekannt"), 0);
        // The next poll works on an index rebuilt from what was committed.
        let next = store
            .ingest(report("zeitung", "lr.example/d", "Vier", day))
            .unwrap();
        assert_eq!(next.new, 1);
    }

    #[test]
    fn a_signature_the_writer_computes_is_stored_as_one_computed_ahead() {
        let store = store_with(&["verein"], story::Rules::default());
        let day = Utc.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).unwrap();
        let poll = || report("verein", "lr.example/a", "Neue Spreebrücke in Cottbus", day);
        let expected = signature_of(&poll().items[0]).encode();
        let signatures = || -> Vec<String> {
            store
                .with(|c| {
                    let mut stmt = c.prepare("SELECT story_sig FROM items ORDER BY id")?;
                    let rows = stmt.query_map([], |r| r.get(0))?;
                    Ok(rows.collect::<rusqlite::Result<_>>()?)
                })
                .unwrap()
        };
        assert!(
            store.prepare_ingest(poll()).pre[0].signature.is_some(),
            "a new item's signature is computed ahead"
        );
        assert_eq!(store.ingest(poll()).unwrap().new, 1);
        assert_eq!(signatures(), std::slice::from_ref(&expected));
        // Gone from the store but still in the source's last document: it
        // looks unchanged, so only the writer finds it new and signs it.
        store
            .with(|c| Ok(c.execute("DELETE FROM items", [])?))
            .unwrap();
        assert!(store.prepare_ingest(poll()).pre[0].signature.is_none());
        assert_eq!(store.ingest(poll()).unwrap().new, 1);
        assert_eq!(signatures(), [expected]);
    }

    #[test]
    fn a_new_item_whose_uid_is_taken_is_stored_under_another() {
        let store = store_with(&["verein"], story::Rules::default());
        let day = Utc.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).unwrap();
        store
            .ingest(report("verein", "lr.example/a", "Eins", day))
            .unwrap();
        // The stored item's guid changed under it: its uid (from the old guid) stays.
        store
            .with(|c| Ok(c.execute("UPDATE items SET guid = 'anders'", [])?))
            .unwrap();
        // Same guid as the first item had, another link: new, and its uid is taken.
        let again = store
            .ingest(report("verein", "lr.example/b", "Eins", day))
            .unwrap();
        assert_eq!(again.new, 1);
        let uids: Vec<String> = store
            .with(|c| {
                let mut stmt = c.prepare("SELECT uid FROM items ORDER BY id")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap();
        assert_eq!(uids.len(), 2);
        assert_ne!(uids[0], uids[1]);
        assert_eq!(
            uids[0],
            stable_uuid(&["item", "verein", "guid:verein:Eins"]),
            "the first item keeps its uid"
        );
    }

    #[test]
    fn polls_queued_apart_from_waiting_are_stored_by_whoever_writes_next() {
        let store = store_with(&["verein", "zeitung", "amt"], story::Rules::default());
        let day = Utc.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).unwrap();
        let queued: Vec<QueuedIngest> = [
            report("verein", "lr.example/a", "Eins", day),
            // Not registered: fails on its own, inside the shared transaction.
            report("unbekannt", "lr.example/b", "Zwei", day),
            report("zeitung", "lr.example/c", "Drei", day),
            report("amt", "lr.example/d", "Vier", day),
        ]
        .into_iter()
        .map(|r| store.enqueue_ingest(store.prepare_ingest(r)))
        .collect();
        assert_eq!(items_of(&store, "verein"), 0, "queueing stores nothing");
        let mut queued = queued.into_iter();
        let first = queued.next().unwrap();
        // One call stores every poll queued so far, the failing one left out.
        assert_eq!(store.store_queued(first).unwrap().new, 1);
        assert_eq!(
            (
                items_of(&store, "verein"),
                items_of(&store, "zeitung"),
                items_of(&store, "amt")
            ),
            (1, 1, 1)
        );
        // The others hear their own outcome, and nothing is stored twice.
        let rest: Vec<_> = queued.map(|q| store.store_queued(q)).collect();
        assert!(rest[0].is_err(), "the unregistered source's poll fails");
        assert_eq!(rest[1].as_ref().unwrap().new, 1);
        assert_eq!(rest[2].as_ref().unwrap().new, 1);
        assert_eq!(items_of(&store, "zeitung"), 1);
        assert_eq!(items_of(&store, "unbekannt"), 0);
    }

    #[test]
    fn a_poll_stored_in_another_group_is_answered_while_the_next_group_waits() {
        let store = store_with(&["verein", "zeitung", "amt"], story::Rules::default());
        let day = Utc.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).unwrap();
        let queue = |source: &str, title: &str| {
            store.enqueue_ingest(store.prepare_ingest(report(
                source,
                &format!("lr.example/{source}"),
                title,
                day,
            )))
        };
        let (first, second) = (queue("verein", "Eins"), queue("zeitung", "Zwei"));
        // Stores both polls in one group; the second one's thread is not waiting yet.
        assert_eq!(store.store_queued(first).unwrap().new, 1);
        let (held_tx, held) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let (answered_tx, answered) = mpsc::channel();
        std::thread::scope(|scope| {
            // Something else holds the connection (a render, /status)...
            let store_ref = &store;
            scope.spawn(move || {
                store_ref
                    .with(|_| {
                        held_tx.send(()).unwrap();
                        let _ = released.recv();
                        Ok(())
                    })
                    .unwrap()
            });
            held.recv().unwrap();
            // ...and a third poll takes the writer's role and waits for it.
            let third = queue("amt", "Drei");
            let writer = scope.spawn(|| store.store_queued(third));
            // The second poll was stored already: its answer needs neither.
            scope.spawn(move || answered_tx.send(store_ref.store_queued(second)).unwrap());
            let answer = answered.recv_timeout(std::time::Duration::from_secs(10));
            // Let go before asserting, so that a failure fails and does not hang.
            release.send(()).unwrap();
            let report = answer.expect("answered while the connection is held");
            assert_eq!(report.unwrap().new, 1);
            assert_eq!(writer.join().unwrap().unwrap().new, 1);
        });
        assert_eq!(items_of(&store, "amt"), 1);
    }

    #[test]
    fn polls_stored_from_many_threads_at_once_are_each_stored_once() {
        let sources: Vec<String> = (0..8).map(|n| format!("quelle{n}")).collect();
        let names: Vec<&str> = sources.iter().map(String::as_str).collect();
        let store = store_with(&names, story::Rules::default());
        let day = Utc.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).unwrap();
        std::thread::scope(|scope| {
            for source in &sources {
                let store = store.clone();
                scope.spawn(move || {
                    for n in 0..10 {
                        let title = format!("Meldung {n} von {source}");
                        let link = format!("lr.example/{source}/{n}");
                        let done = store.ingest(report(source, &link, &title, day)).unwrap();
                        assert_eq!(done.new, 1);
                    }
                });
            }
        });
        for source in &sources {
            assert_eq!(items_of(&store, source), 10, "{source}");
        }
        // Seen again: unchanged, whatever group each poll shared.
        let again = store
            .ingest(report(
                "quelle3",
                "lr.example/quelle3/4",
                "Meldung 4 von quelle3",
                day,
            ))
            .unwrap();
        assert_eq!((again.new, again.unchanged), (0, 1));
    }
}
