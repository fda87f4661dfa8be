-- PostgreSQL stores the authorities' alert copies with lz4 from this version on; SQLite has no
-- column compression. Kept so both backends number their migrations alike.
SELECT 1;
