-- 0002_threads: forum posts and discussion threads.
--
-- Why: a subscription may post to a forum (each article a post of its own, with tags) or start
-- a discussion thread under each post; the outbox then records the thread too, so that a crash
-- between the post and its thread is finished later, and exactly one thread exists per post.

ALTER TABLE subscriptions ADD COLUMN thread INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN thread_archive TEXT NOT NULL DEFAULT '1d';  -- 1h, 1d, 3d, 7d
ALTER TABLE subscriptions ADD COLUMN forum_tags TEXT NOT NULL DEFAULT 'auto';    -- auto, none
-- Why discussion threads cannot be started in the channel, as moderators were last told (once).
ALTER TABLE subscriptions ADD COLUMN thread_problem TEXT;

-- thread_id: the forum post (a thread) or the discussion thread started on the message.
-- thread_state: NULL when no thread is wanted; 'owed' from the intent until the thread exists
-- ('started') or cannot be made ('none', with the reason in thread_error).
ALTER TABLE deliveries ADD COLUMN thread_id INTEGER;
ALTER TABLE deliveries ADD COLUMN thread_state TEXT
    CHECK (thread_state IN ('owed', 'started', 'none'));
ALTER TABLE deliveries ADD COLUMN thread_error TEXT;

-- Sent posts whose discussion thread is still owed (a crash or a 5xx between the two).
CREATE INDEX deliveries_thread_owed ON deliveries (channel_id)
    WHERE thread_state = 'owed' AND state = 'sent';
