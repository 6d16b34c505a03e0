//! The `items` and `stories` tables: ingesting one poll's items in one
//! transaction (new, updated, unchanged; story membership; retention), and
//! reading stories and items back for publishing.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use std::collections::HashSet;

use chrono::Datelike;

use super::pages::{PageRecord, save_pages_in};
use super::sources::{PollRecord, record_poll_in};
use super::{Result, Store, StoreError, from_ts, to_ts};
use crate::dedup::{self, Candidate, Existing, Prepared};
use crate::model::{Item, stable_uuid};
use crate::story::{self, Signature, StoryIndex};

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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Repeats of an item inside one document, ignored.
    pub repeats: usize,
    pub guid_collision: bool,
    pub expired: usize,
}

impl IngestReport {
    pub fn changed(&self) -> bool {
        self.new > 0 || self.updated > 0 || self.expired > 0
    }
}

/// An item as published, with its source.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    pub uid: String,
    pub source_id: String,
    pub source_name: String,
    /// The feed or page we poll for this source.
    pub source_url: String,
    /// The partner's website as its feed names it.
    pub source_home: Option<String>,
    pub source_title: Option<String>,
    pub link: Option<String>,
    pub title: String,
    pub summary_html: Option<String>,
    pub content_html: Option<String>,
    pub text: String,
    pub published: DateTime<Utc>,
    pub date_from_partner: bool,
    pub updated: DateTime<Utc>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    /// The operator's tags (source and rule tags).
    pub tags: Vec<String>,
}

/// One entry of the merged feed: the same news from one or more sources.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryView {
    pub uid: String,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Earliest publication first: `members[0]` leads.
    pub members: Vec<ItemView>,
}

impl StoryView {
    pub fn lead(&self) -> &ItemView {
        &self.members[0]
    }
}

fn content_hash(item: &Item) -> String {
    let mut h = Sha256::new();
    for part in [
        item.title.as_str(),
        item.link.as_deref().unwrap_or(""),
        item.summary_html.as_deref().unwrap_or(""),
        item.content_html.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(item.authors.join("\u{1}").as_bytes());
    h.update([0]);
    h.update(item.categories.join("\u{1}").as_bytes());
    h.update([0]);
    if let Some(p) = item.published {
        h.update(p.timestamp().to_le_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

struct Lookup<'a> {
    tx: &'a Transaction<'a>,
    source_id: &'a str,
}

impl Lookup<'_> {
    fn query(&self, sql: &str, value: &str) -> rusqlite::Result<Vec<Candidate>> {
        let mut stmt = self.tx.prepare_cached(sql)?;
        let rows = stmt.query_map(params![self.source_id, value], |r| {
            Ok(Candidate {
                row: r.get(0)?,
                guid: r.get(1)?,
                link_key: r.get(2)?,
            })
        })?;
        rows.collect()
    }
}

impl Existing for Lookup<'_> {
    type Error = rusqlite::Error;
    fn by_guid(&mut self, guid: &str) -> rusqlite::Result<Vec<Candidate>> {
        self.query(
            "SELECT id, guid, link_key FROM items WHERE source_id = ?1 AND guid = ?2 ORDER BY id",
            guid,
        )
    }
    fn by_link(&mut self, link_key: &str) -> rusqlite::Result<Vec<Candidate>> {
        self.query("SELECT id, guid, link_key FROM items WHERE source_id = ?1 AND link_key = ?2 ORDER BY id", link_key)
    }
    fn by_fingerprint(&mut self, fp: &str) -> rusqlite::Result<Vec<Candidate>> {
        self.query("SELECT id, guid, link_key FROM items WHERE source_id = ?1 AND fingerprint = ?2 ORDER BY id", fp)
    }
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn refresh_story(tx: &Transaction, story_id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE stories SET published = (SELECT MIN(published) FROM items WHERE story_id = ?1), \
                            updated = (SELECT MAX(updated) FROM items WHERE story_id = ?1) \
         WHERE id = ?1 AND EXISTS (SELECT 1 FROM items WHERE story_id = ?1)",
    )?
    .execute([story_id])?;
    Ok(())
}

/// Story matching during one ingest: the index (kept current as items are
/// written) and the stories this batch already joined or founded — its items
/// are all of one source, and a story holds at most one item per source.
pub(super) struct Matching<'a> {
    pub index: &'a mut StoryIndex,
    pub rules: &'a story::Rules,
    pub touched: HashSet<i64>,
}

