//! The `items` and `stories` tables: ingesting one poll's items in one
//! transaction (new, updated, unchanged; story membership; retention), and
//! reading stories and items back for publishing.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::pages::{PageRecord, save_pages_in};
use super::sources::{PollRecord, record_poll_in};
use super::{Result, Store, StoreError, from_ts, to_ts};
use crate::dedup::{self, Candidate, Existing, Prepared};
use crate::normalize::Item;

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

/// The story a new item joins: another source's item with the same canonical link, else a new story.
fn story_for_new_item(
    tx: &Transaction,
    source_id: &str,
    p: &Prepared,
    published: i64,
    identity: &str,
) -> rusqlite::Result<i64> {
    if let Some(link_key) = &p.item.link_key {
        let shared: Option<i64> = tx
            .prepare_cached("SELECT story_id FROM items WHERE link_key = ?1 AND source_id != ?2 ORDER BY published LIMIT 1")?
            .query_row(params![link_key, source_id], |r| r.get(0))
            .optional()?;
        if let Some(story) = shared {
            return Ok(story);
        }
    }
    let uid = dedup::stable_uuid(&["story", source_id, identity]);
    tx.prepare_cached("INSERT INTO stories (uid, published, updated) VALUES (?1, ?2, ?2) ON CONFLICT (uid) DO NOTHING")?
        .execute(params![uid, published])?;
    tx.prepare_cached("SELECT id FROM stories WHERE uid = ?1")?
        .query_row([uid], |r| r.get(0))
}

fn ingest_one(
    tx: &Transaction,
    source_id: &str,
    p: &Prepared,
    guids: &std::collections::HashSet<String>,
    at: i64,
) -> Result<Outcome> {
    let mut lookup = Lookup { tx, source_id };
    let existing = dedup::find_existing(p, guids, &mut lookup)?;
    let item = &p.item;
    let hash = content_hash(item);
    let Some(row) = existing else {
        let published = item.published.map(to_ts).unwrap_or(at);
        let updated = item.updated.map(to_ts).unwrap_or(published).max(published);
        let identity = p.identity();
        let story = story_for_new_item(tx, source_id, p, published, &identity)?;
        let mut uid = dedup::stable_uuid(&["item", source_id, &identity]);
        let taken: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE uid = ?1)")?
            .query_row([&uid], |r| r.get(0))?;
        if taken {
            // Only when a stored item's identity changed under it; keep both, distinctly.
            uid = dedup::stable_uuid(&["item", source_id, &identity, &at.to_string(), &hash]);
        }
        tx.prepare_cached(
            "INSERT INTO items (source_id, uid, guid, link, link_key, fingerprint, title, summary_html, content_html, text, \
                                authors, categories, published, date_from_partner, updated, first_seen, last_seen, content_hash, story_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17, ?18)",
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
            story
        ])?;
        refresh_story(tx, story)?;
        return Ok(Outcome::New);
    };
    let (old_hash, old_published, old_updated, story): (String, i64, i64, i64) = tx
        .prepare_cached(
            "SELECT content_hash, published, updated, story_id FROM items WHERE id = ?1",
        )?
        .query_row([row], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    if old_hash == hash {
        tx.prepare_cached("UPDATE items SET last_seen = ?2 WHERE id = ?1")?
            .execute(params![row, at])?;
        return Ok(Outcome::Unchanged);
    }
    // A changed title or body updates the item; a date-less item keeps its first-seen date.
    let published = item.published.map(to_ts).unwrap_or(old_published);
    let updated = item
        .updated
        .map(to_ts)
        .filter(|u| *u > old_updated)
        .unwrap_or(at)
        .max(published);
    tx.prepare_cached(
        "UPDATE items SET guid = ?2, link = ?3, link_key = ?4, fingerprint = ?5, title = ?6, summary_html = ?7, content_html = ?8, \
                          text = ?9, authors = ?10, categories = ?11, published = ?12, \
                          date_from_partner = (date_from_partner OR ?13), updated = ?14, last_seen = ?15, content_hash = ?16 \
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
        hash
    ])?;
    refresh_story(tx, story)?;
    Ok(Outcome::Updated)
}

enum Outcome {
    New,
    Updated,
    Unchanged,
}

