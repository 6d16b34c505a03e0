//! The `stories` table: founding a story, keeping its dates those of its
//! members, finding the story of another source's copy of a link, and the
//! stories read back for the merged feeds.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::items::{ITEM_COLUMNS, ItemView, item_from_row};
use super::{Result, Store};

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
    pub(crate) fn lead(&self) -> &ItemView {
        &self.members[0]
    }
}

/// Founds the story `uid` for `founder` (the source of its first item, whose
/// id the uid hashes), dated by its first item; `None` when a story of that
/// uid exists already. Unique per founder (schema migration 9), so that a
/// poll's new stories sit side by side in the index; a story founded before
/// has no founder, and while the database holds such stories
/// (`any_without_founder`) its uid is looked up among those first.
pub(super) fn found(
    tx: &Transaction,
    founder: &str,
    uid: &str,
    published: i64,
    updated: i64,
    stories_without_founder: bool,
) -> rusqlite::Result<Option<i64>> {
    if stories_without_founder && without_founder(tx, uid)?.is_some() {
        return Ok(None);
    }
    // The rows inserted say whether it was founded, as for items: `RETURNING`
    // buffers its rows in a temporary table and cost 2.6 times as much (BENCHMARKS.md).
    let inserted = tx
        .prepare_cached(
            "INSERT INTO stories (founder, uid, published, updated) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (founder, uid) DO NOTHING",
        )?
        .execute(params![founder, uid, published, updated])?;
    Ok((inserted > 0).then(|| tx.last_insert_rowid()))
}

/// Whether any story was founded before stories kept their founder: asked
/// once per poll, not per new story (the look-up per story cost as much as
/// founding it; in one statement with the INSERT, eight times as much).
pub(super) fn any_without_founder(tx: &Transaction) -> rusqlite::Result<bool> {
    tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM stories WHERE founder IS NULL)")?
        .query_row([], |r| r.get(0))
}

/// A story founded before stories kept their founder, by uid.
fn without_founder(tx: &Transaction, uid: &str) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached("SELECT id FROM stories WHERE founder IS NULL AND uid = ?1")?
        .query_row([uid], |r| r.get(0))
        .optional()
}

/// The story [`found`] found taken.
pub(super) fn id_of(tx: &Transaction, founder: &str, uid: &str) -> rusqlite::Result<i64> {
    if let Some(id) = without_founder(tx, uid)? {
        return Ok(id);
    }
    tx.prepare_cached("SELECT id FROM stories WHERE founder = ?1 AND uid = ?2")?
        .query_row([founder, uid], |r| r.get(0))
}

/// [`by_link`]'s query.
pub(super) const BY_LINK: &str = "SELECT i.story_id FROM items i WHERE i.link_key = ?1 AND i.source_id != ?2 \
     AND NOT EXISTS (SELECT 1 FROM items o WHERE o.story_id = i.story_id AND o.source_id = ?2) \
     ORDER BY i.published LIMIT 1";

/// The story of the earliest item of another source with canonical link
/// `link_key`, among stories that hold no item of `source_id` yet.
pub(super) fn by_link(
    tx: &Transaction,
    link_key: &str,
    source_id: &str,
) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(BY_LINK)?
        .query_row(params![link_key, source_id], |r| r.get(0))
        .optional()
}

/// Dates a story by its members: the earliest publication, the latest change.
pub(super) fn refresh(tx: &Transaction, story_id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE stories SET published = (SELECT MIN(published) FROM items WHERE story_id = ?1), \
                            updated = (SELECT MAX(updated) FROM items WHERE story_id = ?1) \
         WHERE id = ?1 AND EXISTS (SELECT 1 FROM items WHERE story_id = ?1)",
    )?
    .execute([story_id])?;
    Ok(())
}

/// Deletes a story whose last member was deleted.
pub(super) fn delete_if_empty(tx: &Transaction, story_id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM stories WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM items WHERE story_id = ?1)")?
        .execute([story_id])?;
    Ok(())
}

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

