-- 0010_search_scope: who may see an article, inside the full-text indexes.
--
-- Why: a search walks its matches newest first and must leave out, before its LIMIT, the
-- restricted articles the asking server may not see (0009). Checking each match against a
-- list built on every query cost 9 ms per autocomplete with 50,000 restricted articles (0.3
-- ms without). Now `scope` is indexed with the words: empty for a global article; for a
-- restricted one `r`, and `g<server id>` for each server that may see it. A query adds
-- `NOT (scope : r NOT scope : g<server>)` (from a DM: `NOT scope : r`), which FTS5 answers
-- while it walks the matches, by seeks in the short `r` list. (`AND scope : all`, the other
-- way round, reads the whole list of `all` when the matches are few: 13 ms.) The words are
-- searched in the other columns only. store/visibility.py keeps `scope` in step with
-- `restricted` and article_guilds.
--
-- The full-text tables are rebuilt (about 30 s at a million articles).

ALTER TABLE articles ADD COLUMN scope TEXT NOT NULL DEFAULT '';
UPDATE articles SET scope = 'r' || coalesce(
    (SELECT ' ' || group_concat('g' || guild_id, ' ') FROM article_guilds
     WHERE article_id = articles.id), '')
WHERE restricted = 1;

DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_update;
DROP TRIGGER articles_fts_delete;
DROP TABLE articles_fts;
DROP TABLE titles_fts;

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, topics_text, provider_name, scope,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE titles_fts USING fts5 (
    title, scope,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '3'
);
INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
INSERT INTO titles_fts (titles_fts) VALUES ('rebuild');

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, excerpt, topics_text, provider_name, scope)
    VALUES (NEW.id, NEW.title, NEW.excerpt, NEW.topics_text, NEW.provider_name, NEW.scope);
    INSERT INTO titles_fts (rowid, title, scope) VALUES (NEW.id, NEW.title, NEW.scope);
END;

CREATE TRIGGER articles_fts_update
AFTER UPDATE OF title, excerpt, topics_text, provider_name, scope ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, topics_text, provider_name,
                              scope)
    VALUES ('delete', OLD.id, OLD.title, OLD.excerpt, OLD.topics_text, OLD.provider_name,
            OLD.scope);
    INSERT INTO articles_fts (rowid, title, excerpt, topics_text, provider_name, scope)
    VALUES (NEW.id, NEW.title, NEW.excerpt, NEW.topics_text, NEW.provider_name, NEW.scope);
    INSERT INTO titles_fts (titles_fts, rowid, title, scope)
    VALUES ('delete', OLD.id, OLD.title, OLD.scope);
    INSERT INTO titles_fts (rowid, title, scope) VALUES (NEW.id, NEW.title, NEW.scope);
END;

CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, topics_text, provider_name,
                              scope)
    VALUES ('delete', OLD.id, OLD.title, OLD.excerpt, OLD.topics_text, OLD.provider_name,
            OLD.scope);
    INSERT INTO titles_fts (titles_fts, rowid, title, scope)
    VALUES ('delete', OLD.id, OLD.title, OLD.scope);
END;

-- The lists the full-text queries built per query are not read any more.
DROP INDEX articles_restricted;
