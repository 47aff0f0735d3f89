-- The ticket issuer's refusal log (crates/issuer/src/refusal.rs; the SQLite twin is the
-- `refusal` table in crates/issuer/src/db.rs): one row per refused request of the minting
-- API, written before the refusal is sent. Append-only for every role, as on SQLite.
CREATE TABLE issuer_refusal (
    id                 BIGSERIAL PRIMARY KEY,
    at                 BIGINT NOT NULL,
    endpoint           TEXT NOT NULL,
    client_id          TEXT,
    claimed_client_id  TEXT,
    status             INTEGER NOT NULL,
    error              TEXT NOT NULL,
    error_description  TEXT NOT NULL,
    ticket_type        TEXT,
    jti                TEXT
);

CREATE FUNCTION issuer_refusal_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issuer_refusal is append-only';
END;
$$;
CREATE TRIGGER issuer_refusal_append_only BEFORE UPDATE OR DELETE
    ON issuer_refusal FOR EACH ROW EXECUTE FUNCTION issuer_refusal_guard();
CREATE TRIGGER issuer_refusal_no_truncate BEFORE TRUNCATE ON issuer_refusal
    FOR EACH STATEMENT EXECUTE FUNCTION issuer_refusal_guard();
