//! The `items` table (with `item_tags`): the row one ingest writes for an
//! item, how dedup finds an item's earlier row, the operator's verdicts, and
//! items read back for publishing.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};
use sha2::{Digest, Sha256};

use super::{Result, Store, from_ts};
use crate::dedup::{Candidate, Existing, Prepared};
use crate::model::{Item, Media};

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
    /// Pictures, videos, audio and documents, as normalised.
    pub media: Vec<Media>,
}

pub(super) const ITEM_COLUMNS: &str = "i.uid, i.source_id, s.name, COALESCE(s.fetch_url, s.config_url), s.home_url, s.feed_title, i.link, i.title, \
     i.summary_html, i.content_html, i.text, i.published, i.date_from_partner, i.updated, i.authors, i.categories, i.tags, i.media";

/// A digest of what a reader sees of an item: when it changes, a seen item is an update.
pub(super) fn content_hash(item: &Item) -> String {
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
    // Media joined later (or changed) make the item an update.
    if !item.media.is_empty() {
        h.update(media_json(&item.media).as_bytes());
        h.update([0]);
    }
    if let Some(p) = item.published {
        h.update(p.timestamp().to_le_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// An item's earlier rows in one source, for [`crate::dedup::find_existing`].
pub(super) struct Lookup<'a> {
    tx: &'a Transaction<'a>,
    source_id: &'a str,
    /// The link key looked up by link, and whether another source holds it.
    link_elsewhere: Option<(String, bool)>,
}

/// Dedup's lookup by link: `items_link_key` (every source's copies of the
/// link, rarely more than a few), not the source's other indexes (`+`
/// keeps `source_id` from choosing one); ordered by id here, not in a
/// temporary B-tree. Its own index per source cost a B-tree write per item.
/// Every source's copies are read (the table row is read for `source_id`
/// either way), so that the story's lookup by link is skipped when none is
/// another source's ([`Lookup::elsewhere`]).
pub(super) const BY_LINK: &str =
    "SELECT id, guid, link_key, source_id FROM items WHERE link_key = ?1";

impl<'a> Lookup<'a> {
    pub(super) fn new(tx: &'a Transaction<'a>, source_id: &'a str) -> Self {
        Lookup {
            tx,
            source_id,
            link_elsewhere: None,
        }
    }

    /// Whether another source holds an item with `link_key`, when this
    /// lookup read it; `None`: not looked up here.
    pub(super) fn elsewhere(&self, link_key: &str) -> Option<bool> {
        match &self.link_elsewhere {
            Some((key, elsewhere)) if key == link_key => Some(*elsewhere),
            _ => None,
        }
    }

    fn query(&self, sql: &str, value: &str) -> rusqlite::Result<Vec<Candidate>> {
        let mut stmt = self.tx.prepare_cached(sql)?;
        let rows = stmt.query_map(params![self.source_id, value], candidate)?;
        rows.collect()
    }
}

/// A candidate from a row that starts `id, guid, link_key`.
fn candidate(r: &rusqlite::Row) -> rusqlite::Result<Candidate> {
    Ok(Candidate {
        row: r.get(0)?,
        guid: r.get(1)?,
        link_key: r.get(2)?,
    })
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
        let mut stmt = self.tx.prepare_cached(BY_LINK)?;
        let mut elsewhere = false;
        let mut found = Vec::new();
        let mut rows = stmt.query(params![link_key])?;
        while let Some(r) = rows.next()? {
            if r.get_ref(3)?.as_str()? != self.source_id {
                elsewhere = true;
                continue;
            }
            found.push(candidate(r)?);
        }
        self.link_elsewhere = Some((link_key.to_owned(), elsewhere));
        found.sort_unstable_by_key(|c| c.row);
        Ok(found)
    }
    fn by_fingerprint(&mut self, fp: &str) -> rusqlite::Result<Vec<Candidate>> {
        self.query("SELECT id, guid, link_key FROM items WHERE source_id = ?1 AND fingerprint = ?2 ORDER BY id", fp)
    }
}

pub(super) fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn media_json(v: &[Media]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// What one ingest writes into an item's row, new or updated.
pub(super) struct Written<'a> {
    pub prepared: &'a Prepared<'a>,
    pub published: i64,
    pub updated: i64,
    /// When this poll saw the item.
    pub seen_at: i64,
    pub content_hash: &'a str,
    /// The encoded story signature; `None` while story matching is off.
    pub signature: Option<&'a str>,
}

const INSERT: &str = "INSERT INTO items (source_id, uid, guid, link, link_key, fingerprint, title, summary_html, content_html, text, \
                        authors, categories, published, date_from_partner, updated, first_seen, last_seen, content_hash, story_id, story_sig, \
                        hidden, tags, media) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17, ?18, ?19, ?20, ?21, ?22)";

/// Inserts a new item into `story` with its verdict; returns its row id.
pub(super) fn insert(
    tx: &Transaction,
    source_id: &str,
    uid: &str,
    story: i64,
    w: &Written,
) -> rusqlite::Result<i64> {
    insert_with(tx, INSERT, source_id, uid, story, w)?;
    Ok(tx.last_insert_rowid())
}

/// [`insert`], or `None` when another item holds `uid` already: the
/// unique index answers that while inserting, instead of a lookup first.
/// It is unique per source (schema migration 9), which is unique: a uid
/// hashes its source id (`stable_uuid`).
pub(super) fn insert_unless_taken(
    tx: &Transaction,
    source_id: &str,
    uid: &str,
    story: i64,
    w: &Written,
) -> rusqlite::Result<Option<i64>> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("{INSERT} ON CONFLICT (source_id, uid) DO NOTHING"));
    let inserted = insert_with(tx, &SQL, source_id, uid, story, w)?;
    Ok((inserted > 0).then(|| tx.last_insert_rowid()))
}

