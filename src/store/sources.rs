//! The `sources` table: one row per configured partner, holding what the
//! scheduler must remember (validators, failures, not-before) and what the
//! status page shows (last poll, HTTP status, last error).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::ingest::IngestReport;
use super::{Result, Store, StoreError, from_ts, to_ts};
use url::Url;

use crate::model::{PollHistory, Registration, Resolution, ResolvedKind, SourceKind, Validators};

/// Everything stored about one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceState {
    pub id: String,
    pub active: bool,
    pub name: String,
    pub kind: SourceKind,
    pub config_url: String,
    pub fetch_url: Option<String>,
    pub feed_title: Option<String>,
    pub home_url: Option<String>,
    pub validators: Validators,
    pub history: PollHistory,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_change_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i64>,
    pub last_new: i64,
    pub last_updated: i64,
    pub guids_unreliable: bool,
    pub polls: i64,
    pub item_count: i64,
    /// For kind "auto" (and feeds found on a page): what it turned out to be.
    pub resolved_kind: Option<ResolvedKind>,
    /// How the source's kind and URL were discovered, for the status page.
    pub discovery: Option<String>,
    /// What reading the last document recovered or lost (see `PollRecord::warning`).
    pub last_warning: Option<String>,
}

impl SourceState {
    /// Until when the partner asked (429/503 with Retry-After) that nothing
    /// reach the origin this source is polled at, if that is still ahead.
    /// Kept in the database with the poll, so the hold outlives a restart.
    pub fn origin_hold(&self, now: DateTime<Utc>) -> Option<(&str, DateTime<Utc>)> {
        let asked =
            matches!(self.last_status, Some(429 | 503)) && self.history.consecutive_failures > 0;
        self.history
            .not_before
            .filter(|until| asked && *until > now)
            .map(|until| (self.poll_url(), until))
    }

    /// Where to poll now: the permanent-redirect target if there was one.
    pub fn poll_url(&self) -> &str {
        self.fetch_url.as_deref().unwrap_or(&self.config_url)
    }
}

/// The outcome of one poll that did not bring new content.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub not_before: Option<DateTime<Utc>>,
    pub validators: Option<Validators>,
    pub moved_to: Option<String>,
    /// `Some` when the poll read a document: what was recovered or lost in
    /// it (`Some(None)`: nothing). `None` (a 304, a failure) keeps the
    /// previous document's warning.
    pub warning: Option<Option<String>>,
    /// `Some` when discovery decided what the source is (`Some(None)`: its
    /// discovered feed is gone, discover again). Written in the poll's own
    /// transaction: a separate one cost every newly discovered source an
    /// extra commit and fsync (BENCHMARKS.md).
    pub resolution: Option<Option<Resolution>>,
}

const COLUMNS: &str = "s.id, s.active, s.name, s.kind, s.config_url, s.fetch_url, s.feed_title, s.home_url, s.etag, s.last_modified, \
     s.last_attempt_at, s.consecutive_failures, s.not_before, s.last_success_at, s.last_change_at, s.last_status, s.last_error, \
     s.last_duration_ms, s.last_new, s.last_updated, s.guids_unreliable, s.polls, \
     (SELECT COUNT(*) FROM items i WHERE i.source_id = s.id), s.resolved_kind, s.discovery, s.last_warning";

fn state_from_row(r: &Row) -> rusqlite::Result<SourceState> {
    let ts = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_ts))
    };
    Ok(SourceState {
        id: r.get(0)?,
        active: r.get(1)?,
        name: r.get(2)?,
        kind: SourceKind::parse(&r.get::<_, String>(3)?).unwrap_or(SourceKind::Auto),
        config_url: r.get(4)?,
        fetch_url: r.get(5)?,
        feed_title: r.get(6)?,
        home_url: r.get(7)?,
        validators: Validators {
            etag: r.get(8)?,
            last_modified: r.get(9)?,
        },
        history: PollHistory {
            last_attempt: ts(10)?,
            consecutive_failures: r.get::<_, i64>(11)?.clamp(0, u32::MAX as i64) as u32,
            not_before: ts(12)?,
        },
        last_success_at: ts(13)?,
        last_change_at: ts(14)?,
        last_status: r.get::<_, Option<i64>>(15)?.map(|s| s.clamp(0, 999) as u16),
        last_error: r.get(16)?,
        last_duration_ms: r.get(17)?,
        last_new: r.get(18)?,
        last_updated: r.get(19)?,
        guids_unreliable: r.get(20)?,
        polls: r.get(21)?,
        item_count: r.get(22)?,
        resolved_kind: r
            .get::<_, Option<String>>(23)?
            .as_deref()
            .and_then(ResolvedKind::parse),
        discovery: r.get(24)?,
        last_warning: r.get(25)?,
    })
}

