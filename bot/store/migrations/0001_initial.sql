-- 0001_initial: the article archive and the publishing state.
--
-- Why: everything Newsdesk keeps lives here. Articles are identified by their canonical URL;
-- topics are case-insensitive with their display name kept; related coverage is linked to the
-- stored article when its URL is one; an FTS5 index covers title, excerpt, topics and provider.
-- Publishing state (subscriptions, per-channel deliveries, guild settings) is separate from the
-- articles, so re-ingesting a file never touches it.
--
-- Timestamps (*_at) are UTC ISO-8601 text with a fixed width, 'YYYY-MM-DDTHH:MM:SS.ffffffZ',
-- so text order is time order. Discord ids are INTEGER.

CREATE TABLE articles (
    id               INTEGER PRIMARY KEY,
    url              TEXT    NOT NULL UNIQUE,   -- canonical URL (webUrl, else originalUrl)
    web_url          TEXT,
    original_url     TEXT,
    title            TEXT    NOT NULL,
    excerpt          TEXT,
    published_at     TEXT    NOT NULL,          -- the source's publishedDateTime
    type             TEXT    NOT NULL,
    quality          NUMERIC,                   -- NULL when the source has none
    heat             NUMERIC,
    source_published INTEGER NOT NULL CHECK (source_published IN (0, 1)),
    postable         INTEGER NOT NULL CHECK (postable IN (0, 1)),  -- may be auto-posted (see below)
    provider_name    TEXT,
    provider_domain  TEXT,
    provider_key     TEXT,                      -- provider_name case-folded, for filters
    domain_key       TEXT,                      -- provider_domain case-folded
    provider_json    TEXT,                      -- the provider's other fields (images, ...)
    images_json      TEXT,
    featured_content TEXT,
    body             TEXT,                      -- markdown after the front matter, if any
    extra_json       TEXT,                      -- fields Newsdesk does not model, as given
    topics_text      TEXT    NOT NULL,          -- topic labels, for full-text search
    content_hash     TEXT    NOT NULL,          -- what the source said; equal hash = unchanged
    source_path      TEXT,                      -- the file it was last read from
    ingested_at      TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);

-- postable = 0 when the source marked the article published and ingest.trust_published_flag
-- is on; the store recomputes it when that switch changes. Scheduler candidates come from
-- these partial indexes (for subscriptions without topics; article_topics has the others).
-- (postable is repeated as the last column so that the queries, which must name it to use a
-- partial index, are answered from the index alone.)
CREATE INDEX articles_postable_recent
    ON articles (published_at DESC, quality, postable) WHERE postable = 1;
CREATE INDEX articles_postable_best
    ON articles (quality DESC, published_at DESC, postable) WHERE postable = 1;
CREATE INDEX articles_published_at ON articles (published_at);
-- Subscriptions that allow only a few providers read those providers' articles.
CREATE INDEX articles_postable_provider
    ON articles (provider_key, published_at, postable) WHERE postable = 1;
CREATE INDEX articles_postable_domain
    ON articles (domain_key, published_at, postable) WHERE postable = 1;

CREATE TABLE topics (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,      -- case-folded name: the identity
    name          TEXT    NOT NULL,             -- display name, as first seen
    article_count INTEGER NOT NULL DEFAULT 0  -- kept by ArticleStore.apply_batch
);

CREATE TABLE article_topics (
    article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    topic_id     INTEGER NOT NULL REFERENCES topics (id),
    position     INTEGER NOT NULL,
    label        TEXT    NOT NULL,              -- spelling used by this article
    quality      NUMERIC,                       -- copied from the article for the indexes below
    published_at TEXT    NOT NULL,
    postable     INTEGER NOT NULL,
    PRIMARY KEY (article_id, topic_id)
) WITHOUT ROWID;

CREATE INDEX article_topics_best ON article_topics (topic_id, quality DESC, published_at DESC);
CREATE INDEX article_topics_recent ON article_topics (topic_id, published_at DESC);
CREATE INDEX article_topics_postable_best
    ON article_topics (topic_id, quality DESC, published_at DESC, postable) WHERE postable = 1;
CREATE INDEX article_topics_postable_recent
    ON article_topics (topic_id, published_at DESC, quality, postable) WHERE postable = 1;

-- A rowid table: its rows (the whole item as JSON) are too large for WITHOUT ROWID to pack well.
CREATE TABLE related (
    id                INTEGER PRIMARY KEY,
    article_id        INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    url               TEXT,                     -- canonical, when the item has a usable URL
    title             TEXT,
    provider_name     TEXT,
    published_at      TEXT,
    quality           NUMERIC,
    data_json         TEXT    NOT NULL,         -- the item exactly as the source gave it
    linked_article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL,
    UNIQUE (article_id, position)
);

CREATE INDEX related_url ON related (url) WHERE url IS NOT NULL;
CREATE INDEX related_linked ON related (linked_article_id) WHERE linked_article_id IS NOT NULL;

-- A newly stored article becomes the target of every related item that already points at it.
CREATE TRIGGER articles_link_related AFTER INSERT ON articles BEGIN
    UPDATE related SET linked_article_id = NEW.id WHERE url = NEW.url;
END;

-- Full-text search (/news search) over title, excerpt, topics and provider.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, topics_text, provider_name,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Titles alone, with a 3-letter prefix index, for autocomplete: a word common in excerpts
-- ("that") would otherwise cost a scan of its whole posting list to find it in no title.
CREATE VIRTUAL TABLE titles_fts USING fts5 (
    title,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '3'
);

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, excerpt, topics_text, provider_name)
    VALUES (NEW.id, NEW.title, NEW.excerpt, NEW.topics_text, NEW.provider_name);
    INSERT INTO titles_fts (rowid, title) VALUES (NEW.id, NEW.title);