/// Runs one of the INSERTs above with the item's values and, when a row
/// was inserted, its tags; returns the rows inserted.
fn insert_with(
    tx: &Transaction,
    sql: &str,
    source_id: &str,
    uid: &str,
    story: i64,
    w: &Written,
) -> rusqlite::Result<usize> {
    let item = &w.prepared.item;
    let inserted = tx.prepare_cached(sql)?.execute(params![
        source_id,
        uid,
        item.guid,
        item.link,
        item.link_key,
        w.prepared.fingerprint,
        item.title,
        item.summary_html,
        item.content_html,
        item.text,
        json(&item.authors),
        json(&item.categories),
        w.published,
        item.published.is_some(),
        w.updated,
        w.seen_at,
        w.content_hash,
        story,
        w.signature,
        item.hidden,
        json(&item.tags),
        media_json(&item.media)
    ])?;
    if inserted > 0 {
        // The verdict goes into the INSERT: a separate UPDATE rewrote every new row.
        add_tags(tx, tx.last_insert_rowid(), &item.tags)?;
    }
    Ok(inserted)
}

/// Rewrites a stored item whose content changed; its story and uid stay.
pub(super) fn update(tx: &Transaction, row: i64, w: &Written) -> rusqlite::Result<()> {
    let item = &w.prepared.item;
    tx.prepare_cached(
        "UPDATE items SET guid = ?2, link = ?3, link_key = ?4, fingerprint = ?5, title = ?6, summary_html = ?7, content_html = ?8, \
                          text = ?9, authors = ?10, categories = ?11, published = ?12, \
                          date_from_partner = (date_from_partner OR ?13), updated = ?14, last_seen = ?15, content_hash = ?16, \
                          story_sig = ?17, media = ?18 \
         WHERE id = ?1",
    )?
    .execute(params![
        row,
        item.guid,
        item.link,
        item.link_key,
        w.prepared.fingerprint,
        item.title,
        item.summary_html,
        item.content_html,
        item.text,
        json(&item.authors),
        json(&item.categories),
        w.published,
        item.published.is_some(),
        w.updated,
        w.seen_at,
        w.content_hash,
        w.signature,
        media_json(&item.media)
    ])?;
    Ok(())
}

/// What an ingest compares a seen item with.
pub(super) struct Stored {
    pub content_hash: String,
    pub published: i64,
    pub updated: i64,
    pub story: i64,
    pub hidden: Option<String>,
    /// As JSON.
    pub tags: String,
}

pub(super) fn stored(tx: &Transaction, row: i64) -> rusqlite::Result<Stored> {
    tx.prepare_cached(
        "SELECT content_hash, published, updated, story_id, hidden, tags FROM items WHERE id = ?1",
    )?
    .query_row([row], |r| {
        Ok(Stored {
            content_hash: r.get(0)?,
            published: r.get(1)?,
            updated: r.get(2)?,
            story: r.get(3)?,
            hidden: r.get(4)?,
            tags: r.get(5)?,
        })
    })
}

/// An unchanged item was seen again.
pub(super) fn touch(tx: &Transaction, row: i64, at: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE items SET last_seen = ?2 WHERE id = ?1")?
        .execute(params![row, at])?;
    Ok(())
}

/// A source's items beyond its retention limits (published before `cutoff`,
/// or past the newest `keep`), with their stories.
pub(super) fn beyond_retention(
    tx: &Transaction,
    source_id: &str,
    cutoff: i64,
    keep: i64,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, story_id FROM ( \
            SELECT id, story_id, published, ROW_NUMBER() OVER (ORDER BY published DESC, id DESC) AS rank \
            FROM items WHERE source_id = ?1) \
         WHERE published < ?2 OR rank > ?3",
    )?;
    let rows = stmt.query_map(params![source_id, cutoff, keep], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}

pub(super) fn delete(tx: &Transaction, row: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM items WHERE id = ?1")?
        .execute([row])?;
    Ok(())
}

/// Stores what the operator's rules decided: the hidden reason and the tags
/// (also in `item_tags`, which per-tag feeds query) for a stored item whose
/// stored tags are `old_tags` (JSON). New items get theirs in their INSERT.
pub(super) fn set_verdict(
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

/// An [`ItemView`] from a row of [`ITEM_COLUMNS`].
pub(super) fn item_from_row(r: &rusqlite::Row) -> rusqlite::Result<ItemView> {
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
        // Rows stored before media were read have '[]'; an unreadable value is no media.
        media: serde_json::from_str(&r.get::<_, String>(17)?).unwrap_or_default(),
    })
}

impl Store {
    /// Re-applies the operator's rules to every stored item (after a config
    /// change); returns how many items changed verdict.
    pub(crate) fn rejudge(
        &self,
        judge: impl Fn(&str, &Item) -> crate::filter::Verdict,
    ) -> Result<usize> {
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
                            media: Vec::new(),
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

    /// Total items stored (all sources).
    pub fn item_count(&self) -> Result<i64> {
        self.with(|c| Ok(c.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))?))
    }
}
