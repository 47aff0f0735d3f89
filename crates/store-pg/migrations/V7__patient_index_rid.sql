-- The compartment index carries rid (SQLite's `(patient, type)` index carries the rowid
-- implicitly): a patient's page comes from it in rid order, so PostgreSQL neither sorts the
-- page's ~1 KB rows nor reads a large record past the page's LIMIT, and the page's total is
-- counted from the index alone.
CREATE INDEX resource_patient_rid ON resource (patient, type, rid);
DROP INDEX resource_patient;
ALTER INDEX resource_patient_rid RENAME TO resource_patient;
