//! The one SQLite file: opening it (WAL, durable commits), numbered schema
//! migrations, and the blocking `Store` handle. Only this module touches
//! SQLite; callers on the async runtime go through `Store::call`, which runs
//! the work on tokio's blocking pool.
//!
//! One file per table (`sources`, `items`, `stories`, `pages`, `polls`, `meta`);
//! `ingest` is what spans them for a poll (polls waiting share a transaction), `story_index`
//! the in-memory cache of the stored story signatures, `schema` the
//! migrations. Story membership is decided in `story`; here it is looked up
//! and persisted.

mod explain;
mod ingest;
mod items;
mod meta;
mod pages;
mod polls;
mod schema;
mod sources;
mod stories;
mod story_index;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags};

pub use explain::{ExplainedCandidate, Explanation};
pub use ingest::{IngestReport, IngestRequest, PreparedIngest, QueuedIngest};
pub use items::ItemView;
pub use polls::{Activity, PollPoint, PollResult, RECENT_POLLS, WEEKS};
pub use sources::{PollRecord, SourceState};
pub(crate) use stories::StoryFilter;
pub use stories::{StoryCounts, StoryView};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this revierfeed understands ({known}); use a newer binary"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// What an operator should know about a transient failure; `None` for others.
    pub(crate) fn advice(&self) -> Option<&'static str> {
        match self {
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _)) => match e.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => Some(
                    "another process holds a lock on the database file; nothing from this poll was stored, it is retried on schedule, and the feeds served stay as they were",
                ),
                rusqlite::ErrorCode::DiskFull => Some(
                    "the disk holding the database is full; nothing from this poll was stored, and the feeds served stay as they were",
                ),
                _ => None,
            },
            _ => None,
        }
    }
}

/// What every store operation returns.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Shared handle to the database. Cloning is cheap.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    /// Taken only while `conn` is held.
    stories: Mutex<story_index::StoryState>,
    /// Polls waiting for the writer (group commit), and what is computed before it.
    group: ingest::Group,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).ok();
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        Store::init(conn, path)
    }

    /// A private in-memory database, for tests and previews.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        Store::init(conn, Path::new(":memory:"))
    }

    fn init(mut conn: Connection, path: &Path) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL lets readers work during a write; FULL makes each committed poll survive power loss.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A poll of 100 new items dirtied ~250 pages (random-keyed indexes,
        // fewer since schema migration 9 keys the uids per source): the
        // default 1,000-page WAL checkpointed every few polls, copying the
        // same index pages again each time. 4,000 pages (16 MiB on disk)
        // checkpoint a quarter as often. 4 MiB of page cache keeps the
        // upper pages of every index (a poll's inserts read their leaves
        // back from the OS's cache); 8 MiB were a tenth of the daemon's peak
        // memory in a cycle over 100,000 items (BENCHMARKS.md, "Issue 18: memory").
        conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
        conn.pragma_update(None, "cache_size", -4096)?;
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut conn, path)?;
        Ok(Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                stories: Mutex::default(),
                group: ingest::Group::default(),
                path: path.to_path_buf(),
            }),
        })
    }

    /// The database file (`:memory:` for an in-memory one).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the connection on the current thread (blocking).
    pub fn with<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        let mut conn = self.inner.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }

    /// Runs `f` on the blocking pool, keeping SQLite off the async worker threads.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// `PRAGMA integrity_check`; `Ok(())` when the file is sound.
    pub fn integrity_check(&self) -> Result<std::result::Result<(), String>> {
        self.with(|c| {
            let report: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            Ok(if report == "ok" { Ok(()) } else { Err(report) })
        })
    }

    /// Folds the WAL into the main file; called on clean shutdown.
    pub fn checkpoint(&self) -> Result<()> {
        self.with(|c| {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
    }
}

pub(crate) fn to_ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(s, 0).single().unwrap_or_default()
}