/// The Europe/Berlin calendar day of a publication time: the unit of the story window.
pub(super) fn story_day(published: i64) -> i32 {
    from_ts(published)
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
        .num_days_from_ce()
}

/// The story a new item joins: another source's item with the same canonical
/// link, else the most similar story that admits it (see `story`), else a new story.
fn story_for_new_item(
    tx: &Transaction,
    source_id: &str,
    p: &Prepared,
    published: i64,
    updated: i64,
    identity: &str,
    matching: Option<(&mut Matching, &Signature)>,
) -> rusqlite::Result<StoryFor> {
    let touched = |m: &Option<(&mut Matching, &Signature)>, story: i64| {
        m.as_ref().is_some_and(|(m, _)| m.touched.contains(&story))
    };
    if let Some(link_key) = &p.item.link_key {
        let shared: Option<i64> = tx
            .prepare_cached(
                "SELECT i.story_id FROM items i WHERE i.link_key = ?1 AND i.source_id != ?2 \
                 AND NOT EXISTS (SELECT 1 FROM items o WHERE o.story_id = i.story_id AND o.source_id = ?2) \
                 ORDER BY i.published LIMIT 1",
            )?
            .query_row(params![link_key, source_id], |r| r.get(0))
            .optional()?;
        if let Some(story) = shared.filter(|s| !touched(&matching, *s)) {
            return Ok(StoryFor::Joined(story));
        }
    }
    if let Some((m, sig)) = matching {
        let day = story_day(published);
        if let Some(found) = m.index.best_story(source_id, day, sig, m.rules, &m.touched) {
            tracing::debug!(
                source = source_id,
                story = found.story,
                similar_to = found.item,
                similarity = found.similarity,
                "item joins a story"
            );
            return Ok(StoryFor::Joined(found.story));
        }
    }
    let uid = stable_uuid(&["story", source_id, identity]);
    let founded: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO stories (uid, published, updated) VALUES (?1, ?2, ?3) \
             ON CONFLICT (uid) DO NOTHING RETURNING id",
        )?
        .query_row(params![uid, published, updated], |r| r.get(0))
        .optional()?;
    if let Some(id) = founded {
        // Its only member is this item, whose dates it already carries.
        return Ok(StoryFor::Founded(id));
    }
    // The story outlived its item (expired and seen again): it joins it again.
    Ok(StoryFor::Joined(
        tx.prepare_cached("SELECT id FROM stories WHERE uid = ?1")?
            .query_row([uid], |r| r.get(0))?,
    ))
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

