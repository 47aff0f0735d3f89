-- Tessera resource store, SQLite schema v3: what the linkage in force was computed from, so a
-- start on an unchanged store does not read and parse every Patient again (issue 12, boot at
-- scale).
-- linkage_input.patient_changes: bumped by the triggers below on every change of a Patient row
--   or of the sites a Patient belongs to (the linkage reads both); never decreases.
-- linkage_input.fingerprint: tessera_store::linkage::inputs_fingerprint of the inputs at the
--   last rebuild (NULL until the first): equal again means a rebuild would change nothing.
-- One writer at a time (SQLite), so a counter row does not serialize anything that was not.

CREATE TABLE linkage_input (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    patient_changes INTEGER NOT NULL,
    fingerprint     BLOB
);
INSERT INTO linkage_input (id, patient_changes, fingerprint) VALUES (1, 0, NULL);

CREATE TRIGGER linkage_patient_inserted AFTER INSERT ON resource
WHEN NEW.type = 'Patient'
BEGIN
    UPDATE linkage_input SET patient_changes = patient_changes + 1 WHERE id = 1;
END;

CREATE TRIGGER linkage_patient_updated AFTER UPDATE ON resource
WHEN NEW.type = 'Patient' OR OLD.type = 'Patient'
BEGIN
    UPDATE linkage_input SET patient_changes = patient_changes + 1 WHERE id = 1;
END;

CREATE TRIGGER linkage_patient_deleted AFTER DELETE ON resource
WHEN OLD.type = 'Patient'
BEGIN
    UPDATE linkage_input SET patient_changes = patient_changes + 1 WHERE id = 1;
END;

CREATE TRIGGER linkage_patient_site_added AFTER INSERT ON resource_site
WHEN (SELECT type FROM resource WHERE rid = NEW.rid) = 'Patient'
BEGIN
    UPDATE linkage_input SET patient_changes = patient_changes + 1 WHERE id = 1;
END;

CREATE TRIGGER linkage_patient_site_removed AFTER DELETE ON resource_site
WHEN (SELECT type FROM resource WHERE rid = OLD.rid) = 'Patient'
BEGIN
    UPDATE linkage_input SET patient_changes = patient_changes + 1 WHERE id = 1;
END;
