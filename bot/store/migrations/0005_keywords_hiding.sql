-- 0005_keywords_hiding: keyword filters of a subscription; withdrawn articles indexed.
--
-- Why: a subscription may post only articles whose title or excerpt has one of its keywords,
-- and none of its excluded ones (bot.domain.keywords). Stored as given (JSON lists of entries:
-- words or "quoted phrases"); the candidate query matches them through an SQL function.

ALTER TABLE subscriptions ADD COLUMN keywords_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE subscriptions ADD COLUMN exclude_keywords_json TEXT NOT NULL DEFAULT '[]';

-- Withdrawn articles, for the full-text queries that must leave them out before their LIMIT
-- (title autocomplete, search): a small partial index, read once per query.
CREATE INDEX articles_withdrawn ON articles (id) WHERE withdrawn_at IS NOT NULL;
