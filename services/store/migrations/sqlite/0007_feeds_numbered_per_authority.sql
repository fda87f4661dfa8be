-- Each authority's feed is numbered on its own (1, 2, 3, ...): see the PostgreSQL migration.
ALTER TABLE authority_alerts ADD COLUMN feed_seq INTEGER NOT NULL DEFAULT 0;
UPDATE authority_alerts SET feed_seq = (
    SELECT COUNT(*) FROM authority_alerts earlier
    WHERE earlier.country = authority_alerts.country AND earlier.seq <= authority_alerts.seq
);
CREATE UNIQUE INDEX authority_alerts_feed ON authority_alerts (country, feed_seq);

CREATE TABLE authority_feeds (
    country  TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
INSERT INTO authority_feeds (country, last_seq)
SELECT country, MAX(feed_seq) FROM authority_alerts GROUP BY country;
