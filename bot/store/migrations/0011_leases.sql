-- 0011_leases: claims on subscriptions, so that two processes never run one at the same time.
--
-- Why: processes that share one database (PostgreSQL, shards) each run the publishing jobs
-- of their shards, and a misconfigured pair may both think a subscription is theirs. A run
-- first claims its subscription here: the owner (one process), a generation that grows with
-- every new claim, so that a write can check its claim is still the current one (fencing),
-- and an expiry that the owner pushes forward while it runs. A process that dies leaves its
-- claims to run out. One SQLite process claims too: the rules are the same on both.
-- No foreign key: a row outlives its subscription, because SQLite may give a new subscription
-- a removed one's id, and its generations must go on from there (never 1 again).

CREATE TABLE subscription_leases (
    subscription_id INTEGER PRIMARY KEY,
    owner           TEXT    NOT NULL,
    generation      INTEGER NOT NULL,
    expires_at      TEXT    NOT NULL
);
