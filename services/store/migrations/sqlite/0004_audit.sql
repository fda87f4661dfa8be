-- What operators did: companies and keys created, keys revoked, authorities registered or
-- changed, watch-list entries added or removed. Rows are only ever added.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     BIGINT NOT NULL,
    -- Who: "cli:<user>" for a command run on a host, "admin-api" for the operators' API.
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    -- What changed, in words; never a secret.
    detail TEXT NOT NULL
);
