-- The token endpoint's durable state (crates/store/src/token_db.rs, refresh.sql and
-- registrations.rs on SQLite), shared by every Data Holder node on this database. Single-use
-- keys are decided by the primary keys below inside each batch's transaction
-- (crates/store-pg/src/tokens/commit.rs), never by a read.

-- One row per token-endpoint decision (PT-AUDIT), oldest first by `id`, each a link of the
-- hash chain (crates/store/src/audit_chain.rs, docs/design/003-audit-chain.md). Appends
-- serialize on the head row (locked first in every batch that writes audit rows), so the id
-- is the head's plus one and chain order is commit order across nodes.
CREATE TABLE redemption_audit (
    id                BIGINT PRIMARY KEY,
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
    details           TEXT NOT NULL DEFAULT '{}',
    chain_seq         BIGINT NOT NULL UNIQUE,
    chain_version     BIGINT NOT NULL,
    prev_hash         BYTEA NOT NULL,
    chain_hash        BYTEA NOT NULL
);
CREATE INDEX redemption_audit_jti ON redemption_audit (jti);

-- The newest row of the chain; what makes deleting the newest rows detectable.
CREATE TABLE audit_chain_head (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    seq    BIGINT NOT NULL,
    row_id BIGINT NOT NULL,
    hash   BYTEA NOT NULL
);
INSERT INTO audit_chain_head (singleton, seq, row_id, hash)
    VALUES (TRUE, 0, 0, decode(repeat('00', 32), 'hex'));

-- Append-only, for every role: nothing in Tessera updates or deletes audit rows. Someone who
-- can drop these triggers can also rewrite rows: that is what the chain and its anchored head
-- catch.
CREATE FUNCTION redemption_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'redemption_audit is append-only';
END $$;
CREATE TRIGGER redemption_audit_no_change BEFORE UPDATE OR DELETE ON redemption_audit
    FOR EACH ROW EXECUTE FUNCTION redemption_audit_append_only();
CREATE TRIGGER redemption_audit_no_truncate BEFORE TRUNCATE ON redemption_audit
    FOR EACH STATEMENT EXECUTE FUNCTION redemption_audit_append_only();

-- The head only advances, to a row that exists with that hash, and is never deleted. The
-- search path is the migration's, so the guard finds this schema's rows whatever the path of
-- the session that fires it.
CREATE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head cannot be deleted';
    END IF;
    IF NEW.seq <= OLD.seq OR NEW.hash IS DISTINCT FROM
        (SELECT chain_hash FROM redemption_audit WHERE chain_seq = NEW.seq) THEN
        RAISE EXCEPTION 'the audit chain head only advances to the newest row';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_chain_head_advances BEFORE UPDATE OR DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard();

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
