-- Companies that report orders, and their API keys (only a hash of each key is kept).
CREATE TABLE companies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    country     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES companies (id),
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- Every accepted order report, as encoded on orders.submitted.
CREATE TABLE reports (
    id                TEXT PRIMARY KEY,
    company_id        TEXT NOT NULL REFERENCES companies (id),
    company_reference TEXT NOT NULL,
    customer_key      TEXT NOT NULL,
    payload_sha256    TEXT NOT NULL,
    event             BLOB NOT NULL,
    received_at       BIGINT NOT NULL,
    UNIQUE (company_id, company_reference)
);

-- Transactional outbox: events written with their report, published to Kafka afterwards.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    topic         TEXT NOT NULL,
    message_key   TEXT NOT NULL,
    payload       BLOB NOT NULL,
    created_at    BIGINT NOT NULL,
    published_at  BIGINT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- One screening result per report, from orders.screened.
CREATE TABLE screenings (
    report_id              TEXT PRIMARY KEY,
    outcome                TEXT NOT NULL,
    alert_id               TEXT,
    findings               INTEGER NOT NULL,
    reference_data_version TEXT NOT NULL,
    screened_at            BIGINT NOT NULL
);

-- Every alert delivered to an authority topic.
CREATE TABLE deliveries (
    alert_id     TEXT NOT NULL,
    country      TEXT NOT NULL,
    report_id    TEXT NOT NULL,
    roles        TEXT NOT NULL,
    topic        TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    delivered_at BIGINT NOT NULL,
    PRIMARY KEY (alert_id, country)
);
CREATE INDEX deliveries_report ON deliveries (report_id);
