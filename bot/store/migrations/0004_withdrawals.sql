-- 0004_withdrawals: articles that left their source, and what becomes of their posts.
--
-- Why: an article whose file is gone from its source directory (and that no other file carries)
-- is withdrawn (see bot.services.ingest.withdrawals): never posted again, hidden from /news,
-- kept in the archive so that a file that comes back restores it. A withdrawn article is not
-- postable (so the candidate indexes never see it) and its topic links are not counted.
-- The posts of a withdrawn article are queued like edits (deliveries.edit_due); a publishing
-- run acts on them as the subscription's on_removed says.

ALTER TABLE articles ADD COLUMN withdrawn_at TEXT;  -- NULL: in its source

ALTER TABLE subscriptions ADD COLUMN on_removed TEXT NOT NULL DEFAULT 'keep'
    CHECK (on_removed IN ('keep', 'mark', 'delete'));
