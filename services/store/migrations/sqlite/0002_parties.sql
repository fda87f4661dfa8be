-- Buyers recognised across suppliers: one party per buyer, known by its registration number
-- and its normalised name, each with the country.
CREATE TABLE parties (
    party_id    TEXT PRIMARY KEY,
    country     TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE party_keys (
    kind      TEXT NOT NULL,
    country   TEXT NOT NULL,
    value     TEXT NOT NULL,
    party_id  TEXT NOT NULL REFERENCES parties (party_id),
    PRIMARY KEY (kind, country, value)
);

-- Each identified substance each party bought, from every supplier: the history the
-- indicators look at. Pruned past the rule set's history.
CREATE TABLE party_purchases (
    report_id      TEXT NOT NULL,
    line_number    INTEGER NOT NULL,
    substance_id   TEXT NOT NULL,
    party_id       TEXT NOT NULL,
    company_id     TEXT NOT NULL,
    substance_name TEXT NOT NULL,
    amount         REAL NOT NULL,
    unit           TEXT NOT NULL,
    ordered_at     BIGINT NOT NULL,
    PRIMARY KEY (report_id, line_number, substance_id)
);
CREATE INDEX party_purchases_party ON party_purchases (party_id, ordered_at);
CREATE INDEX party_purchases_time ON party_purchases (ordered_at);

-- Parties the authorities watch.
CREATE TABLE watched_parties (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    authority           TEXT NOT NULL,
    name                TEXT NOT NULL,
    country             TEXT NOT NULL,
    registration_number TEXT,
    reason              TEXT NOT NULL,
    added_at            BIGINT NOT NULL
);
CREATE INDEX watched_parties_country ON watched_parties (country);
