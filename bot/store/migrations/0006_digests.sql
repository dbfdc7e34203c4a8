-- 0006_digests: subscriptions that post one digest message per run.
--
-- Why: mode 'digest' posts the run's best digest_size articles as one message. Each article
-- still has its own delivery (so it counts as delivered exactly once, with the same outbox and
-- reconciliation); the deliveries of one digest share its nonce (from the channel and the
-- sorted article ids) and, once sent, its message. deliveries.digest marks them, so that a
-- pending digest is settled, and a changed article re-renders, as a whole.

ALTER TABLE subscriptions ADD COLUMN mode TEXT NOT NULL DEFAULT 'posts'
    CHECK (mode IN ('posts', 'digest'));
ALTER TABLE subscriptions ADD COLUMN digest_size INTEGER NOT NULL DEFAULT 5
    CHECK (digest_size BETWEEN 1 AND 10);

ALTER TABLE deliveries ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;

-- The deliveries of one digest, found from any of them (a digest has at most 10).
CREATE INDEX deliveries_digest ON deliveries (channel_id, nonce) WHERE digest = 1;
