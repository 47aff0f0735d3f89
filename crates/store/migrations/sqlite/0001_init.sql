-- Tessera resource store, SQLite schema v1.
-- One row per stored resource (served as its stored JSON bytes), plus side tables:
-- fact_* = access facts (tessera_access::ResourceFacts) the Grant filter compiles against;
-- idx_* = FHIR search-parameter index (tessera_fhir::extract_index).

CREATE TABLE resource (
    rid                INTEGER PRIMARY KEY,          -- stable paging key (keyset)
    type               TEXT    NOT NULL,
    id                 TEXT    NOT NULL,
    json               BLOB    NOT NULL,             -- served verbatim
    content_hash       BLOB    NOT NULL,             -- SHA-256 of the content before stamping
    last_updated       INTEGER NOT NULL,             -- unix seconds
    patient            TEXT,                         -- facts.patient
    date_lo            INTEGER,                      -- facts.clinical_date
    date_hi            INTEGER,
    currently_relevant INTEGER NOT NULL DEFAULT 0,
    UNIQUE (type, id)
);
CREATE INDEX resource_type_rid ON resource (type, rid);
CREATE INDEX resource_patient ON resource (patient, type);

-- dim: 0 = code, 1 = category, 2 = meta.security
CREATE TABLE fact_token (
    rid    INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    dim    INTEGER NOT NULL,
    system TEXT,
    code   TEXT    NOT NULL
);
CREATE INDEX fact_token_rid ON fact_token (rid, dim);

CREATE TABLE fact_encounter (
    rid       INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    encounter TEXT    NOT NULL
);
CREATE INDEX fact_encounter_rid ON fact_encounter (rid);

CREATE TABLE idx_token (
    rid    INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    param  TEXT    NOT NULL,
    system TEXT,
    code   TEXT    NOT NULL
);
CREATE INDEX idx_token_lookup ON idx_token (param, code, rid);
CREATE INDEX idx_token_rid ON idx_token (rid);

CREATE TABLE idx_date (
    rid   INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    param TEXT    NOT NULL,
    lo    INTEGER NOT NULL,
    hi    INTEGER NOT NULL
);
CREATE INDEX idx_date_lookup ON idx_date (param, lo, hi, rid);
CREATE INDEX idx_date_rid ON idx_date (rid);

CREATE TABLE idx_ref (
    rid         INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    param       TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL
);
CREATE INDEX idx_ref_lookup ON idx_ref (param, target_id, rid);
CREATE INDEX idx_ref_rid ON idx_ref (rid);

CREATE TABLE idx_string (
    rid   INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    param TEXT    NOT NULL,
    value TEXT    NOT NULL
);
CREATE INDEX idx_string_lookup ON idx_string (param, value, rid);
CREATE INDEX idx_string_rid ON idx_string (rid);

-- Sites: one per ingested bundle file; the holder profile data_holder_filter checks against.
CREATE TABLE site (
    site_id TEXT PRIMARY KEY,
    name    TEXT
);
CREATE TABLE site_identifier (
    site_id TEXT NOT NULL REFERENCES site (site_id) ON DELETE CASCADE,
    system  TEXT,
    value   TEXT NOT NULL
);
CREATE TABLE site_address (
    site_id TEXT NOT NULL REFERENCES site (site_id) ON DELETE CASCADE,
    state   TEXT,
    country TEXT
);
CREATE TABLE site_organization (
    site_id         TEXT NOT NULL REFERENCES site (site_id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL
);
CREATE TABLE resource_site (
    rid     INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    site_id TEXT    NOT NULL,
    PRIMARY KEY (site_id, rid)
) WITHOUT ROWID;
CREATE INDEX resource_site_rid ON resource_site (rid);
