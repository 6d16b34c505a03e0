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
    // 9: fewer and cheaper B-trees per stored item. The uids of items and
    // stories were unique in B-trees of their own keyed by a hash, so every
    // new item wrote two leaf pages at random (a poll of 20 new items, ~40
    // pages more to the WAL and its checkpoint). Now an item's uid is unique
    // per source, `(source_id, uid)`, and a story's per founding source,
    // `(founder, uid)`, where a poll's rows sit side by side. The same job:
    // both uids hash the source id (`stable_uuid`), so no two sources share
    // one (short of a SHA-256 collision); nothing looks items up by uid alone
    // (`explain` matches uid OR link, a scan either way); stories founded
    // before have no founder (NULL) and `stories::found` looks their uids up
    // first. A column's UNIQUE cannot be dropped, so both tables are rebuilt
    // (SQLite's documented procedure: copy, drop, rename, with foreign keys
    // off, which `migrate` does), ids kept. `items_source_link` goes:
    // dedup's lookup by link reads `items_link_key` (a link is rarely in more
    // than a few sources) and orders its few rows itself (`items::BY_LINK`).
    r#"
    CREATE TABLE stories_rebuilt (
        id         INTEGER PRIMARY KEY,
        uid        TEXT NOT NULL,             -- entry id in the merged feed, forever
        published  INTEGER NOT NULL,          -- earliest member publication
        updated    INTEGER NOT NULL,          -- latest member change
        founder    TEXT                       -- source of its first item; NULL: before 9
    );
    INSERT INTO stories_rebuilt (id, uid, published, updated)
    SELECT id, uid, published, updated FROM stories ORDER BY id;
    DROP TABLE stories;
    ALTER TABLE stories_rebuilt RENAME TO stories;
    CREATE UNIQUE INDEX stories_founder_uid ON stories (founder, uid);
    CREATE INDEX stories_published ON stories (published DESC);

    CREATE TABLE items_rebuilt (
        id                INTEGER PRIMARY KEY,
        source_id         TEXT NOT NULL REFERENCES sources (id),
        uid               TEXT NOT NULL,      -- unique per source: items_source_uid
        guid              TEXT,
        link              TEXT,
        link_key          TEXT,
        fingerprint       TEXT NOT NULL,
        title             TEXT NOT NULL,
        summary_html      TEXT,
        content_html      TEXT,
        text              TEXT NOT NULL,
        authors           TEXT NOT NULL,
        categories        TEXT NOT NULL,
        published         INTEGER NOT NULL,
        date_from_partner INTEGER NOT NULL,
        updated           INTEGER NOT NULL,
        first_seen        INTEGER NOT NULL,
        last_seen         INTEGER NOT NULL,
        content_hash      TEXT NOT NULL,
        story_id          INTEGER NOT NULL REFERENCES stories (id),
        hidden            TEXT,
        tags              TEXT NOT NULL DEFAULT '[]',
        story_sig         TEXT,
        media             TEXT NOT NULL DEFAULT '[]'
    );
    INSERT INTO items_rebuilt (id, source_id, uid, guid, link, link_key, fingerprint, title,
        summary_html, content_html, text, authors, categories, published, date_from_partner,
        updated, first_seen, last_seen, content_hash, story_id, hidden, tags, story_sig, media)
    SELECT id, source_id, uid, guid, link, link_key, fingerprint, title,
        summary_html, content_html, text, authors, categories, published, date_from_partner,
        updated, first_seen, last_seen, content_hash, story_id, hidden, tags, story_sig, media
    FROM items ORDER BY id;
    DROP TABLE items;
    ALTER TABLE items_rebuilt RENAME TO items;
    CREATE UNIQUE INDEX items_source_uid ON items (source_id, uid);
    CREATE INDEX items_source_guid ON items (source_id, guid);
    CREATE INDEX items_source_fingerprint ON items (source_id, fingerprint);
    CREATE INDEX items_source_published ON items (source_id, published DESC);
    CREATE INDEX items_link_key ON items (link_key, published);
    CREATE INDEX items_story ON items (story_id);
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
    if version == known {
        return Ok(());
    }
    // A migration that rebuilds a table drops the old one: with foreign keys
    // on, that would delete what references its rows (`item_tags` cascades).
    // Off while migrating (it cannot change inside a transaction), and back
    // as it was; a rebuild keeps every id, so every reference still holds.
    let enforced: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let done = apply(conn, path, version as usize);
    conn.pragma_update(None, "foreign_keys", enforced)?;
    done
}

