//! The `meta` table: values the database remembers about itself (when it was
//! created, the rules the stored verdicts were made with).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, from_ts};

impl Store {
    /// A remembered value (e.g. the rules the stored verdicts were made with).
    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    /// Remembers `value` under `key`, replacing what was there.
    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.with(|c| {
            c.execute("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", params![key, value])?;
            Ok(())
        })
    }

    /// When the database was created; the `updated` of a feed with no entries.
    pub(crate) fn created_at(&self) -> Result<DateTime<Utc>> {
        self.with(|c| {
            let v: String =
                c.query_row("SELECT value FROM meta WHERE key = 'created_at'", [], |r| {
                    r.get(0)
                })?;
            Ok(from_ts(v.parse().unwrap_or(0)))
        })
    }
}
