-- 0008_git_sources: git repositories as sources, beside web feeds.
--
-- Why: a git source is fetched on its own interval like a feed, and ingests only what changed
-- since the commit it last ingested, so that commit (and the branch and paths it was read
-- with: when they change, the whole checkout is read again) must outlive a restart.
-- SQLite cannot change a CHECK constraint in place, so `sources` is rebuilt; feed_items,
-- which refers to it, is rebuilt with it (dropped first, so nothing cascades).

CREATE TABLE sources_next (
    id             INTEGER PRIMARY KEY,
    key            TEXT    NOT NULL UNIQUE,   -- 'feed:' or 'git:' + the URL as written, redacted
    kind           TEXT    NOT NULL CHECK (kind IN ('feed', 'git')),
    etag           TEXT,
    last_modified  TEXT,
    body_hash      TEXT,                      -- of the last body parsed
    permanent_url  TEXT,                      -- where a permanent redirect points (reported)
    disabled_at    TEXT,                      -- 410 Gone: not fetched again
    last_fetch_at  TEXT,
    outcome        TEXT CHECK (outcome IN ('ok', 'not_modified', 'failed', 'disabled')),
    http_status    INTEGER,
    error          TEXT,
    items_new      INTEGER NOT NULL DEFAULT 0,  -- of the last fetch
    items_updated  INTEGER NOT NULL DEFAULT 0,
    items_rejected INTEGER NOT NULL DEFAULT 0,
    failures       INTEGER NOT NULL DEFAULT 0,  -- in a row: the backoff
    next_fetch_at  TEXT,
    git_commit     TEXT,                      -- git: the last commit fully ingested
    git_scope      TEXT,                      -- git: the branch and paths it was read with
    items_withdrawn INTEGER NOT NULL DEFAULT 0
);

INSERT INTO sources_next (
    id, key, kind, etag, last_modified, body_hash, permanent_url, disabled_at, last_fetch_at,
    outcome, http_status, error, items_new, items_updated, items_rejected, failures,
    next_fetch_at
)
SELECT id, key, kind, etag, last_modified, body_hash, permanent_url, disabled_at, last_fetch_at,
       outcome, http_status, error, items_new, items_updated, items_rejected, failures,
       next_fetch_at
FROM sources;

CREATE TABLE feed_items_next (
    source_id    INTEGER NOT NULL REFERENCES sources_next (id) ON DELETE CASCADE,
    guid         TEXT    NOT NULL,
    url          TEXT    NOT NULL,            -- the article it became (canonical URL)
    published_at TEXT    NOT NULL,            -- fixed once stored
    PRIMARY KEY (source_id, guid)
) WITHOUT ROWID;

INSERT INTO feed_items_next (source_id, guid, url, published_at)
SELECT source_id, guid, url, published_at FROM feed_items;

DROP TABLE feed_items;
DROP TABLE sources;
ALTER TABLE sources_next RENAME TO sources;
ALTER TABLE feed_items_next RENAME TO feed_items;
