-- The search-index tables' rid indexes carry what a clause tests (SQLite's migration 0004).
-- Under a grant pinned to a patient a search clause is `EXISTS (… x.rid = r.rid AND x.param =
-- ? AND …)` (tessera_store::sql::Probe::FromResource); when PostgreSQL drives the semi-join
-- from the patient's rows, each is checked by one index-only seek here instead of a `(rid)`
-- seek and a heap fetch. The write path's deletes by rid use the same leading column.

DROP INDEX idx_token_rid;
CREATE INDEX idx_token_rid ON idx_token (rid, param, code, system);
DROP INDEX idx_date_rid;
CREATE INDEX idx_date_rid ON idx_date (rid, param, lo, hi);
DROP INDEX idx_ref_rid;
CREATE INDEX idx_ref_rid ON idx_ref (rid, param, target_id, target_type);
DROP INDEX idx_string_rid;
CREATE INDEX idx_string_rid ON idx_string (rid, param, value);