fn ingest_one(
    tx: &Transaction,
    source_id: &str,
    p: &Prepared,
    guids: &std::collections::HashSet<String>,
    at: i64,
    mut matching: Option<&mut Matching>,
) -> Result<(Outcome, i64)> {
    let mut lookup = Lookup { tx, source_id };
    let existing = dedup::find_existing(p, guids, &mut lookup)?;
    let item = &p.item;
    let hash = content_hash(item);
    let Some(row) = existing else {
        let published = item.published.map(to_ts).unwrap_or(at);
        let updated = item.updated.map(to_ts).unwrap_or(published).max(published);
        let identity = p.identity();
        let sig = matching
            .as_ref()
            .map(|_| Signature::of(&item.title, &item.text));
        let with_sig = matching.as_deref_mut().zip(sig.as_ref());
        let story_for =
            story_for_new_item(tx, source_id, p, published, updated, &identity, with_sig)?;
        let story = story_for.id();
        let mut uid = stable_uuid(&["item", source_id, &identity]);
        let taken: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE uid = ?1)")?
            .query_row([&uid], |r| r.get(0))?;
        if taken {
            // Only when a stored item's identity changed under it; keep both, distinctly.
            uid = stable_uuid(&["item", source_id, &identity, &at.to_string(), &hash]);
        }
        tx.prepare_cached(
            "INSERT INTO items (source_id, uid, guid, link, link_key, fingerprint, title, summary_html, content_html, text, \
                                authors, categories, published, date_from_partner, updated, first_seen, last_seen, content_hash, story_id, story_sig, \
                                hidden, tags) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17, ?18, ?19, ?20, ?21)",
        )?
        .execute(params![
            source_id,
            uid,
            item.guid,
            item.link,
            item.link_key,
            p.fingerprint,
            item.title,
            item.summary_html,
            item.content_html,
            item.text,
            json(&item.authors),
            json(&item.categories),
            published,
            item.published.is_some(),
            updated,
            at,
            hash,
            story,
            sig.as_ref().map(Signature::encode),
            item.hidden,
            json(&item.tags)
        ])?;
        let new_row = tx.last_insert_rowid();
        if let (Some(m), Some(sig)) = (matching, &sig) {
            m.index
                .insert(new_row, source_id, story, story_day(published), sig);
            m.touched.insert(story);
        }
        // The verdict goes into the INSERT: a separate UPDATE rewrote every new row.
        add_tags(tx, new_row, &item.tags)?;
        if let StoryFor::Joined(story) = story_for {
            refresh_story(tx, story)?;
        }
        return Ok((Outcome::New, new_row));
    };
    let (old_hash, old_published, old_updated, story, old_hidden, old_tags): (String, i64, i64, i64, Option<String>, String) = tx
        .prepare_cached(
            "SELECT content_hash, published, updated, story_id, hidden, tags FROM items WHERE id = ?1",
        )?
        .query_row([row], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?;
    if old_hidden != item.hidden || old_tags != json(&item.tags) {
        set_verdict(tx, row, item.hidden.as_deref(), &item.tags, &old_tags)?;
    }
    if old_hash == hash {
        tx.prepare_cached("UPDATE items SET last_seen = ?2 WHERE id = ?1")?
            .execute(params![row, at])?;
        return Ok((Outcome::Unchanged, row));
    }
    // A changed title or body updates the item; a date-less item keeps its first-seen date.
    let published = item.published.map(to_ts).unwrap_or(old_published);
    let updated = item
        .updated
        .map(to_ts)
        .filter(|u| *u > old_updated)
        .unwrap_or(at)
        .max(published);
    // An edited item keeps its story (its entry id must not move); only its signature follows the text.
    let sig = matching
        .as_ref()
        .map(|_| Signature::of(&item.title, &item.text));
    tx.prepare_cached(
        "UPDATE items SET guid = ?2, link = ?3, link_key = ?4, fingerprint = ?5, title = ?6, summary_html = ?7, content_html = ?8, \
                          text = ?9, authors = ?10, categories = ?11, published = ?12, \
                          date_from_partner = (date_from_partner OR ?13), updated = ?14, last_seen = ?15, content_hash = ?16, \
                          story_sig = ?17 \
         WHERE id = ?1",
    )?
    .execute(params![
        row,
        item.guid,
        item.link,
        item.link_key,
        p.fingerprint,
        item.title,
        item.summary_html,
        item.content_html,
        item.text,
        json(&item.authors),
        json(&item.categories),
        published,
        item.published.is_some(),
        updated,
        at,
        hash,
        sig.as_ref().map(Signature::encode)
    ])?;
    if let (Some(m), Some(sig)) = (matching, &sig) {
        m.index
            .insert(row, source_id, story, story_day(published), sig);
    }
    refresh_story(tx, story)?;
    Ok((Outcome::Updated, row))
}

enum Outcome {
    New,
    Updated,
    Unchanged,
}

