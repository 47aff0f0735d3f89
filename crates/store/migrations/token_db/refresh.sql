-- Refresh tokens derived from `continuation` tickets (spec-digest §16, OP-26).
-- A family is one redemption: the Grant frozen at that moment, the source ticket's revocation
-- pointer (re-checked before every refresh) and `refresh_until`. Each refresh rotates the
-- token: the presented row is marked used and a new row joins the family. Presenting a used
-- token again revokes the family (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
CREATE TABLE IF NOT EXISTS refresh_family (
    family_id        TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    grant_json       TEXT NOT NULL,
    ticket_jti       TEXT NOT NULL,
    ticket_iss       TEXT NOT NULL,
    ticket_type      TEXT NOT NULL,
    patient          TEXT NOT NULL,
    scope            TEXT NOT NULL,
    revocation_url   TEXT NOT NULL,
    revocation_index INTEGER NOT NULL,
    refresh_until    INTEGER,
    cnf_jkt          TEXT,
    created_at       INTEGER NOT NULL,
    revoked_at       INTEGER,
    revoked_reason   TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_family_jti ON refresh_family (ticket_jti);

CREATE TABLE IF NOT EXISTS refresh_token (
    token_hash BLOB PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES refresh_family (family_id),
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_token_family ON refresh_token (family_id);
