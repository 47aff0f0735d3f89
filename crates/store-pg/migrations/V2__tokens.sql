-- The token endpoint's durable state (crates/store/src/token_db.rs, refresh.sql and
-- registrations.rs on SQLite), shared by every Data Holder node on this database. Single-use
-- keys are decided by the primary keys below inside each batch's transaction
-- (crates/store-pg/src/tokens/commit.rs), never by a read.

-- One row per token-endpoint decision (PT-AUDIT), oldest first by `id`.
CREATE TABLE redemption_audit (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                BIGINT NOT NULL,
    event             TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    step              TEXT,
    error             TEXT,
    error_description TEXT,
    jti               TEXT,
    iss               TEXT,
    ticket_type       TEXT,
    client_id         TEXT,
    requester         TEXT,
    binding           TEXT,
    patient           TEXT,
    scopes            TEXT,
    details           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX redemption_audit_jti ON redemption_audit (jti);

-- Spent single-use keys: client-assertion jti (namespace = client id), DPoP proof jti
-- (`dpop:<jkt>`), software-statement jti. A second insert of a key waits for the first
-- inserter's transaction and then conflicts.
CREATE TABLE assertion_jti (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    keep_until BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_jti_keep ON assertion_jti (keep_until);

-- Issued access tokens by SHA-256 of the token (never the token).
CREATE TABLE access_token (
    token_hash  BYTEA PRIMARY KEY,
    client_id   TEXT NOT NULL,
    grant_json  TEXT NOT NULL,
    ticket_jti  TEXT NOT NULL,
    ticket_iss  TEXT NOT NULL,
    ticket_type TEXT NOT NULL,
    patient     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    cnf_jkt     TEXT
);
CREATE INDEX access_token_exp ON access_token (expires_at);

-- Refresh families and their rotating tokens (spec-digest §16, RFC 9700 §4.14.2).
CREATE TABLE refresh_family (
    family_id        TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    grant_json       TEXT NOT NULL,
    ticket_jti       TEXT NOT NULL,
    ticket_iss       TEXT NOT NULL,
    ticket_type      TEXT NOT NULL,
    patient          TEXT NOT NULL,
    scope            TEXT NOT NULL,
    revocation_url   TEXT NOT NULL,
    revocation_index BIGINT NOT NULL,
    refresh_until    BIGINT,
    cnf_jkt          TEXT,
    created_at       BIGINT NOT NULL,
    revoked_at       BIGINT,
    revoked_reason   TEXT
);
CREATE INDEX refresh_family_jti ON refresh_family (ticket_jti);

-- No foreign key to refresh_family: a node purging an emptied family while another node
-- rotates into it would otherwise fail the second node's whole batch on the FK check. A token
-- whose family is gone is never found (lookups join the family) and is purged at its expiry.
CREATE TABLE refresh_token (
    token_hash BYTEA PRIMARY KEY,
    family_id  TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_token_family ON refresh_token (family_id);
CREATE INDEX refresh_token_exp ON refresh_token (expires_at);

-- Dynamically registered clients (RFC 7591 / UDAP DCR).
CREATE TABLE client_registration (
    client_id        TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    trust_framework  TEXT,
    san              TEXT,
    metadata         TEXT NOT NULL,
    token_hash       BYTEA,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX client_registration_san
    ON client_registration (trust_framework, san) WHERE san IS NOT NULL;
