//! The `pages` table: article pages of HTML sources as last read, so that an
//! unchanged listing entry costs no request and a changed one a conditional
//! request. The extracted article is stored as opaque JSON (extract owns its shape).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};

use super::{Result, Store, from_ts, to_ts};
use crate::model::{PageRecord, Validators};

/// Pages unseen for this long and no longer linked by any item are forgotten.
const FORGET_AFTER_DAYS: i64 = 90;

impl Store {
    /// The remembered pages of a source among `urls`.
    pub(crate) fn pages(
        &self,
        source_id: &str,
        urls: &[String],
    ) -> Result<HashMap<String, PageRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT url, fingerprint, etag, last_modified, status, fetched_at, article FROM pages WHERE source_id = ?1 AND url = ?2",
            )?;
            let mut out = HashMap::new();
            for url in urls {
                let mut rows = stmt.query(params![source_id, url])?;
                if let Some(r) = rows.next()? {
                    out.insert(
                        url.clone(),
                        PageRecord {
                            url: r.get(0)?,
                            fingerprint: r.get(1)?,
                            validators: Validators {
                                etag: r.get(2)?,
                                last_modified: r.get(3)?,
                            },
                            status: r.get::<_, Option<i64>>(4)?.map(|s| s.clamp(0, 999) as u16),
                            fetched_at: from_ts(r.get(5)?),
                            article: r.get(6)?,
                        },
                    );
                }
            }
            Ok(out)
        })
    }
}

pub(super) fn save_pages_in(
    tx: &Transaction,
    source_id: &str,
    pages: &[PageRecord],
    at: DateTime<Utc>,
) -> Result<()> {
    if pages.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO pages (source_id, url, fingerprint, etag, last_modified, status, fetched_at, article) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (source_id, url) DO UPDATE SET fingerprint = excluded.fingerprint, etag = excluded.etag, \
            last_modified = excluded.last_modified, status = excluded.status, fetched_at = excluded.fetched_at, article = excluded.article",
    )?;
    for p in pages {
        stmt.execute(params![
            source_id,
            p.url,
            p.fingerprint,
            p.validators.etag,
            p.validators.last_modified,
            p.status,
            to_ts(p.fetched_at),
            p.article
        ])?;
    }
    tx.prepare_cached(
        "DELETE FROM pages WHERE source_id = ?1 AND fetched_at < ?2 \
         AND NOT EXISTS (SELECT 1 FROM items WHERE items.source_id = pages.source_id AND items.link = pages.url)",
    )?
    .execute(params![source_id, to_ts(at) - FORGET_AFTER_DAYS * 86400])?;
    Ok(())
}
