-- The ticket issuer's records (crates/issuer: IssuerStore), the PostgreSQL twin of the SQLite
-- schema in crates/issuer/src/db.rs. Prefixed `issuer_` so an issuer and a Data Holder can
-- share one database without their tables meeting.

-- One row per minted ticket; the revoked rows of a list are its status-list bits.
CREATE TABLE issuer_issuance (
    jti           TEXT PRIMARY KEY,
    ticket_type   TEXT NOT NULL,
    subject       TEXT NOT NULL,
    requester     TEXT,
    requested_by  TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    kid           TEXT NOT NULL,
    status_list   TEXT NOT NULL,
    status_index  BIGINT NOT NULL CHECK (status_index >= 0),
    status_url    TEXT NOT NULL,
    revoked_at    BIGINT,
    revoked_by    TEXT,
    -- JSON text, kept as signed (not jsonb, which would reorder members).
    claims        TEXT NOT NULL,
    verification  TEXT,
    UNIQUE (status_list, status_index)
);
CREATE INDEX issuer_issuance_kid ON issuer_issuance (kid, expires_at);
CREATE INDEX issuer_issuance_revoked ON issuer_issuance (status_list) WHERE revoked_at IS NOT NULL;

-- Client-assertion jti replay cache of the minting API.
CREATE TABLE issuer_assertion_jti (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX issuer_assertion_jti_exp ON issuer_assertion_jti (expires_at);
