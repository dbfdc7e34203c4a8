-- 0003_edits: posts that follow their article when it changes.
--
-- Why: a re-ingest that changes what a posted article's message shows (see bot.domain.edits)
-- queues an edit of each of its posts; a publishing run of the channel makes them. The queue is
-- a flag on the delivery with a partial index, so that finding the edits due never scans the
-- deliveries, and flagging the posts of a changed article reads deliveries_article.

-- What a post of the article shows (bot.domain.edits.shown_digest); NULL for articles stored
-- before this migration, until their next change: what their posts show is not known, so that
-- change edits nothing.
ALTER TABLE articles ADD COLUMN shown_hash TEXT;

ALTER TABLE subscriptions ADD COLUMN edits INTEGER NOT NULL DEFAULT 1;
ALTER TABLE subscriptions ADD COLUMN edit_window_seconds INTEGER DEFAULT 604800;  -- NULL: no limit

-- shown_hash: the digest of the version the message shows (confirmed by Discord); NULL: unknown.
-- edit_due: 1 while the article shows something else than the message.
-- post_state: NULL while the message is there as far as Newsdesk knows; 'gone' once Discord
-- said it was deleted (10008, or 10003 for a forum post's thread): never edited or re-sent.
ALTER TABLE deliveries ADD COLUMN shown_hash TEXT;
ALTER TABLE deliveries ADD COLUMN edit_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN edit_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN edit_next_at TEXT;
ALTER TABLE deliveries ADD COLUMN edit_error TEXT;       -- why the last edit did not happen
ALTER TABLE deliveries ADD COLUMN post_state TEXT CHECK (post_state IN ('gone'));

CREATE INDEX deliveries_edit_due ON deliveries (channel_id, sent_at) WHERE edit_due = 1;