/// Which stories a feed by query holds: any of `tags`, none of `not_tags`,
/// a member from any of `sources`, none from `not_sources`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StoryFilter<'a> {
    pub(crate) tags: &'a [String],
    pub(crate) not_tags: &'a [String],
    pub(crate) sources: &'a [String],
    pub(crate) not_sources: &'a [String],
}

/// What `/status` says of story matching: the merged feed's entries, the
/// stories that gathered several items, and how many items those hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoryCounts {
    /// Stories with at least one shown item of an active source.
    pub stories: i64,
    /// Of those, the stories with more than one shown item.
    pub merged_stories: i64,
    /// Shown items in the merged stories.
    pub merged_items: i64,
}

impl Store {
    /// Counts stories as the merged feed shows them (shown items of active sources).
    pub fn story_counts(&self) -> Result<StoryCounts> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT COUNT(*), COALESCE(SUM(n > 1), 0), COALESCE(SUM(CASE WHEN n > 1 THEN n ELSE 0 END), 0) \
                 FROM (SELECT COUNT(*) AS n FROM items i JOIN sources s ON s.id = i.source_id \
                       WHERE s.active = 1 AND i.hidden IS NULL GROUP BY i.story_id)",
            )?
            .query_row([], |r| {
                Ok(StoryCounts {
                    stories: r.get(0)?,
                    merged_stories: r.get(1)?,
                    merged_items: r.get(2)?,
                })
            })?)
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
    pub(crate) fn max_story_id(&self) -> Result<i64> {
        self.with(
            |c| Ok(c.query_row("SELECT COALESCE(MAX(id), 0) FROM stories", [], |r| r.get(0))?),
        )
    }

    /// The stories with ids in `first..=last` that still have shown members, newest first.
    pub(crate) fn stories_by_id_range(&self, first: i64, last: i64) -> Result<Vec<StoryView>> {
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

    /// The newest stories `filter` selects (a feed by query). Each condition
    /// looks at the story's shown members from active sources, as the
    /// merged feed shows them; an empty list does not restrict.
    pub(crate) fn filtered_stories(
        &self,
        filter: &StoryFilter<'_>,
        limit: usize,
    ) -> Result<Vec<StoryView>> {
        let mut args: Vec<&dyn rusqlite::ToSql> = Vec::new();
        let mut conds: Vec<String> = Vec::new();
        let member = |cond: &str| {
            format!(
                "EXISTS (SELECT 1 FROM items i JOIN sources src ON src.id = i.source_id \
                 WHERE i.story_id = s.id AND i.hidden IS NULL AND src.active = 1 AND {cond})"
            )
        };
        // ?1 and ?2 are the limit and offset `stories_from` binds; the values follow.
        let placeholders = |values: &[String], args: &Vec<&dyn rusqlite::ToSql>| {
            let start = args.len() + 3;
            (start..start + values.len())
                .map(|n| format!("?{n}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        for (values, tagged, wanted) in [
            (filter.tags, true, true),
            (filter.not_tags, true, false),
            (filter.sources, false, true),
            (filter.not_sources, false, false),
        ] {
            if values.is_empty() {
                continue;
            }
            let marks = placeholders(values, &args);
            for v in values {
                args.push(v);
            }
            let cond = if tagged {
                member(&format!(
                    "i.id IN (SELECT item_id FROM item_tags WHERE tag IN ({marks}))"
                ))
            } else {
                member(&format!("i.source_id IN ({marks})"))
            };
            conds.push(if wanted { cond } else { format!("NOT {cond}") });
        }
        let where_clause = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let sql = format!(
            "SELECT s.id, s.uid FROM stories s {where_clause} ORDER BY s.published DESC, s.id DESC LIMIT ?1 OFFSET ?2"
        );
        self.with(|c| stories_from(c, &sql, &args, limit))
    }

    /// The newest stories with a shown member carrying `tag`.
    pub(crate) fn tag_stories(&self, tag: &str, limit: usize) -> Result<Vec<StoryView>> {
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
}
