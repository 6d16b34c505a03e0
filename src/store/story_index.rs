//! The in-memory story index and where it comes from: the `story_sig` column
//! of the items table. The index is a cache of that column; it is built on
//! first use, kept current by this connection's own writes, and rebuilt when
//! another connection (a `fetch --once` beside the daemon) has written to the
//! file, as `PRAGMA data_version` tells. Signatures missing or of an older
//! analysis are computed once from the stored title and text.

use std::sync::MutexGuard;

use rusqlite::{Connection, params};

use super::ingest::signature_from;
use super::{Result, Store, from_ts};
use crate::story::{Rules, Signature, StoryIndex, story_day};

/// The matching rules and the index, behind the store's lock.
#[derive(Debug, Default)]
pub(crate) struct StoryState {
    pub(crate) rules: Rules,
    index: Option<(StoryIndex, i64)>,
}

fn data_version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
}

impl StoryState {
    /// The index, current with the database; the caller puts it back with
    /// [`put_index`](Self::put_index) after a successful write.
    pub(crate) fn take_fresh_index(&mut self, c: &mut Connection) -> Result<StoryIndex> {
        let version = data_version(c)?;
        match self.index.take() {
            Some((index, seen)) if seen == version => Ok(index),
            _ => load(c),
        }
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

/// Builds the index from every stored item's signature.
fn load(c: &mut Connection) -> Result<StoryIndex> {
    let started = std::time::Instant::now();
    let mut index = StoryIndex::default();
    let mut stale: Vec<i64> = Vec::new();
    {
        let mut stmt =
            // Hidden items are not matched against: the rules removed them.
            c.prepare("SELECT id, source_id, story_id, published, story_sig FROM items WHERE hidden IS NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let sig: Option<String> = r.get(4)?;
            match sig.as_deref().and_then(Signature::decode) {
                Some(sig) => {
                    let source: String = r.get(1)?;
                    index.insert(id, &source, r.get(2)?, story_day(from_ts(r.get(3)?)), &sig);
                }
                None => stale.push(id),
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
            for id in &stale {
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
                index.insert(*id, &source, story, story_day(from_ts(published)), &sig);
            }
        }
        tx.commit()?;
    }
    index.shrink_to_fit();
    tracing::debug!(
        items = index.len(),
        computed = stale.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "story index built"
    );
    Ok(index)
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
}
