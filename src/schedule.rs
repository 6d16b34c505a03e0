//! When to poll a source: schedules written as crontab lines or intervals,
//! per-source jitter, exponential backoff after failures, and the earliest
//! time a partner allows (Retry-After, Cache-Control, feed TTL).
//! Pure functions of time, so every rule is testable without a clock.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Berlin;

use crate::model::PollHistory;

/// How often a source is polled.
#[derive(Clone)]
pub enum Schedule {
    /// A cron expression, evaluated in Europe/Berlin (operators think in local time).
    Cron {
        text: String,
        cron: Box<cron::Schedule>,
    },
    /// A fixed interval counted from the previous poll.
    Every(Duration),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron { text, .. } => write!(f, "cron({text})"),
            Schedule::Every(d) => write!(f, "every({})", humantime::format_duration(*d)),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron { text, .. } => f.write_str(text),
            Schedule::Every(d) => write!(f, "every {}", humantime::format_duration(*d)),
        }
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Schedule::Cron { text: a, .. }, Schedule::Cron { text: b, .. }) => a == b,
            (Schedule::Every(a), Schedule::Every(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a schedule: {reason}; write a crontab line (\"*/15 * * * *\"), a cron line with seconds (\"0 */15 * * * *\") or an interval (\"15m\", \"1h\")"
)]
pub struct ScheduleError {
    input: String,
    reason: String,
}

impl Schedule {
    pub fn parse(input: &str) -> Result<Schedule, ScheduleError> {
        let text = input.trim();
        let fail = |reason: String| ScheduleError {
            input: input.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(fail("it is empty".into()));
        }
        let fields = text.split_whitespace().count();
        let looks_like_cron = text.starts_with('@')
            || (fields >= 5
                && text.split_whitespace().all(|f| {
                    f.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "*/,-?#LW".contains(c))
                }));
        if looks_like_cron {
            // The cron crate wants a seconds field; crontab lines have five fields.
            let expr = if fields == 5 {
                format!("0 {text}")
            } else {
                text.to_string()
            };
            let cron = cron::Schedule::from_str(&expr).map_err(|e| fail(e.to_string()))?;
            if cron.upcoming(Berlin).next().is_none() {
                return Err(fail("it never fires".into()));
            }
            return Ok(Schedule::Cron {
                text: text.to_string(),
                cron: Box::new(cron),
            });
        }
        match humantime::parse_duration(text) {
            Ok(d) if d >= Duration::from_secs(1) => Ok(Schedule::Every(d)),
            Ok(_) => Err(fail("the interval must be at least one second".into())),
            Err(e) => Err(fail(e.to_string())),
        }
    }

    /// The first regular poll time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Every(d) => {
                after + chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::MAX)
            }
            Schedule::Cron { cron, .. } => cron
                .after(&after.with_timezone(&Berlin))
                .next()
                .map(|t| t.with_timezone(&Utc))
                // A schedule that stops firing (a past year) polls daily rather than never.
                .unwrap_or(after + chrono::Duration::days(1)),
        }
    }

    /// The typical time between polls; bounds jitter and backoff steps.
    pub fn nominal_interval(&self, around: DateTime<Utc>) -> Duration {
        match self {
            Schedule::Every(d) => *d,
            Schedule::Cron { .. } => {
                let a = self.next_after(around);
                let b = self.next_after(a);
                (b - a).to_std().unwrap_or(Duration::from_secs(3600))
            }
        }
    }
}

/// Stable per-source offset in `[0, min(max_jitter, interval/4))`, so sources
/// sharing a schedule spread out, and restarts keep the same spread.
pub fn jitter_for(source_id: &str, max_jitter: Duration, interval: Duration) -> Duration {
    let bound = max_jitter.min(interval / 4);
    if bound.is_zero() {
        return Duration::ZERO;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(source_id.as_bytes());
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    let fraction = (u64::from_le_bytes(n) >> 11) as f64 / (1u64 << 53) as f64;
    bound.mul_f64(fraction)
}

/// Delay after `failures` consecutive failures: one interval, doubling each time, capped.
pub fn backoff(failures: u32, interval: Duration, cap: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1).min(30))
        .unwrap_or(u32::MAX);
    interval.saturating_mul(factor).min(cap.max(interval))
}

