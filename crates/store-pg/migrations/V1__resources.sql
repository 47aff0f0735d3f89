-- Tessera resource store, PostgreSQL schema v1: the SQLite schema of
-- crates/store/migrations/sqlite/ (0001_init + 0002_linkage) in PostgreSQL's types.
-- One row per stored resource (served as its stored JSON bytes), plus side tables:
-- fact_* = access facts (tessera_access::ResourceFacts) the Grant filter compiles against;
-- idx_* = FHIR search-parameter index (tessera_fhir::extract_index).
--
-- Every compared text column is COLLATE "C": equality and the prefix ranges of string search
-- are then byte order, exactly SQLite's BINARY, whatever the database's default collation,
-- and btree indexes serve them.

CREATE TABLE resource (
    rid                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- keyset paging key
    type               TEXT COLLATE "C" NOT NULL,
    id                 TEXT COLLATE "C" NOT NULL,
    json               BYTEA   NOT NULL,          -- served verbatim
    content_hash       BYTEA   NOT NULL,          -- SHA-256 of the content before stamping
    last_updated       BIGINT  NOT NULL,          -- unix seconds
    patient            TEXT COLLATE "C",          -- facts.patient
    date_lo            BIGINT,                    -- facts.clinical_date
    date_hi            BIGINT,
    currently_relevant BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (type, id)
);
CREATE INDEX resource_type_rid ON resource (type, rid);
CREATE INDEX resource_patient ON resource (patient, type);

-- dim: 0 = code, 1 = category, 2 = meta.security
CREATE TABLE fact_token (
    rid    BIGINT   NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    dim    SMALLINT NOT NULL,
    system TEXT COLLATE "C",
    code   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX fact_token_rid ON fact_token (rid, dim);

CREATE TABLE fact_encounter (
    rid       BIGINT NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    encounter TEXT COLLATE "C" NOT NULL
);
CREATE INDEX fact_encounter_rid ON fact_encounter (rid);

CREATE TABLE idx_token (
    rid    BIGINT NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    param  TEXT COLLATE "C" NOT NULL,
    system TEXT COLLATE "C",
    code   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX idx_token_lookup ON idx_token (param, code, rid);
CREATE INDEX idx_token_rid ON idx_token (rid);

CREATE TABLE idx_date (
    rid   BIGINT NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    param TEXT COLLATE "C" NOT NULL,
    lo    BIGINT NOT NULL,
    hi    BIGINT NOT NULL
);
CREATE INDEX idx_date_lookup ON idx_date (param, lo, hi, rid);
-- `gt`/`ge`/`sa`/`ap` bound `hi` first: without it they scan every date of the parameter
-- (PostgreSQL then ORs the two index scans in a bitmap).
CREATE INDEX idx_date_hi ON idx_date (param, hi, lo, rid);
CREATE INDEX idx_date_rid ON idx_date (rid);

CREATE TABLE idx_ref (
    rid         BIGINT NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    param       TEXT COLLATE "C" NOT NULL,
    target_type TEXT COLLATE "C" NOT NULL,
    target_id   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX idx_ref_lookup ON idx_ref (param, target_id, rid);
CREATE INDEX idx_ref_rid ON idx_ref (rid);

CREATE TABLE idx_string (
    rid   BIGINT NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    param TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL
);
CREATE INDEX idx_string_lookup ON idx_string (param, value, rid);
CREATE INDEX idx_string_rid ON idx_string (rid);

-- Sites: one per ingested bundle file; the holder profile data_holder_filter checks against.
-- `seq` keeps the source order of a site's identifiers, addresses and organizations.
CREATE TABLE site (
    site_id TEXT COLLATE "C" PRIMARY KEY,
    name    TEXT
);
CREATE TABLE site_identifier (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL REFERENCES site (site_id) ON DELETE CASCADE,
    system  TEXT,
    value   TEXT NOT NULL
);
CREATE INDEX site_identifier_site ON site_identifier (site_id, seq);
CREATE TABLE site_address (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL REFERENCES site (site_id) ON DELETE CASCADE,
    state   TEXT,
    country TEXT
);
CREATE INDEX site_address_site ON site_address (site_id, seq);
CREATE TABLE site_organization (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         TEXT COLLATE "C" NOT NULL REFERENCES site (site_id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL
);
CREATE INDEX site_organization_site ON site_organization (site_id, seq);
CREATE TABLE resource_site (
    rid     BIGINT NOT NULL REFERENCES resource (rid) ON DELETE CASCADE,
    site_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (site_id, rid)
);
CREATE INDEX resource_site_rid ON resource_site (rid);

-- Person linkage (issue 14): see crates/store/migrations/sqlite/0002_linkage.sql.
CREATE TABLE link_assertion (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT   NOT NULL,
    action  TEXT   NOT NULL CHECK (action IN ('add', 'remove')),
    record  TEXT COLLATE "C" NOT NULL,
    kind    TEXT   NOT NULL CHECK (kind IN ('record', 'identifier')),
    target  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX link_assertion_key ON link_assertion (record, kind, target, seq);

CREATE TABLE person_record (
    record_id TEXT COLLATE "C" PRIMARY KEY,
    person_id TEXT COLLATE "C" NOT NULL,
    site_id   TEXT COLLATE "C",
    status    TEXT NOT NULL CHECK (status IN ('linked', 'unlinked', 'quarantined'))
);
CREATE INDEX person_record_person ON person_record (person_id);

CREATE TABLE link_conflict (
    record_id TEXT COLLATE "C" PRIMARY KEY,
    anchors   TEXT NOT NULL
);

CREATE TABLE linkage_version (
    version     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    digest      BYTEA  NOT NULL,
    persons     BIGINT NOT NULL,
    linked      BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    cause       TEXT   NOT NULL
);

CREATE TABLE link_refusal (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT   NOT NULL,
    request TEXT   NOT NULL,
    error   TEXT   NOT NULL
);
