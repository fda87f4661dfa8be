-- The national competent authorities: one per country by default, with what each wants to
-- receive. A country without a row still gets its alerts on alerts.<CC>, unfiltered.
CREATE TABLE authorities (
    country             TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    contact             TEXT NOT NULL,
    topic               TEXT NOT NULL,
    -- LOW, MEDIUM, HIGH or CRITICAL: alerts below it are not delivered.
    min_severity        TEXT NOT NULL,
    -- Comma-separated regimes (UN_1988, EU, US, WATCH_LIST) of interest; empty for all.
    regimes             TEXT NOT NULL,
    -- Comma-separated category prefixes of interest ("Table I", "Category 1"); empty for all.
    categories          TEXT NOT NULL,
    -- 1 when the authority receives alerts whose only findings are watch-listed chemicals.
    watch_list_findings INTEGER NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE authority_keys (
    key_id      TEXT PRIMARY KEY,
    country     TEXT NOT NULL REFERENCES authorities (country),
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- Every alert as delivered to an authority (its own copy), numbered for the authority API:
-- the number is the event id an SSE client resumes from.
CREATE TABLE authority_alerts (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    country      TEXT NOT NULL,
    alert_id     TEXT NOT NULL,
    report_id    TEXT NOT NULL,
    party_id     TEXT NOT NULL,
    severity     TEXT NOT NULL,
    alert_json   TEXT NOT NULL,
    delivered_at BIGINT NOT NULL,
    UNIQUE (country, alert_id)
);
CREATE INDEX authority_alerts_country ON authority_alerts (country, seq);
CREATE INDEX authority_alerts_party ON authority_alerts (party_id);

-- The authorities' dispositions on their alerts, from the API or alerts.feedback.
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id    TEXT NOT NULL,
    country     TEXT NOT NULL,
    disposition TEXT NOT NULL,
    note        TEXT NOT NULL,
    author      TEXT NOT NULL,
    source      TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    UNIQUE (alert_id, country, recorded_at, disposition)
);
CREATE INDEX feedback_alert ON feedback (alert_id);
