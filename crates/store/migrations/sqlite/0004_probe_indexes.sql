-- Tessera resource store, SQLite schema v4: the search-index tables' rid indexes carry what a
-- clause tests. Under a grant pinned to a patient, a search clause is `EXISTS (… x.rid = r.rid
-- AND x.param = ? AND …)` (tessera_store::sql::Probe::FromResource): each of the patient's
-- rows is checked by one seek in a covering index, so the search costs what the patient's
-- record holds, not what the store holds. With `(rid)` alone SQLite, having no statistics,
-- preferred the `(param, …)` index and read every row of the parameter per candidate row.
-- The write path's deletes by rid use the same indexes' leading column.

DROP INDEX idx_token_rid;
CREATE INDEX idx_token_rid ON idx_token (rid, param, code, system);
DROP INDEX idx_date_rid;
CREATE INDEX idx_date_rid ON idx_date (rid, param, lo, hi);
DROP INDEX idx_ref_rid;
CREATE INDEX idx_ref_rid ON idx_ref (rid, param, target_id, target_type);
DROP INDEX idx_string_rid;
CREATE INDEX idx_string_rid ON idx_string (rid, param, value);
