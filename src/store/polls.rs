//! The `polls` table: the last polls of each source (when, how long, how it
//! ended), kept to [`RECENT_POLLS`] per source, and what /status draws from
//! it and from the items: each source's recent polls and items per week.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{PollRecord, Result, Store, from_ts, to_ts};

/// Polls kept per source; older ones are deleted as new ones are recorded.
pub const RECENT_POLLS: usize = 30;
/// Weeks of items counted per source, the current one last.
pub const WEEKS: usize = 12;

/// How a poll ended, as /status colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PollResult {
    /// A document was read.
    Ok,
    /// Read, but with repairs or lost entries.
    Warning,
    /// 304 Not Modified.
    Unchanged,
    Failed,
}

impl PollResult {
    fn as_str(self) -> &'static str {
        match self {
            PollResult::Ok => "ok",
            PollResult::Warning => "warning",
            PollResult::Unchanged => "unchanged",
            PollResult::Failed => "failed",
        }
    }

    fn parse(s: &str) -> PollResult {
        match s {
            "warning" => PollResult::Warning,
            "unchanged" => PollResult::Unchanged,
            "failed" => PollResult::Failed,
            _ => PollResult::Ok,
        }
    }

    fn of(rec: &PollRecord) -> PollResult {
        if rec.error.is_some() {
            PollResult::Failed
        } else if rec.status == Some(304) {
            PollResult::Unchanged
        } else if matches!(rec.warning, Some(Some(_))) {
            PollResult::Warning
        } else {
            PollResult::Ok
        }
    }
}

/// One recorded poll.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PollPoint {
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
    pub result: PollResult,
}

/// What /status draws for one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// Items published in each of the last [`WEEKS`] weeks (7-day spans
    /// ending now), oldest first.
    pub weekly_items: Vec<u32>,
    /// The last polls, oldest first.
    pub recent_polls: Vec<PollPoint>,
}

/// Records a poll in the history and drops the source's polls beyond the bound.
pub(super) fn record_in(tx: &rusqlite::Transaction, id: &str, rec: &PollRecord) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO polls (source_id, at, duration_ms, result) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        id,
        to_ts(rec.at),
        rec.duration_ms.max(0),
        PollResult::of(rec).as_str()
    ])?;
    tx.prepare_cached(
        "DELETE FROM polls WHERE source_id = ?1 AND id <= \
            (SELECT id FROM polls WHERE source_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?
    .execute(params![id, RECENT_POLLS as i64])?;
    Ok(())
}

impl Store {
    /// Every source's recent polls and items per week, as of `now`.
    pub fn activity(&self, now: DateTime<Utc>) -> Result<HashMap<String, Activity>> {
        const WEEK: i64 = 7 * 86400;
        self.with(|c| {
            let mut out: HashMap<String, Activity> = HashMap::new();
            let now_ts = to_ts(now);
            let mut weeks = c.prepare_cached(
                "SELECT source_id, (?1 - published) / ?2 AS age, COUNT(*) FROM items \
                 WHERE published <= ?1 AND published > ?1 - ?2 * ?3 GROUP BY source_id, age",
            )?;
            let rows = weeks.query_map(params![now_ts, WEEK, WEEKS as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (id, age, n) = row?;
                let a = out.entry(id).or_default();
                a.weekly_items.resize(WEEKS, 0);
                if let Some(slot) = usize::try_from(age)
                    .ok()
                    .filter(|a| *a < WEEKS)
                    .map(|a| WEEKS - 1 - a)
                {
                    a.weekly_items[slot] = u32::try_from(n).unwrap_or(u32::MAX);
                }
            }
            let mut polls = c.prepare_cached(
                "SELECT source_id, at, duration_ms, result FROM polls ORDER BY source_id, id",
            )?;
            let rows = polls.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    PollPoint {
                        at: from_ts(r.get(1)?),
                        duration_ms: r.get(2)?,
                        result: PollResult::parse(&r.get::<_, String>(3)?),
                    },
                ))
            })?;
            for row in rows {
                let (id, point) = row?;
                out.entry(id).or_default().recent_polls.push(point);
            }
            for a in out.values_mut() {
                a.weekly_items.resize(WEEKS, 0);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Registration, SourceKind};

    #[test]
    fn polls_are_kept_to_the_bound_and_read_oldest_first() {
        let store = Store::open_in_memory().unwrap();
        let url = url::Url::parse("http://x.example/feed").unwrap();
        store
            .sync_sources(&[Registration {
                id: "x",
                name: "X",
                kind: SourceKind::Feed,
                url: &url,
            }])
            .unwrap();
        let t0: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        for i in 0..(RECENT_POLLS as i64 + 5) {
            let rec = PollRecord {
                at: t0 + chrono::Duration::minutes(i),
                status: Some(if i % 2 == 0 { 200 } else { 304 }),
                error: (i == 34).then(|| "HTTP 500".to_string()),
                duration_ms: i * 10,
                not_before: None,
                validators: None,
                moved_to: None,
                warning: None,
                resolution: None,
            };
            store.record_poll("x", &rec).unwrap();
        }
        let a = &store.activity(t0 + chrono::Duration::hours(1)).unwrap()["x"];
        assert_eq!(a.recent_polls.len(), RECENT_POLLS);
        assert_eq!(
            a.recent_polls[0].duration_ms, 50,
            "the oldest kept is poll 5"
        );
        assert_eq!(a.recent_polls.last().unwrap().result, PollResult::Failed);
        assert_eq!(
            a.recent_polls[0].result,
            PollResult::Unchanged,
            "poll 5 got a 304"
        );
        assert_eq!(a.recent_polls[1].result, PollResult::Ok);
        assert_eq!(a.weekly_items, vec![0; WEEKS]);
    }
}
