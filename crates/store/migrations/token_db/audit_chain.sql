-- The audit trail's hash chain (crates/store/src/audit_chain.rs), applied when the token
-- database opens, after the chain columns exist (new databases create them with the table;
-- older ones get them, and their rows chained, in the same transaction first).

-- The newest row of the chain: one row, moved in the transaction that inserts each audit row.
-- It is what makes deleting the newest rows detectable.
CREATE TABLE IF NOT EXISTS audit_chain_head (
    only   INTEGER PRIMARY KEY CHECK (only = 1),
    seq    INTEGER NOT NULL,
    row_id INTEGER NOT NULL,
    hash   BLOB NOT NULL
);

-- Set once when a database from before the chain was migrated: how many rows were chained
-- then. Those rows are proven unchanged since the migration, not before it.
CREATE TABLE IF NOT EXISTS audit_chain_origin (
    only        INTEGER PRIMARY KEY CHECK (only = 1),
    legacy_rows INTEGER NOT NULL,
    head_seq    INTEGER NOT NULL,
    head_hash   BLOB NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS redemption_audit_seq ON redemption_audit (chain_seq);

-- Append-only. Nothing in Tessera updates or deletes audit rows (the purge paths leave the
-- trail alone); these refuse it for any other writer of the file too. Someone who can drop
-- the triggers can also rewrite rows: that is what the chain and its anchored head catch.
CREATE TRIGGER IF NOT EXISTS redemption_audit_no_update BEFORE UPDATE ON redemption_audit
BEGIN
    SELECT RAISE(ABORT, 'redemption_audit is append-only');
END;
CREATE TRIGGER IF NOT EXISTS redemption_audit_no_delete BEFORE DELETE ON redemption_audit
BEGIN
    SELECT RAISE(ABORT, 'redemption_audit is append-only');
END;
-- An older binary (which knows no chain) must not append rows that break it.
CREATE TRIGGER IF NOT EXISTS redemption_audit_chained BEFORE INSERT ON redemption_audit
WHEN NEW.chain_seq IS NULL OR NEW.chain_hash IS NULL
BEGIN
    SELECT RAISE(ABORT, 'redemption_audit rows must be chained');
END;
-- The head only advances, one row at a time, to a row that exists.
CREATE TRIGGER IF NOT EXISTS audit_chain_head_advances BEFORE UPDATE ON audit_chain_head
WHEN NEW.seq <> OLD.seq + 1
  OR NEW.hash IS NOT (SELECT chain_hash FROM redemption_audit WHERE chain_seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head only advances to the newest row');
END;
CREATE TRIGGER IF NOT EXISTS audit_chain_head_kept BEFORE DELETE ON audit_chain_head
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head cannot be deleted');
END;