impl Store {
    /// Makes the table match the config: new sources added, removed ones
    /// marked inactive (their items stay), a changed URL restarts its validators.
    pub fn sync_sources(&self, sources: &[Registration]) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute("UPDATE sources SET active = 0", [])?;
            for s in sources {
                let old_url: Option<String> = tx
                    .query_row("SELECT config_url FROM sources WHERE id = ?1", [&s.id], |r| r.get(0))
                    .optional()?;
                match old_url {
                    None => {
                        tx.execute(
                            "INSERT INTO sources (id, active, name, kind, config_url) VALUES (?1, 1, ?2, ?3, ?4)",
                            params![s.id, s.name, s.kind.as_str(), s.url.as_str()],
                        )?;
                    }
                    Some(old) if old != s.url.as_str() => {
                        tx.execute(
                            "UPDATE sources SET active = 1, name = ?2, kind = ?3, config_url = ?4, fetch_url = NULL, resolved_kind = NULL, \
                             discovery = NULL, etag = NULL, last_modified = NULL, not_before = NULL, consecutive_failures = 0 WHERE id = ?1",
                            params![s.id, s.name, s.kind.as_str(), s.url.as_str()],
                        )?;
                    }
                    Some(_) => {
                        // A changed kind is decided afresh.
                        tx.execute(
                            "UPDATE sources SET active = 1, name = ?2, \
                                resolved_kind = CASE WHEN kind = ?3 THEN resolved_kind END, \
                                discovery = CASE WHEN kind = ?3 THEN discovery END, \
                                fetch_url = CASE WHEN kind = ?3 THEN fetch_url END, \
                                kind = ?3 WHERE id = ?1",
                            params![s.id, s.name, s.kind.as_str()],
                        )?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Everything stored about one source, active or not; `None` for an unknown id.
    pub fn source_state(&self, id: &str) -> Result<Option<SourceState>> {
        self.with(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {COLUMNS} FROM sources s WHERE s.id = ?1"))?;
            Ok(stmt.query_row([id], state_from_row).optional()?)
        })
    }

    /// Every active source, in id order.
    pub fn source_states(&self) -> Result<Vec<SourceState>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sources s WHERE s.active = 1 ORDER BY s.id"
            ))?;
            let rows = stmt.query_map([], state_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// A poll that ended without new content: 304, or an error.
    ///
    /// Committed without waiting for the disk (`synchronous = NORMAL` for
    /// this one transaction): it holds only bookkeeping, and a power loss
    /// that drops it costs one extra conditional request, while an fsync per
    /// 304 made a cycle over 1,000 unchanged sources wait ~2 s on the disk
    /// (BENCHMARKS.md). WAL keeps the file consistent either way, and the
    /// next durable commit (an ingest) or checkpoint makes it durable too.
    pub(crate) fn record_poll(&self, id: &str, rec: &PollRecord) -> Result<()> {
        self.with(|c| {
            c.pragma_update(None, "synchronous", "NORMAL")?;
            let result = (|| -> Result<()> {
                let tx = c.transaction()?;
                record_poll_in(&tx, id, rec)?;
                tx.commit()?;
                Ok(())
            })();
            c.pragma_update(None, "synchronous", "FULL")?;
            result
        })
    }
}

pub(super) fn record_poll_in(tx: &rusqlite::Transaction, id: &str, rec: &PollRecord) -> Result<()> {
    // Before the validators: a new feed URL drops the old URL's validators,
    // and this poll's are the new URL's.
    if let Some(resolution) = &rec.resolution {
        remember_resolution_in(tx, id, resolution.as_ref())?;
    }
    let failed = rec.error.is_some();
    tx.prepare_cached(
        "UPDATE sources SET \
            last_attempt_at = ?2, last_status = ?3, last_error = ?4, last_duration_ms = ?5, not_before = ?6, polls = polls + 1, \
            consecutive_failures = CASE WHEN ?7 THEN consecutive_failures + 1 ELSE 0 END, \
            last_success_at = CASE WHEN ?7 THEN last_success_at ELSE ?2 END, \
            last_new = CASE WHEN ?7 THEN last_new ELSE 0 END, \
            last_updated = CASE WHEN ?7 THEN last_updated ELSE 0 END, \
            last_warning = CASE WHEN ?8 THEN ?9 ELSE last_warning END \
         WHERE id = ?1",
        )?
        .execute(params![
            id,
            to_ts(rec.at),
            rec.status,
            rec.error,
            rec.duration_ms,
            rec.not_before.map(to_ts),
            failed,
            rec.warning.is_some(),
            rec.warning.clone().flatten()
        ])?;
    if let Some(v) = &rec.validators {
        tx.prepare_cached("UPDATE sources SET etag = ?2, last_modified = ?3 WHERE id = ?1")?
            .execute(params![id, v.etag, v.last_modified])?;
    }
    if let Some(url) = &rec.moved_to {
        tx.prepare_cached("UPDATE sources SET fetch_url = ?2 WHERE id = ?1")?
            .execute(params![id, url])?;
    }
    super::polls::record_in(tx, id, rec)?;
    Ok(())
}

/// Remembers what a source of kind "auto" turned out to be, and where its
/// feed is (`None`: not known, discover again).
fn remember_resolution_in(
    tx: &rusqlite::Transaction,
    id: &str,
    resolution: Option<&Resolution>,
) -> Result<()> {
    let kind = resolution.map(|r| r.kind.as_str());
    let how = resolution.map(|r| r.how.as_str());
    let fetch_url = resolution.and_then(|r| r.fetch_url.as_ref().map(Url::as_str));
    tx.prepare_cached(
        "UPDATE sources SET resolved_kind = ?2, discovery = ?3, fetch_url = ?4, \
            etag = CASE WHEN COALESCE(fetch_url, '') = COALESCE(?4, '') THEN etag END, \
            last_modified = CASE WHEN COALESCE(fetch_url, '') = COALESCE(?4, '') THEN last_modified END \
         WHERE id = ?1",
    )?
    .execute(params![id, kind, how, fetch_url])?;
    Ok(())
}

/// Whether the source's GUIDs proved unreliable (see `dedup`).
pub(super) fn guids_unreliable_in(tx: &rusqlite::Transaction, id: &str) -> Result<bool> {
    tx.prepare_cached("SELECT guids_unreliable FROM sources WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))
}

/// What an ingest tells the source's row besides its poll record: the
/// partner's own title and home page, and what changed.
pub(super) fn record_ingest_in(
    tx: &rusqlite::Transaction,
    id: &str,
    feed_title: Option<&str>,
    home_url: Option<&str>,
    report: &IngestReport,
    at: i64,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE sources SET feed_title = COALESCE(?2, feed_title), home_url = COALESCE(?3, home_url), \
            guids_unreliable = (guids_unreliable OR ?4), last_new = ?5, last_updated = ?6, \
            last_change_at = CASE WHEN ?7 THEN ?8 ELSE last_change_at END \
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        feed_title,
        home_url,
        report.guid_collision,
        report.new as i64,
        report.updated as i64,
        report.changed(),
        at
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_source() -> Store {
        let store = Store::open_in_memory().unwrap();
        let url = Url::parse("http://x.example/").unwrap();
        store
            .sync_sources(&[Registration {
                id: "x",
                name: "X",
                kind: SourceKind::Auto,
                url: &url,
            }])
            .unwrap();
        store
    }

    fn poll(validators: Option<&str>, resolution: Option<Option<Resolution>>) -> PollRecord {
        PollRecord {
            at: "2026-03-02T10:00:00Z".parse().unwrap(),
            status: Some(200),
            error: None,
            duration_ms: 5,
            not_before: None,
            validators: validators.map(|etag| Validators {
                etag: Some(etag.to_string()),
                last_modified: None,
            }),
            moved_to: None,
            warning: None,
            resolution,
        }
    }

    #[test]
    fn a_resolution_is_remembered_with_its_poll_and_a_new_feed_url_keeps_only_its_own_validators() {
        let store = store_with_source();
        store
            .record_poll("x", &poll(Some("\"home\""), None))
            .unwrap();
        let found = Resolution {
            kind: ResolvedKind::Feed,
            fetch_url: Some(Url::parse("http://x.example/feed.xml").unwrap()),
            how: "feed found at the common path".into(),
        };
        store
            .record_poll("x", &poll(Some("\"feed\""), Some(Some(found))))
            .unwrap();
        let s = store.source_state("x").unwrap().unwrap();
        assert_eq!(s.resolved_kind, Some(ResolvedKind::Feed));
        assert_eq!(s.fetch_url.as_deref(), Some("http://x.example/feed.xml"));
        assert_eq!(
            s.discovery.as_deref(),
            Some("feed found at the common path")
        );
        assert_eq!(
            s.validators.etag.as_deref(),
            Some("\"feed\""),
            "the feed's own validator"
        );

        // Gone: discover again, and the feed URL's validator goes with it.
        store.record_poll("x", &poll(None, Some(None))).unwrap();
        let s = store.source_state("x").unwrap().unwrap();
        assert_eq!(s.resolved_kind, None);
        assert_eq!(s.fetch_url, None);
        assert_eq!(s.validators.etag, None);

        // A poll without a resolution leaves what was found.
        store
            .record_poll("x", &poll(Some("\"again\""), None))
            .unwrap();
        assert_eq!(
            store
                .source_state("x")
                .unwrap()
                .unwrap()
                .validators
                .etag
                .as_deref(),
            Some("\"again\"")
        );
    }
}
