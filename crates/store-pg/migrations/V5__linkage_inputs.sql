-- What the linkage in force was computed from, so a node starting on an unchanged database does
-- not read and parse every Patient again (issue 12, boot at scale); the SQLite schema's
-- 0003_linkage_inputs.sql keeps the same facts.
--
-- linkage_patient_change: one row per changed Patient row, and per statement that changed the
--   sites a Patient belongs to (the linkage reads both), written by the triggers below. Rows, not a
--   counter: concurrent ingests' inserts never wait on each other, and (count, max id) read in
--   a snapshot counts exactly the committed changes (a sequence's last_value would count
--   uncommitted ones, and a skipped rebuild would then miss them).
-- linkage_input.fingerprint: tessera_store::linkage::inputs_fingerprint of the inputs at the
--   last rebuild (NULL until the first): equal again means a rebuild would change nothing.

CREATE TABLE linkage_patient_change (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
);

CREATE TABLE linkage_input (
    id          INT PRIMARY KEY CHECK (id = 1),
    fingerprint BYTEA
);
INSERT INTO linkage_input (id, fingerprint) VALUES (1, NULL);

-- Resource rows: a row trigger that fires for Patients only (WHEN), so the other 98 % of an
-- ingest pays nothing, and no statement-wide transition table of whole rows is kept.
CREATE FUNCTION linkage_note_patient_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO linkage_patient_change DEFAULT VALUES;
    RETURN NULL;
END
$$;

-- Site rows are small (rid, site_id) and come many per statement: one check per statement.
CREATE FUNCTION linkage_note_patient_sites() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM changed_rows c JOIN resource r ON r.rid = c.rid WHERE r.type = 'Patient'
    ) THEN
        INSERT INTO linkage_patient_change DEFAULT VALUES;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER linkage_patient_inserted AFTER INSERT ON resource
    FOR EACH ROW WHEN (NEW.type = 'Patient') EXECUTE FUNCTION linkage_note_patient_row();
CREATE TRIGGER linkage_patient_updated AFTER UPDATE ON resource
    FOR EACH ROW WHEN (NEW.type = 'Patient' OR OLD.type = 'Patient')
    EXECUTE FUNCTION linkage_note_patient_row();
CREATE TRIGGER linkage_patient_deleted AFTER DELETE ON resource
    FOR EACH ROW WHEN (OLD.type = 'Patient') EXECUTE FUNCTION linkage_note_patient_row();
CREATE TRIGGER linkage_patient_site_added AFTER INSERT ON resource_site
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION linkage_note_patient_sites();
-- A Patient's site rows removed with the Patient itself (ON DELETE CASCADE) are covered by
-- linkage_patient_deleted; this one sees the rest.
CREATE TRIGGER linkage_patient_site_removed AFTER DELETE ON resource_site
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION linkage_note_patient_sites();
