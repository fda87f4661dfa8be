-- Each authority's copy of an alert is a JSON document of a few kilobytes, compressed when
-- stored; lz4 costs the router a fraction of the CPU of the default pglz (new rows only).
ALTER TABLE authority_alerts ALTER COLUMN alert_json SET COMPRESSION lz4;