/// Stores what the operator's rules decided: the hidden reason and the tags
/// (also in `item_tags`, which per-tag feeds query) for a stored item whose
/// stored tags are `old_tags` (JSON). New items get theirs in their INSERT.
fn set_verdict(
    tx: &Transaction,
    row: i64,
    hidden: Option<&str>,
    tags: &[String],
    old_tags: &str,
) -> rusqlite::Result<()> {
    let tags_json = json(tags);
    tx.prepare_cached("UPDATE items SET hidden = ?2, tags = ?3 WHERE id = ?1")?
        .execute(params![row, hidden, tags_json])?;
    if old_tags == tags_json {
        return Ok(());
    }
    tx.prepare_cached("DELETE FROM item_tags WHERE item_id = ?1")?
        .execute([row])?;
    add_tags(tx, row, tags)
}

fn add_tags(tx: &Transaction, row: i64, tags: &[String]) -> rusqlite::Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO item_tags (tag, item_id) VALUES (?1, ?2)")?;
    for tag in tags {
        insert.execute(params![tag, row])?;
    }
    Ok(())
}

/// Deletes items that left the partner's feed and are past the retention limits.
fn expire(
    tx: &Transaction,
    source_id: &str,
    in_document: &std::collections::HashSet<i64>,
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
    let doomed: Vec<(i64, i64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, story_id FROM ( \
                SELECT id, story_id, published, ROW_NUMBER() OVER (ORDER BY published DESC, id DESC) AS rank \
                FROM items WHERE source_id = ?1) \
             WHERE published < ?2 OR rank > ?3",
        )?;
        let rows = stmt.query_map(params![source_id, cutoff, keep], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect::<rusqlite::Result<Vec<(i64, i64)>>>()?
            .into_iter()
            .filter(|(id, _)| !in_document.contains(id))
            .collect()
    };
    for (id, _) in &doomed {
        tx.prepare_cached("DELETE FROM items WHERE id = ?1")?
            .execute([id])?;
        if let Some(index) = index.as_deref_mut() {
            index.remove(*id);
        }
    }
    let mut stories: Vec<i64> = doomed.iter().map(|(_, s)| *s).collect();
    stories.sort_unstable();
    stories.dedup();
    for s in stories {
        tx.prepare_cached("DELETE FROM stories WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM items WHERE story_id = ?1)")?
            .execute([s])?;
        refresh_story(tx, s)?;
    }
    Ok(doomed.len())
}

const ITEM_COLUMNS: &str = "i.uid, i.source_id, s.name, COALESCE(s.fetch_url, s.config_url), s.home_url, s.feed_title, i.link, i.title, \
     i.summary_html, i.content_html, i.text, i.published, i.date_from_partner, i.updated, i.authors, i.categories, i.tags";

/// Stories picked by `head_sql` (`?1` limit, `?2` offset, `?3` the optional
/// argument), each with its shown members from active sources; stories left
/// without such members are skipped and more are read.
fn stories_from(
    c: &rusqlite::Connection,
    head_sql: &str,
    extra: &[&dyn rusqlite::ToSql],
    limit: usize,
) -> Result<Vec<StoryView>> {
    let mut out = Vec::with_capacity(limit);
    let mut offset = 0i64;
    let page = (limit as i64 * 2).max(16);
    let mut head = c.prepare_cached(head_sql)?;
    let mut members = c.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id \
         WHERE i.story_id = ?1 AND s.active = 1 AND i.hidden IS NULL ORDER BY i.published, i.id"
    ))?;
    while out.len() < limit {
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&page, &offset];
        args.extend_from_slice(extra);
        let heads: Vec<(i64, String)> = head
            .query_map(args.as_slice(), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if heads.is_empty() {
            break;
        }
        offset += heads.len() as i64;
        for (id, uid) in heads {
            let items: Vec<ItemView> = members
                .query_map([id], item_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            if items.is_empty() {
                continue;
            }
            // Dates over shown members only, so a hidden or removed source doesn't date the entry.
            let published = items.iter().map(|i| i.published).min().unwrap_or_default();
            let updated = items.iter().map(|i| i.updated).max().unwrap_or_default();
            out.push(StoryView {
                uid,
                published,
                updated,
                members: items,
            });
            if out.len() == limit {
                break;
            }
        }
    }
    out.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| b.uid.cmp(&a.uid))
    });
    Ok(out)
}

