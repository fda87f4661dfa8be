-- The outbox keeps no second copy of a report's event: a row names its report, whose stored
-- event is what gets published. Published rows are deleted, so the outbox holds only what waits
-- and its depth stays cheap to count. Rows written before keep their payload.
ALTER TABLE outbox ADD COLUMN report_id TEXT;
ALTER TABLE outbox ALTER COLUMN payload DROP NOT NULL;
DELETE FROM outbox WHERE published_at IS NOT NULL;