/// Deletes items that left the partner's feed and are past the retention limits.
fn expire(
    tx: &Transaction,
    source_id: &str,
    at: i64,
    keep_days: Option<u32>,
    keep_items: Option<usize>,
) -> Result<usize> {
    if keep_days.is_none() && keep_items.is_none() {
        return Ok(0);
    }
    let cutoff = keep_days
        .map(|d| at - i64::from(d) * 86400)
        .unwrap_or(i64::MIN);
    let keep = keep_items.map(|n| n as i64).unwrap_or(i64::MAX);
    // Items still in the partner's current document (last_seen = at) are never expired:
    // deleting them would bring them back as "new" on the next poll.
    let doomed: Vec<(i64, i64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, story_id FROM ( \
                SELECT id, story_id, published, last_seen, ROW_NUMBER() OVER (ORDER BY published DESC, id DESC) AS rank \
                FROM items WHERE source_id = ?1) \
             WHERE last_seen < ?2 AND (published < ?3 OR rank > ?4)",
        )?;
        let rows = stmt.query_map(params![source_id, at, cutoff, keep], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, _) in &doomed {
        tx.prepare_cached("DELETE FROM items WHERE id = ?1")?
            .execute([id])?;
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
     i.summary_html, i.content_html, i.text, i.published, i.date_from_partner, i.updated, i.authors, i.categories";

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
    })
}

impl Store {
    /// Stores one poll's items and the poll's record in a single transaction.
    pub fn ingest(&self, req: IngestRequest) -> Result<IngestReport> {
        self.with(|c| {
            let tx = c.transaction()?;
            let unreliable: bool = tx
                .query_row("SELECT guids_unreliable FROM sources WHERE id = ?1", [&req.source_id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))?;
            let batch = dedup::prepare(req.items, unreliable);
            let at = to_ts(req.record.at);
            let mut report = IngestReport {
                repeats: batch.repeats,
                guid_collision: batch.guid_collision,
                ..Default::default()
            };
            for p in &batch.items {
                match ingest_one(&tx, &req.source_id, p, &batch.guids_in_document, at)? {
                    Outcome::New => report.new += 1,
                    Outcome::Updated => report.updated += 1,
                    Outcome::Unchanged => report.unchanged += 1,
                }
            }
            report.expired = expire(&tx, &req.source_id, at, req.keep_days, req.keep_items)?;
            save_pages_in(&tx, &req.source_id, &req.pages, req.record.at)?;
            record_poll_in(&tx, &req.source_id, &req.record)?;
            tx.execute(
                "UPDATE sources SET feed_title = COALESCE(?2, feed_title), home_url = COALESCE(?3, home_url), \
                    guids_unreliable = (guids_unreliable OR ?4), last_new = ?5, last_updated = ?6, \
                    last_change_at = CASE WHEN ?7 THEN ?8 ELSE last_change_at END \
                 WHERE id = ?1",
                params![
                    req.source_id,
                    req.feed_title,
                    req.home_url,
                    batch.guid_collision,
                    report.new as i64,
                    report.updated as i64,
                    report.changed(),
                    at
                ],
            )?;
            tx.commit()?;
            Ok(report)
        })
    }

    /// The newest stories with at least one member from an active source.
    pub fn stories(&self, limit: usize) -> Result<Vec<StoryView>> {
        self.with(|c| {
            let mut out = Vec::with_capacity(limit);
            let mut offset = 0i64;
            let page = (limit as i64 * 2).max(16);
            let mut head = c.prepare_cached("SELECT id, uid, published, updated FROM stories ORDER BY published DESC, id DESC LIMIT ?1 OFFSET ?2")?;
            let mut members = c.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id \
                 WHERE i.story_id = ?1 AND s.active = 1 ORDER BY i.published, i.id"
            ))?;
            while out.len() < limit {
                let heads: Vec<(i64, String, i64, i64)> = head
                    .query_map(params![page, offset], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                if heads.is_empty() {
                    break;
                }
                offset += heads.len() as i64;
                for (id, uid, _, _) in heads {
                    let items: Vec<ItemView> = members.query_map([id], item_from_row)?.collect::<rusqlite::Result<_>>()?;
                    if items.is_empty() {
                        continue;
                    }
                    // Dates over active members only, so a removed source doesn't date the entry.
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
            out.sort_by(|a, b| b.published.cmp(&a.published).then_with(|| b.uid.cmp(&a.uid)));
            Ok(out)
        })
    }

    /// The newest items of one source.
    pub fn source_items(&self, source_id: &str, limit: usize) -> Result<Vec<ItemView>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id \
                 WHERE i.source_id = ?1 ORDER BY i.published DESC, i.id DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![source_id, limit as i64], item_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
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