fn item_from_row(r: &rusqlite::Row) -> rusqlite::Result<ItemView> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let text: String = r.get(i)?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    };
    Ok(ItemView {
        uid: r.get(0)?,
        source_id: r.get(1)?,
        source_name: r.get(2)?,
        source_url: r.get(3)?,
        source_home: r.get(4)?,
        source_title: r.get(5)?,
        link: r.get(6)?,
        title: r.get(7)?,
        summary_html: r.get(8)?,
        content_html: r.get(9)?,
        text: r.get(10)?,
        published: from_ts(r.get(11)?),
        date_from_partner: r.get(12)?,
        updated: from_ts(r.get(13)?),
        authors: list(14)?,
        categories: list(15)?,
        tags: list(16)?,
    })
}

/// One poll's items in one transaction; `index` (when matching is on) takes
/// in every change as it is written.
fn ingest_in(
    c: &mut rusqlite::Connection,
    req: IngestRequest,
    index: Option<&mut StoryIndex>,
    rules: &story::Rules,
) -> Result<IngestReport> {
    let tx = c.transaction()?;
    let mut matching = index.map(|index| Matching {
        index,
        rules,
        touched: HashSet::new(),
    });
    let unreliable: bool = tx
        .prepare_cached("SELECT guids_unreliable FROM sources WHERE id = ?1")?
        .query_row([&req.source_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))?;
    let batch = dedup::prepare(req.items, unreliable);
    let at = to_ts(req.record.at);
    let mut report = IngestReport {
        repeats: batch.repeats,
        guid_collision: batch.guid_collision,
        ..Default::default()
    };
    let mut in_document = std::collections::HashSet::with_capacity(batch.items.len());
    for p in &batch.items {
        let (outcome, row) = ingest_one(
            &tx,
            &req.source_id,
            p,
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
    let index = matching.map(|m| m.index);
    report.expired = expire(
        &tx,
        &req.source_id,
        &in_document,
        at,
        req.keep_days,
        req.keep_items,
        index,
    )?;
    save_pages_in(&tx, &req.source_id, &req.pages, req.record.at)?;
    record_poll_in(&tx, &req.source_id, &req.record)?;
    tx.prepare_cached(
        "UPDATE sources SET feed_title = COALESCE(?2, feed_title), home_url = COALESCE(?3, home_url), \
            guids_unreliable = (guids_unreliable OR ?4), last_new = ?5, last_updated = ?6, \
            last_change_at = CASE WHEN ?7 THEN ?8 ELSE last_change_at END \
         WHERE id = ?1",
    )?
    .execute(params![
            req.source_id,
            req.feed_title,
            req.home_url,
            batch.guid_collision,
            report.new as i64,
            report.updated as i64,
            report.changed(),
            at
    ])?;
    tx.commit()?;
    Ok(report)
}

impl Store {
    /// Stores one poll's items and the poll's record in a single transaction.
    pub fn ingest(&self, req: IngestRequest) -> Result<IngestReport> {
        self.with(|c| {
            let mut stories = self.story_state();
            let rules = stories.rules.clone();
            let mut index = if rules.enabled {
                Some(stories.take_fresh_index(c)?)
            } else {
                // Not kept current while matching is off: rebuilt from the database when it is back on.
                stories.drop_index();
                None
            };
            let result = ingest_in(c, req, index.as_mut(), &rules);
            match (result, index) {
                (Ok(report), Some(index)) => {
                    stories.put_index(c, index)?;
                    Ok(report)
                }
                // A failed transaction rolled back what the index already took in: rebuild it next time.
                (result, _) => result,
            }
        })
    }

    /// The newest stories with at least one shown member from an active source.
    pub fn stories(&self, limit: usize) -> Result<Vec<StoryView>> {
        self.with(|c| {
            stories_from(
                c,
                "SELECT id, uid FROM stories ORDER BY published DESC, id DESC LIMIT ?1 OFFSET ?2",
                &[],
                limit,
            )
        })
    }

    /// Highest story id: archive pages are ranges of story ids.
    pub fn max_story_id(&self) -> Result<i64> {
        self.with(
            |c| Ok(c.query_row("SELECT COALESCE(MAX(id), 0) FROM stories", [], |r| r.get(0))?),
        )
    }

    /// The stories with ids in `first..=last` that still have shown members, newest first.
    pub fn stories_by_id_range(&self, first: i64, last: i64) -> Result<Vec<StoryView>> {
        self.with(|c| {
            let span = (last - first + 1).max(0) as usize;
            stories_from(
                c,
                "SELECT id, uid FROM stories WHERE id BETWEEN ?3 AND ?4 ORDER BY id LIMIT ?1 OFFSET ?2",
                &[&first, &last],
                span,
            )
        })
    }

    /// The newest stories with a shown member carrying `tag`.
    pub fn tag_stories(&self, tag: &str, limit: usize) -> Result<Vec<StoryView>> {
        self.with(|c| {
            stories_from(
                c,
                "SELECT DISTINCT s.id, s.uid FROM item_tags t JOIN items i ON i.id = t.item_id JOIN stories s ON s.id = i.story_id \
                 WHERE t.tag = ?3 AND i.hidden IS NULL ORDER BY s.published DESC, s.id DESC LIMIT ?1 OFFSET ?2",
                &[&tag],
                limit,
            )
        })
    }

    /// Re-applies the operator's rules to every stored item (after a config
    /// change); returns how many items changed verdict.
    pub fn rejudge(&self, judge: impl Fn(&str, &Item) -> crate::filter::Verdict) -> Result<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            let rows: Vec<(i64, String, Item, Option<String>, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT id, source_id, title, text, content_html, authors, categories, hidden, tags FROM items",
                )?;
                let rows = stmt.query_map([], |r| {
                    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
                        Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or_default())
                    };
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        Item {
                            guid: None,
                            link: None,
                            link_key: None,
                            title: r.get(2)?,
                            summary_html: None,
                            content_html: r.get(4)?,
                            text: r.get(3)?,
                            published: None,
                            updated: None,
                            authors: list(5)?,
                            categories: list(6)?,
                            hidden: None,
                            tags: Vec::new(),
                        },
                        r.get(7)?,
                        r.get(8)?,
                    ))
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut changed = 0;
            for (row, source, item, hidden, tags) in rows {
                let v = judge(&source, &item);
                if v.hidden != hidden || json(&v.tags) != tags {
                    set_verdict(&tx, row, v.hidden.as_deref(), &v.tags, &tags)?;
                    changed += 1;
                }
            }
            tx.commit()?;
            Ok(changed)
        })
    }

    /// The newest items of one source.
    pub fn source_items(&self, source_id: &str, limit: usize) -> Result<Vec<ItemView>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id \
                 WHERE i.source_id = ?1 AND i.hidden IS NULL ORDER BY i.published DESC, i.id DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![source_id, limit as i64], item_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// A remembered value (e.g. the rules the stored verdicts were made with).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.with(|c| {
            c.execute("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", params![key, value])?;
            Ok(())
        })
    }

    /// When the database was created; the `updated` of a feed with no entries.
    pub fn created_at(&self) -> Result<DateTime<Utc>> {
        self.with(|c| {
            let v: String =
                c.query_row("SELECT value FROM meta WHERE key = 'created_at'", [], |r| {
                    r.get(0)
                })?;
            Ok(from_ts(v.parse().unwrap_or(0)))
        })
    }

    /// Total items stored (all sources).
    pub fn item_count(&self) -> Result<i64> {
        self.with(|c| Ok(c.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))?))
    }
}
