-- 0009_server_sources: feeds that moderators add from Discord, and who may see their articles.
--
-- Why: a feed added from Discord belongs to its server. Its articles are posted only by that
-- server's subscriptions and shown only in that server's /news, unless a source from the
-- config file (global) or another server's source carries them too. Visibility is part of
-- every query (candidates, search before its cut, autocomplete, topic counts, related), so it
-- is copied where those queries read: `restricted` on the article and on its topic links (the
-- candidate walks read the links' indexes alone), and `article_guilds`, the servers that may
-- see a restricted article. Visibility only widens: once a global source carried an article,
-- it stays global; removing a source withdraws nothing and hides nothing.
-- topics.article_count counts global articles only; a server adds its own (store.browse).

ALTER TABLE sources ADD COLUMN guild_id INTEGER;        -- NULL: from the config file (global)
ALTER TABLE sources ADD COLUMN url TEXT;                -- server sources: the feed URL
ALTER TABLE sources ADD COLUMN topics_json TEXT;        -- server sources: topics added to items
ALTER TABLE sources ADD COLUMN quality NUMERIC;         -- server sources: the items' quality
ALTER TABLE sources ADD COLUMN interval_seconds INTEGER;
ALTER TABLE sources ADD COLUMN added_by INTEGER;        -- the moderator who added it
ALTER TABLE sources ADD COLUMN added_at TEXT;
CREATE INDEX sources_guild ON sources (guild_id, id) WHERE guild_id IS NOT NULL;

ALTER TABLE articles ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;       -- 1: see below
ALTER TABLE article_topics ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;  -- the article's

CREATE TABLE article_guilds (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    PRIMARY KEY (article_id, guild_id)
) WITHOUT ROWID;
CREATE INDEX article_guilds_guild ON article_guilds (guild_id, article_id);

-- The few restricted articles, for the full-text queries that must leave out those a server
-- may not see before their LIMIT.
CREATE INDEX articles_restricted ON articles (id) WHERE restricted = 1;

-- The candidate walks answer from these indexes alone: `restricted` joins them.
DROP INDEX articles_postable_recent;
DROP INDEX articles_postable_best;
DROP INDEX article_topics_postable_best;
DROP INDEX article_topics_postable_recent;
CREATE INDEX articles_postable_recent
    ON articles (published_at DESC, quality, postable, restricted) WHERE postable = 1;
CREATE INDEX articles_postable_best
    ON articles (quality DESC, published_at DESC, postable, restricted) WHERE postable = 1;
CREATE INDEX article_topics_postable_best
    ON article_topics (topic_id, quality DESC, published_at DESC, postable, restricted)
    WHERE postable = 1;
CREATE INDEX article_topics_postable_recent
    ON article_topics (topic_id, published_at DESC, quality, postable, restricted)
    WHERE postable = 1;
