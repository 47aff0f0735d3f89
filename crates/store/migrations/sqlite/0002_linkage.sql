-- Tessera resource store, SQLite schema v2: person linkage (a minimal MPI, issue 14).
-- link_assertion: operator assertions, append-only (the latest row per (record, kind, target)
--   is in force; `remove` also suppresses a link found in the data). seq = its version.
-- person_record: the linkage in force, rebuilt from the data and the assertions; one row per
--   local Patient record. status: linked | unlinked | quarantined.
-- link_conflict: quarantined records and the anchors (system|value) that claim them.
-- linkage_version: one row per change of the linkage in force (digest of person_record).
-- link_refusal: operator requests refused (unknown record, unknown system, malformed), audited.

CREATE TABLE link_assertion (
    seq     INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL CHECK (action IN ('add', 'remove')),
    record  TEXT    NOT NULL,
    kind    TEXT    NOT NULL CHECK (kind IN ('record', 'identifier')),
    target  TEXT    NOT NULL
);
CREATE INDEX link_assertion_key ON link_assertion (record, kind, target, seq);

CREATE TABLE person_record (
    record_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    site_id   TEXT,
    status    TEXT NOT NULL CHECK (status IN ('linked', 'unlinked', 'quarantined'))
) WITHOUT ROWID;
CREATE INDEX person_record_person ON person_record (person_id);

CREATE TABLE link_conflict (
    record_id TEXT PRIMARY KEY,
    anchors   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE linkage_version (
    version     INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    digest      BLOB    NOT NULL,
    persons     INTEGER NOT NULL,
    linked      INTEGER NOT NULL,
    quarantined INTEGER NOT NULL,
    cause       TEXT    NOT NULL
);

CREATE TABLE link_refusal (
    seq     INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    request TEXT    NOT NULL,
    error   TEXT    NOT NULL
);
