//! The schema, as numbered migrations tracked in `PRAGMA user_version`.
//! Never edit a released migration: append a new one.

use std::path::Path;

use rusqlite::Connection;

use super::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: sources, stories, items.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('created_at', CAST(strftime('%s','now') AS TEXT));

    CREATE TABLE sources (
        id                   TEXT PRIMARY KEY,
        active               INTEGER NOT NULL DEFAULT 1,
        name                 TEXT NOT NULL,
        kind                 TEXT NOT NULL,
        config_url           TEXT NOT NULL,   -- as written in config.toml
        fetch_url            TEXT,            -- after permanent redirects or discovery
        feed_title           TEXT,            -- as the partner's feed names itself
        home_url             TEXT,            -- the partner's website per its feed
        etag                 TEXT,
        last_modified        TEXT,
        last_attempt_at      INTEGER,
        last_success_at      INTEGER,
        last_change_at       INTEGER,
        last_status          INTEGER,
        last_error           TEXT,
        last_duration_ms     INTEGER,
        last_new             INTEGER NOT NULL DEFAULT 0,
        last_updated         INTEGER NOT NULL DEFAULT 0,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        not_before           INTEGER,
        guids_unreliable     INTEGER NOT NULL DEFAULT 0,
        polls                INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE stories (
        id         INTEGER PRIMARY KEY,
        uid        TEXT NOT NULL UNIQUE,      -- entry id in the merged feed, forever
        published  INTEGER NOT NULL,          -- earliest member publication
        updated    INTEGER NOT NULL           -- latest member change
    );
    CREATE INDEX stories_published ON stories (published DESC);

    CREATE TABLE items (
        id                INTEGER PRIMARY KEY,
        source_id         TEXT NOT NULL REFERENCES sources (id),
        uid               TEXT NOT NULL UNIQUE,
        guid              TEXT,
        link              TEXT,
        link_key          TEXT,
        fingerprint       TEXT NOT NULL,
        title             TEXT NOT NULL,
        summary_html      TEXT,
        content_html      TEXT,
        text              TEXT NOT NULL,
        authors           TEXT NOT NULL,      -- JSON array
        categories        TEXT NOT NULL,      -- JSON array
        published         INTEGER NOT NULL,
        date_from_partner INTEGER NOT NULL,   -- 0: published is when we first saw it
        updated           INTEGER NOT NULL,
        first_seen        INTEGER NOT NULL,
        last_seen         INTEGER NOT NULL,
        content_hash      TEXT NOT NULL,
        story_id          INTEGER NOT NULL REFERENCES stories (id)
    );
    CREATE INDEX items_source_guid ON items (source_id, guid);
    CREATE INDEX items_source_link ON items (source_id, link_key);
    CREATE INDEX items_source_fingerprint ON items (source_id, fingerprint);
    CREATE INDEX items_source_published ON items (source_id, published DESC);
    CREATE INDEX items_link_key ON items (link_key);
    CREATE INDEX items_story ON items (story_id);
    "#,
    // 2: sources of kind "auto" remember what they turned out to be; article pages of
    // HTML sources are remembered so they are fetched again only when the listing changes.
    r#"
    ALTER TABLE sources ADD COLUMN resolved_kind TEXT;   -- 'feed' or 'html' once discovered
    ALTER TABLE sources ADD COLUMN discovery TEXT;       -- how that was decided, for /status

    CREATE TABLE pages (
        source_id     TEXT NOT NULL REFERENCES sources (id),
        url           TEXT NOT NULL,
        fingerprint   TEXT NOT NULL,    -- the listing entry when the page was last read
        etag          TEXT,
        last_modified TEXT,
        status        INTEGER,          -- last HTTP status (or NULL: network error)
        fetched_at    INTEGER NOT NULL,
        article       TEXT,             -- extracted fields as JSON; NULL if unreadable
        PRIMARY KEY (source_id, url)
    );
    "#,
    // 3: the operator's rules: hidden items keep their reason, tags feed per-tag feeds.
    r#"
    ALTER TABLE items ADD COLUMN hidden TEXT;                 -- why rules hide it; NULL: shown
    ALTER TABLE items ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE item_tags (
        tag     TEXT NOT NULL,
        item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        PRIMARY KEY (tag, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX item_tags_item ON item_tags (item_id);
    "#,
    // 4: what story matching compares an item by, computed once when it is stored
    // (see story.rs); NULL or an older analysis is recomputed from title and text.
    r#"
    ALTER TABLE items ADD COLUMN story_sig TEXT;
    "#,
    // 5: what reading the last document recovered or lost (repaired markup, an
    // encoding fallback, entries that could not be read), for /status.
    r#"
    ALTER TABLE sources ADD COLUMN last_warning TEXT;
    "#,
    // 6: pictures, videos, audio and documents of an item (normalised model::Media), as JSON.
    r#"
    ALTER TABLE items ADD COLUMN media TEXT NOT NULL DEFAULT '[]';
    "#,
    // 7: the last polls of each source (at most `polls::RECENT_POLLS`), drawn on /status.
    r#"
    CREATE TABLE polls (
        id          INTEGER PRIMARY KEY,
        source_id   TEXT NOT NULL REFERENCES sources (id),
        at          INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        result      TEXT NOT NULL      -- 'ok', 'warning', 'unchanged' or 'failed'
    );
    CREATE INDEX polls_source ON polls (source_id, id);
    "#,
    // 8: the link index in publication order too: another source's earliest
    // copy of a link (`stories::by_link`, once per new item) is read off it
    // in order instead of sorted in a temporary B-tree, which cost more than
    // the lookup itself; same number of B-trees per item.
    r#"
    DROP INDEX items_link_key;
    CREATE INDEX items_link_key ON items (link_key, published);
    "#,
];

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        // A throwaway in-memory database (preview, discover) is built fresh
        // every time: nothing an operator needs to hear about.
        if path == Path::new(":memory:") {
            tracing::debug!(version = i + 1, "in-memory database schema created");
        } else {
            tracing::info!(version = i + 1, "database schema migrated");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_refuse_newer_files() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c, Path::new("t.db")).unwrap();
        migrate(&mut c, Path::new("t.db")).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        c.pragma_update(None, "user_version", 999).unwrap();
        assert!(matches!(
            migrate(&mut c, Path::new("t.db")),
            Err(StoreError::TooNew { found: 999, .. })
        ));
    }

    #[test]
    fn copies_of_a_link_are_read_in_publication_order_without_sorting() {
        // The shape of `stories::by_link`, run for every new item.
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c, Path::new("t.db")).unwrap();
        let plan: Vec<String> = c
            .prepare(
                "EXPLAIN QUERY PLAN SELECT i.story_id FROM items i WHERE i.link_key = ?1 \
                 AND i.source_id != ?2 ORDER BY i.published LIMIT 1",
            )
            .unwrap()
            .query_map(["example.org/a", "s"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("items_link_key")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
    }
}
