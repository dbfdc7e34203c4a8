-- 0007_sources: web feeds, what each fetch found, and the identity of each feed item.
--
-- Why: a feed is polled on its own interval, politely (conditional GET with the validators of
-- the last answer; an unchanged body, by hash, costs no parse; failures back off), and
-- `newsdesk status` shows how each one is doing, so all of that outlives a restart.
-- Within one feed the guid, not the link, is an item's identity: feed_items maps it to the
-- article it became (a changed link updates that article) and fixes its publishing date.
-- The feed itself is also a row of `files` (path = the source key), whose urls are the items
-- it carries now; that is what keeps an article carried by a feed from being withdrawn.

CREATE TABLE sources (
    id             INTEGER PRIMARY KEY,
    key            TEXT    NOT NULL UNIQUE,   -- 'feed:' + the URL as written, secrets redacted
    kind           TEXT    NOT NULL CHECK (kind IN ('feed')),
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
    next_fetch_at  TEXT
);

CREATE TABLE feed_items (
    source_id    INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    guid         TEXT    NOT NULL,
    url          TEXT    NOT NULL,            -- the article it became (canonical URL)
    published_at TEXT    NOT NULL,            -- fixed once stored
    PRIMARY KEY (source_id, guid)
) WITHOUT ROWID;
