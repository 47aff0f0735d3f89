-- The audit trail's hash chain (crates/store/src/audit_chain.rs, docs/design/003-audit-chain.md,
-- crates/store-pg/src/tokens/chain.rs). Rows written before this migration are chained once,
-- by the first node that opens the database afterwards (`audit_chain_origin.pending`), in
-- Rust, because the hash is the shared canonical encoding.

-- Appends serialize on the head row, so the id is the head's plus one.
ALTER TABLE redemption_audit ALTER COLUMN id DROP IDENTITY;
ALTER TABLE redemption_audit
    ADD COLUMN chain_seq     BIGINT UNIQUE,
    ADD COLUMN chain_version BIGINT,
    ADD COLUMN prev_hash     BYTEA,
    ADD COLUMN chain_hash    BYTEA;

-- The newest row of the chain; what makes deleting the newest rows detectable. Created by the
-- chaining step, never re-created: a missing head over rows is tampering.
CREATE TABLE audit_chain_head (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    seq       BIGINT NOT NULL,
    row_id    BIGINT NOT NULL,
    hash      BYTEA NOT NULL
);

-- Whether the rows from before the chain are still to be chained, and how many were: those
-- are proven unchanged since then, not before.
CREATE TABLE audit_chain_origin (
    singleton   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    pending     BOOLEAN NOT NULL,
    legacy_rows BIGINT NOT NULL DEFAULT 0
);
INSERT INTO audit_chain_origin (singleton, pending) VALUES (TRUE, TRUE);

-- Append-only, for every role: a chained row is never updated, no row is deleted; new rows
-- must be chained. Someone who can drop these triggers can also rewrite rows: that is what
-- the chain and its anchored head catch. The search path is the migration's, so the checks
-- find this schema's tables whatever the path of the session that fires them.
CREATE FUNCTION redemption_audit_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.chain_seq IS NULL OR NEW.chain_hash IS NULL THEN
            RAISE EXCEPTION 'redemption_audit rows must be chained';
        END IF;
        RETURN NEW;
    END IF;
    -- Chaining the rows from before the chain, once.
    IF TG_OP = 'UPDATE' THEN
        IF OLD.chain_hash IS NULL AND (SELECT pending FROM audit_chain_origin) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'redemption_audit is append-only';
END $$;
CREATE TRIGGER redemption_audit_append_only BEFORE INSERT OR UPDATE OR DELETE
    ON redemption_audit FOR EACH ROW EXECUTE FUNCTION redemption_audit_guard();
CREATE TRIGGER redemption_audit_no_truncate BEFORE TRUNCATE ON redemption_audit
    FOR EACH STATEMENT EXECUTE FUNCTION redemption_audit_guard();

-- The head only advances, to a row that exists with that hash, and is never deleted.
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
