//! One poll's ingest: the single transaction that spans the tables for one
//! source — its items new, updated or unchanged, the stories they join or
//! found, retention, the article pages read and the source's poll record.

use std::collections::HashSet;

use rusqlite::{Connection, Transaction};

use super::items::{self, Lookup, Written};
use super::pages::save_pages_in;
use super::sources::{PollRecord, guids_unreliable_in, record_ingest_in, record_poll_in};
use super::stories;
use super::{Result, Store, from_ts, to_ts};
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
            let full = crate::normalize::html_to_text(content);
            if full.len() > text.len() {
                return Signature::of(title, &format!("{text}\n{full}"));
            }
            Signature::of(title, text)
        }
        _ => Signature::of(title, text),
    }
}

/// The story a new item joins (the story module decides, from what is found
/// by its link and in the index), else the one it founds.
fn story_for_new_item(
    tx: &Transaction,
    source_id: &str,
    p: &Prepared,
    published: i64,
    updated: i64,
    identity: &str,
    matching: Option<(&Matching, &Signature)>,
) -> rusqlite::Result<StoryFor> {
    let by_link = match &p.item.link_key {
        Some(link_key) => stories::by_link(tx, link_key, source_id)?,
        None => None,
    };
    if let Some(joining) = story::story_to_join(by_link, source_id, from_ts(published), matching) {
        return Ok(StoryFor::Joined(joining.story()));
    }
    let uid = stable_uuid(&["story", source_id, identity]);
    if let Some(id) = stories::found(tx, &uid, published, updated)? {
        // Its only member is this item, whose dates it already carries.
        return Ok(StoryFor::Founded(id));
    }
    // The story outlived its item (expired and seen again): it joins it again.
    Ok(StoryFor::Joined(stories::id_of(tx, &uid)?))
}

fn ingest_one(
    tx: &Transaction,
    source_id: &str,
    p: &Prepared,
    guids: &HashSet<String>,
    at: i64,
    matching: Option<&mut Matching>,
) -> Result<(Outcome, i64)> {
    let mut lookup = Lookup { tx, source_id };
    let existing = dedup::find_existing(p, guids, &mut lookup)?;
    let item = &p.item;
    let hash = items::content_hash(item);
    let Some(row) = existing else {
        let published = item.published.map(to_ts).unwrap_or(at);
        let updated = item.updated.map(to_ts).unwrap_or(published).max(published);
        let identity = p.identity();
        let sig = matching.as_ref().map(|_| signature_of(item));
        // A hidden item joins no story by its text and no later item joins it:
        // the operator's rules removed it, so it must not pull others together.
        let matching = matching.filter(|_| item.hidden.is_none());
        let with_sig = matching.as_deref().zip(sig.as_ref());
        let story_for =
            story_for_new_item(tx, source_id, p, published, updated, &identity, with_sig)?;
        let story = story_for.id();
        let mut uid = stable_uuid(&["item", source_id, &identity]);
        if items::uid_taken(tx, &uid)? {
            // Only when a stored item's identity changed under it; keep both, distinctly.
            uid = stable_uuid(&["item", source_id, &identity, &at.to_string(), &hash]);
        }
        let written = Written {
            prepared: p,
            published,
            updated,
            seen_at: at,
            content_hash: &hash,
            signature: sig.as_ref().map(Signature::encode),
        };
        let new_row = items::insert(tx, source_id, &uid, story, &written)?;
        if let (Some(m), Some(sig)) = (matching, &sig) {
            m.stored_new(new_row, source_id, story, from_ts(published), sig);
        }
        if let StoryFor::Joined(story) = story_for {
            stories::refresh(tx, story)?;
        }
        return Ok((Outcome::New, new_row));
    };
    let old = items::stored(tx, row)?;
    if old.hidden != item.hidden || old.tags != items::json(&item.tags) {
        items::set_verdict(tx, row, item.hidden.as_deref(), &item.tags, &old.tags)?;
    }
    let mut matching = matching;
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
    let sig = matching.as_ref().map(|_| signature_of(item));
    let written = Written {
        prepared: p,
        published,
        updated,
        seen_at: at,
        content_hash: &hash,
        signature: sig.as_ref().map(Signature::encode),
    };
    items::update(tx, row, &written)?;
    if let (Some(m), Some(sig), None) = (matching, &sig, &item.hidden) {
        m.stored_edit(row, source_id, old.story, from_ts(published), sig);
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
        items::delete(tx, *id)?;
        if let Some(index) = index.as_deref_mut() {
            index.remove(*id);
        }
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

/// One poll's items in one transaction; `index` (when matching is on) takes
/// in every change as it is written.
fn ingest_in(
    c: &mut Connection,
    req: IngestRequest,
    index: Option<&mut StoryIndex>,
    rules: &story::Rules,
) -> Result<(IngestReport, bool)> {
    let tx = c.transaction()?;
    let mut matching = index.map(|index| Matching::new(index, rules));
    let unreliable = guids_unreliable_in(&tx, &req.source_id)?;
    let batch = dedup::prepare(req.items, unreliable);
    let at = to_ts(req.record.at);
    let mut report = IngestReport {
        repeats: batch.repeats,
        guid_collision: batch.guid_collision,
        ..Default::default()
    };
    let mut in_document = HashSet::with_capacity(batch.items.len());
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
    let stale = matching.as_ref().is_some_and(Matching::is_stale);
    let index = matching.map(Matching::into_index);
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
    record_ingest_in(
        &tx,
        &req.source_id,
        req.feed_title.as_deref(),
        req.home_url.as_deref(),
        &report,
        at,
    )?;
    tx.commit()?;
    Ok((report, stale))
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
                (Ok((report, false)), Some(index)) => {
                    stories.put_index(c, index)?;
                    Ok(report)
                }
                // A failed transaction rolled back what the index already took
                // in, or an item was hidden or shown again: rebuild it next time.
                (result, _) => {
                    stories.drop_index();
                    result.map(|(report, _)| report)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use url::Url;

    use super::*;
    use crate::model::{Registration, SourceKind};

    fn store_with(sources: &[&str], rules: story::Rules) -> Store {
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
            summary_html: None,
            content_html: None,
            text: String::new(),
            published: Some(published),
            updated: None,
            authors: vec![],
            categories: vec![],
            hidden: None,
            tags: vec![],
            media: vec![],
        };
        IngestRequest {
            source_id: source.to_string(),
            items: vec![item],
            record: PollRecord {
                at: published,
                status: Some(200),
                error: None,
                duration_ms: 1,
                not_before: None,
                validators: None,
                moved_to: None,
                warning: None,
            },
            feed_title: None,
            home_url: None,
            keep_days: None,
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
}
