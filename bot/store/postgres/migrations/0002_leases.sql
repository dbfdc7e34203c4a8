-- 0002_leases: claims on subscriptions (SQLite's 0011; the reasons are written there).

CREATE TABLE subscription_leases (
    subscription_id BIGINT  PRIMARY KEY,
    owner           TEXT    NOT NULL,
    generation      BIGINT  NOT NULL,
    expires_at      TEXT    NOT NULL
);