/// When the source should next be polled.
pub fn next_poll(
    source_id: &str,
    schedule: &Schedule,
    history: &PollHistory,
    max_jitter: Duration,
    max_backoff: Duration,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let interval = schedule.nominal_interval(now);
    let jitter =
        chrono::Duration::from_std(jitter_for(source_id, max_jitter, interval)).unwrap_or_default();
    let regular = match (history.last_attempt, schedule) {
        // Never polled: poll now, spread by the jitter, so a new source fills the feed at once.
        (None, _) => now + jitter,
        (Some(last), Schedule::Every(_)) => schedule.next_after(last),
        (Some(last), Schedule::Cron { .. }) => schedule.next_after(last) + jitter,
    };
    let mut next = regular;
    if let Some(last) = history.last_attempt {
        let wait = backoff(history.consecutive_failures, interval, max_backoff);
        let backed_off = last + chrono::Duration::from_std(wait).unwrap_or_default();
        next = next.max(backed_off);
    }
    if let Some(nb) = history.not_before {
        next = next.max(nb);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn five_six_field_and_interval_forms() {
        let five = Schedule::parse("*/15 * * * *").unwrap();
        let six = Schedule::parse("0 */15 * * * *").unwrap();
        let every = Schedule::parse("15m").unwrap();
        let at = t("2026-03-02T10:07:00Z");
        assert_eq!(five.next_after(at), t("2026-03-02T10:15:00Z"));
        assert_eq!(six.next_after(at), t("2026-03-02T10:15:00Z"));
        assert_eq!(every.next_after(at), t("2026-03-02T10:22:00Z"));
        assert_eq!(
            Schedule::parse("1h 30m").unwrap(),
            Schedule::Every(Duration::from_secs(5400))
        );
        assert!(Schedule::parse("@hourly").is_ok());
    }

    #[test]
    fn cron_runs_in_berlin_time_across_dst() {
        let daily = Schedule::parse("0 6 * * *").unwrap();
        // Winter: 06:00 MEZ = 05:00 UTC; summer: 06:00 MESZ = 04:00 UTC.
        assert_eq!(
            daily.next_after(t("2026-01-10T00:00:00Z")),
            t("2026-01-10T05:00:00Z")
        );
        assert_eq!(
            daily.next_after(t("2026-07-10T00:00:00Z")),
            t("2026-07-10T04:00:00Z")
        );
    }

    #[test]
    fn bad_schedules_explain_the_forms() {
        let e = Schedule::parse("every tuesday").unwrap_err().to_string();
        assert!(e.contains("crontab line"), "{e}");
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("").is_err());
        assert!(Schedule::parse("0s").is_err());
        // Lines that name no day that exists, or only past years, never fire.
        for never in [
            "0 0 30 2 *",
            "0 0 31 4 *",
            "0 0 31 2,4,6,9,11 *",
            "0 0 0 1 1 * 2020",
        ] {
            let e = Schedule::parse(never).unwrap_err().to_string();
            assert!(e.contains("never fires"), "{never}: {e}");
        }
        assert!(Schedule::parse("0 0 29 2 *").is_ok(), "leap days do come");
    }

    #[test]
    fn jitter_is_stable_and_bounded() {
        let a = jitter_for("qlee", Duration::from_secs(60), Duration::from_secs(900));
        assert_eq!(
            a,
            jitter_for("qlee", Duration::from_secs(60), Duration::from_secs(900))
        );
        assert!(a < Duration::from_secs(60));
        let spread: std::collections::HashSet<_> = (0..50)
            .map(|i| {
                jitter_for(
                    &format!("s{i}"),
                    Duration::from_secs(60),
                    Duration::from_secs(900),
                )
                .as_secs()
            })
            .collect();
        assert!(
            spread.len() > 20,
            "sources must not share one second: {spread:?}"
        );
        // Never more than a quarter of a short interval.
        assert!(
            jitter_for("x", Duration::from_secs(60), Duration::from_secs(20))
                < Duration::from_secs(5)
        );
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        let i = Duration::from_secs(900);
        let cap = Duration::from_secs(6 * 3600);
        assert_eq!(backoff(0, i, cap), Duration::ZERO);
        assert_eq!(backoff(1, i, cap), i);
        assert_eq!(backoff(3, i, cap), i * 4);
        assert_eq!(backoff(40, i, cap), cap);
    }

    #[test]
    fn next_poll_respects_not_before_and_backoff() {
        let s = Schedule::Every(Duration::from_secs(900));
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let fresh = next_poll(
            "a",
            &s,
            &PollHistory::default(),
            Duration::ZERO,
            Duration::from_secs(3600),
            now,
        );
        assert_eq!(fresh, now);
        let failing = PollHistory {
            last_attempt: Some(now),
            consecutive_failures: 3,
            not_before: None,
        };
        assert_eq!(
            next_poll(
                "a",
                &s,
                &failing,
                Duration::ZERO,
                Duration::from_secs(3600),
                now
            ),
            now + chrono::Duration::seconds(3600)
        );
        let told_to_wait = PollHistory {
            last_attempt: Some(now),
            consecutive_failures: 0,
            not_before: Some(now + chrono::Duration::hours(2)),
        };
        assert_eq!(
            next_poll(
                "a",
                &s,
                &told_to_wait,
                Duration::ZERO,
                Duration::from_secs(3600),
                now
            ),
            now + chrono::Duration::hours(2)
        );
    }
}
