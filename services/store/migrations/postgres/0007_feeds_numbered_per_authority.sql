-- Each authority's feed is numbered on its own (1, 2, 3, ...): the numbers an authority sees
-- (event ids of its stream, `after` of its paged query) no longer count the alerts delivered to
-- every other authority. `seq` stays the platform-wide order the operators' views use.
ALTER TABLE authority_alerts ADD COLUMN feed_seq BIGINT;
UPDATE authority_alerts a SET feed_seq = numbered.n
FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY country ORDER BY seq) AS n FROM authority_alerts) numbered
WHERE a.seq = numbered.seq;
ALTER TABLE authority_alerts ALTER COLUMN feed_seq SET NOT NULL;
CREATE UNIQUE INDEX authority_alerts_feed ON authority_alerts (country, feed_seq);

-- The last number given in each authority's feed. Taking numbers locks the authority's row
-- until the transaction commits, so a feed's numbers become visible in the order they are given
-- and a reader that has seen number n never later meets a smaller one.
CREATE TABLE authority_feeds (
    country  TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
INSERT INTO authority_feeds (country, last_seq)
SELECT country, MAX(feed_seq) FROM authority_alerts GROUP BY country;
