-- The outbox keeps no second copy of a report's event: a row names its report, whose stored
-- event is what gets published. Published rows are deleted, so the outbox holds only what waits
-- and its depth stays cheap to count. Rows written before keep their payload. (SQLite cannot
-- drop a NOT NULL constraint in place: the table is rebuilt.)
CREATE TABLE outbox_by_reference (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    topic         TEXT NOT NULL,
    message_key   TEXT NOT NULL,
    payload       BLOB,
    report_id     TEXT,
    created_at    BIGINT NOT NULL,
    published_at  BIGINT
);
INSERT INTO outbox_by_reference (id, topic, message_key, payload, created_at, published_at)
    SELECT id, topic, message_key, payload, created_at, published_at FROM outbox
    WHERE published_at IS NULL;
DROP TABLE outbox;
ALTER TABLE outbox_by_reference RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