END;

CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, excerpt, topics_text, provider_name
ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, topics_text, provider_name)
    VALUES ('delete', OLD.id, OLD.title, OLD.excerpt, OLD.topics_text, OLD.provider_name);
    INSERT INTO articles_fts (rowid, title, excerpt, topics_text, provider_name)
    VALUES (NEW.id, NEW.title, NEW.excerpt, NEW.topics_text, NEW.provider_name);
    INSERT INTO titles_fts (titles_fts, rowid, title) VALUES ('delete', OLD.id, OLD.title);
    INSERT INTO titles_fts (rowid, title) VALUES (NEW.id, NEW.title);
END;

CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, topics_text, provider_name)
    VALUES ('delete', OLD.id, OLD.title, OLD.excerpt, OLD.topics_text, OLD.provider_name);
    INSERT INTO titles_fts (titles_fts, rowid, title) VALUES ('delete', OLD.id, OLD.title);
END;

-- What each source file looked like when it was last read, so an unchanged file costs a stat.
CREATE TABLE source_files (
    path            TEXT    PRIMARY KEY,        -- absolute, symlinks resolved
    size            INTEGER NOT NULL,
    mtime_ns        INTEGER NOT NULL,
    inode           INTEGER NOT NULL,
    ctime_ns        INTEGER NOT NULL,
    urls            TEXT    NOT NULL,           -- canonical URLs the file carried, one per line
    rejections_json TEXT,                       -- why the file (or items of it) were rejected
    scanned_at      TEXT    NOT NULL
) WITHOUT ROWID;

-- Publishing --------------------------------------------------------------------------------

CREATE TABLE guild_settings (
    guild_id           INTEGER PRIMARY KEY,
    publishing_enabled INTEGER,                 -- NULL: the config's publishing.enabled
    log_channel_id     INTEGER,                 -- NULL: the config's moderation.log_channel_id
    moderator_role_ids TEXT,                    -- JSON list; NULL: the config's list
    updated_at         TEXT    NOT NULL
);

CREATE TABLE subscriptions (
    id                     INTEGER PRIMARY KEY,
    channel_id             INTEGER NOT NULL UNIQUE,
    guild_id               INTEGER,             -- learnt from Discord; NULL until then
    origin                 TEXT    NOT NULL CHECK (origin IN ('config', 'command')),
    config_json            TEXT,                -- the config entry as last applied (see sync)
    topics_json            TEXT    NOT NULL,    -- display names; matching is case-insensitive
    exclude_topics_json    TEXT    NOT NULL,
    min_quality            NUMERIC NOT NULL,
    max_per_run            INTEGER NOT NULL,
    interval_seconds       INTEGER,
    cron                   TEXT,
    timezone               TEXT    NOT NULL,
    quiet_hours            TEXT,                -- 'HH:MM-HH:MM' in the subscription's timezone
    max_age_seconds        INTEGER,             -- NULL: no limit
    types_json             TEXT    NOT NULL,
    exclude_types_json     TEXT    NOT NULL,
    providers_json         TEXT    NOT NULL,
    exclude_providers_json TEXT    NOT NULL,
    mention_role_id        INTEGER,
    crosspost              INTEGER NOT NULL DEFAULT 0,
    enabled                INTEGER NOT NULL DEFAULT 1,   -- the moderators' switch
    paused_reason          TEXT,                -- set when Discord refused (403/404, left guild)
    paused_at              TEXT,
    alerted_reason         TEXT,                -- the pause moderators were last told about
    last_run_at            TEXT,
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL
);

-- One row per (channel, article): the outbox that makes delivery exactly-once.
-- state: pending (intent recorded, outcome unknown), sent, quarantined (Discord rejected the
-- post as malformed), failed (gave up after bounded retries), unconfirmed (outcome could not be
-- checked; never re-sent), skipped (same story as an article already posted here).
CREATE TABLE deliveries (
    channel_id      INTEGER NOT NULL,
    article_id      INTEGER NOT NULL REFERENCES articles (id),
    subscription_id INTEGER REFERENCES subscriptions (id) ON DELETE SET NULL,
    guild_id        INTEGER,
    state           TEXT    NOT NULL
        CHECK (state IN ('pending', 'sent', 'quarantined', 'failed', 'unconfirmed', 'skipped')),
    nonce           TEXT    NOT NULL,
    intent_at       TEXT    NOT NULL,           -- the first attempt
    last_attempt_at TEXT    NOT NULL,           -- the latest attempt (history is searched to it)
    attempts        INTEGER NOT NULL DEFAULT 1,
    next_attempt_at TEXT,
    message_id      INTEGER,
    sent_at         TEXT,
    error           TEXT,
    PRIMARY KEY (channel_id, article_id)
) WITHOUT ROWID;

CREATE INDEX deliveries_article ON deliveries (article_id);
CREATE INDEX deliveries_subscription ON deliveries (subscription_id);
CREATE INDEX deliveries_open ON deliveries (channel_id, intent_at) WHERE state = 'pending';
CREATE INDEX deliveries_sent ON deliveries (channel_id, sent_at) WHERE state = 'sent';

-- Every moderator action: who did what, when, in which guild.
CREATE TABLE moderator_actions (
    id       INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    action   TEXT    NOT NULL,                  -- e.g. "publishing off #ai-news"
    at       TEXT    NOT NULL
);

CREATE INDEX moderator_actions_guild ON moderator_actions (guild_id, at);

-- Small key/value facts about this installation (for example the synced command-tree hash).
CREATE TABLE app_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