fn apply(conn: &mut Connection, path: &Path, from: usize) -> Result<()> {
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from) {
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

    /// The query plan's lines for `sql` (parameters unbound: NULL).
    fn plan(c: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Every row of `table` as text, in id order.
    fn dump(c: &Connection, table: &str, order: &str) -> Vec<String> {
        let mut stmt = c
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    fn schema_of(c: &Connection) -> Vec<String> {
        c.prepare(
            "SELECT type || ' ' || name || ' ' || tbl_name FROM sqlite_schema \
             WHERE name NOT LIKE 'items_rebuilt%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    #[test]
    fn a_database_of_version_8_keeps_every_row_and_reference_through_the_rebuild() {
        let path = std::env::temp_dir().join(format!("revierfeed-m9-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut c = Connection::open(&path).unwrap();
        // As `Store::init` opens it: foreign keys enforced.
        c.pragma_update(None, "foreign_keys", true).unwrap();
        for sql in &MIGRATIONS[..8] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 8).unwrap();
        c.execute_batch(
            "INSERT INTO sources (id, name, kind, config_url) VALUES ('a', 'A', 'feed', 'https://a.example/f'), \
                                                               ('b', 'B', 'feed', 'https://b.example/f');
             INSERT INTO stories (id, uid, published, updated) VALUES (1, 'urn:s1', 10, 20), (2, 'urn:s2', 30, 30);
             INSERT INTO items (id, source_id, uid, guid, link, link_key, fingerprint, title, summary_html, content_html,
                                text, authors, categories, published, date_from_partner, updated, first_seen, last_seen,
                                content_hash, story_id, hidden, tags, story_sig, media)
             VALUES (3, 'a', 'urn:i3', 'g3', 'https://x.example/1', 'x.example/1', 'f3', 'Eins', '<p>s</p>', NULL,
                     'eins', '[\"Au\"]', '[]', 10, 1, 20, 5, 6, 'h3', 1, NULL, '[\"t\"]', 'sig3', '[]'),
                    (7, 'b', 'urn:i7', NULL, 'https://x.example/1', 'x.example/1', 'f7', 'Zwei', NULL, '<p>c</p>',
                     'zwei', '[]', '[\"K\"]', 12, 0, 12, 7, 8, 'h7', 1, 'rule', '[]', NULL, '[{}]'),
                    (9, 'b', 'urn:i9', 'g9', NULL, NULL, 'f9', 'Drei', NULL, NULL,
                     'drei', '[]', '[]', 30, 1, 30, 9, 9, 'h9', 2, NULL, '[\"t\",\"u\"]', 'sig9', '[]');
             INSERT INTO item_tags (tag, item_id) VALUES ('t', 3), ('t', 9), ('u', 9);",
        )
        .unwrap();
        let items = dump(&c, "items", "id");
        let tags = dump(&c, "item_tags", "item_id, tag");
        let stories = dump(&c, "stories", "id");
        migrate(&mut c, &path).unwrap();
        assert_eq!(
            dump(&c, "items", "id"),
            items,
            "every column of every row, ids kept"
        );
        let founders: Vec<String> = stories.iter().map(|s| format!("{s}|Null")).collect();
        assert_eq!(
            dump(&c, "stories", "id"),
            founders,
            "stories kept, founder unknown"
        );
        assert_eq!(
            dump(&c, "item_tags", "item_id, tag"),
            tags,
            "no tag lost to a cascade"
        );
        let enforced: bool = c
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert!(enforced, "foreign keys are enforced again");
        let broken: Vec<String> = dump(&c, "pragma_foreign_key_check", "1");
        assert!(broken.is_empty(), "{broken:?}");
        // Deleting an item still takes its tags along (the reference follows the new table).
        c.execute("DELETE FROM items WHERE id = 9", []).unwrap();
        let left: i64 = c
            .query_row("SELECT count(*) FROM item_tags", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1);
        // A uid is still taken within its source; the same schema as a new database.
        assert!(c
            .execute(
                "INSERT INTO items (source_id, uid, fingerprint, title, text, authors, categories, published, \
                 date_from_partner, updated, first_seen, last_seen, content_hash, story_id) \
                 SELECT source_id, uid, 'f', 't', 't', '[]', '[]', 1, 0, 1, 1, 1, 'h', 1 FROM items WHERE id = 3",
                [],
            )
            .is_err());
        // A story founded before keeps its uid: founding it again finds it.
        {
            use super::super::stories::{any_without_founder, found, id_of};
            let tx = c.transaction().unwrap();
            let legacy = any_without_founder(&tx).unwrap();
            assert!(legacy);
            assert_eq!(found(&tx, "b", "urn:s2", 1, 1, legacy).unwrap(), None);
            assert_eq!(id_of(&tx, "b", "urn:s2").unwrap(), 2);
            let new = found(&tx, "b", "urn:s3", 1, 1, legacy).unwrap();
            assert!(new.is_some());
            assert_eq!(found(&tx, "b", "urn:s3", 1, 1, legacy).unwrap(), None);
            assert_eq!(id_of(&tx, "b", "urn:s3").unwrap(), new.unwrap());
            // Once none is left, none is looked for.
            tx.execute("UPDATE stories SET founder = 'a' WHERE founder IS NULL", [])
                .unwrap();
            assert!(!any_without_founder(&tx).unwrap());
            tx.commit().unwrap();
        }
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh, Path::new(":memory:")).unwrap();
        assert_eq!(schema_of(&c), schema_of(&fresh));
        drop(c);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn the_lookups_of_every_stored_item_stay_indexed() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c, Path::new("t.db")).unwrap();
        let lookups = [
            // dedup (`items::Lookup`)
            (
                "SELECT id, guid, link_key FROM items WHERE source_id = ?1 AND guid = ?2 ORDER BY id",
                "items_source_guid",
            ),
            (super::super::items::BY_LINK, "items_link_key"),
            (
                "SELECT id, guid, link_key FROM items WHERE source_id = ?1 AND fingerprint = ?2 ORDER BY id",
                "items_source_fingerprint",
            ),
            // A new item's uid taken (`items::insert_unless_taken`'s conflict target).
            (
                "SELECT 1 FROM items WHERE source_id = ?1 AND uid = ?2",
                "items_source_uid",
            ),
            // A story founded (`stories::found`), before migration 9 or since.
            (
                "SELECT EXISTS (SELECT 1 FROM stories WHERE founder IS NULL)",
                "stories_founder_uid",
            ),
            (
                "SELECT id FROM stories WHERE founder IS NULL AND uid = ?1",
                "stories_founder_uid",
            ),
            (
                "SELECT id FROM stories WHERE founder = ?1 AND uid = ?2",
                "stories_founder_uid",
            ),
            // The story of another source's copy (`stories::by_link`).
            (
                "SELECT i.story_id FROM items i WHERE i.link_key = ?1 AND i.source_id != ?2 \
                 ORDER BY i.published LIMIT 1",
                "items_link_key",
            ),
        ];
        for (sql, index) in lookups {
            let plan = plan(&c, sql);
            assert!(plan.iter().any(|p| p.contains(index)), "{sql}: {plan:?}");
            assert!(
                !plan.iter().any(|p| p.contains("TEMP B-TREE")),
                "{sql}: {plan:?}"
            );
        }
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
