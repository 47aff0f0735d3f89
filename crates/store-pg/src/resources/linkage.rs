//! Person linkage in PostgreSQL: assertions (append-only), the linkage in force
//! (`person_record`, `link_conflict`) and its version rows, as the SQLite backend keeps them.
//! The computation itself is `tessera_store::linkage::compute`.

use std::collections::BTreeMap;

use postgres::types::{ToSql, Type};
use postgres::{Client, GenericClient, Row};
use tessera_store::linkage::{
    Conflict, LinkAssertion, LinkClaim, LinkRefusal, Linkage, LinkageRules, LinkageSummary,
    LinkageVersion, LinkedRecord, PatientLinkFacts, PersonOf, RecordStatus, compute,
    inputs_fingerprint, patient_link_facts, stored_summary,
};

use crate::async_pool::AsyncClient;
use crate::error::PgError;
use crate::pool::PooledClient;

/// Key of the transaction-scoped advisory lock a rebuild holds: two nodes rebuilding at once
/// take turns, so the second sees the first's result and writes no duplicate version.
const LINKAGE_LOCK: i64 = 0x7465_7373_006c_6e6b;

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn append_assertion(client: &mut Client, a: &LinkAssertion) -> Result<i64, PgError> {
    let (kind, target) = a.claim.stored();
    let action = if a.add { "add" } else { "remove" };
    let row = client.query_one(
        "INSERT INTO link_assertion (at, actor, action, record, kind, target) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
        &[&a.at, &a.actor, &action, &a.record, &kind, &target],
    )?;
    Ok(row.try_get(0)?)
}

pub fn assertions(client: &mut impl GenericClient) -> Result<Vec<LinkAssertion>, PgError> {
    let rows = client.query(
        "SELECT seq, at, actor, action, record, kind, target FROM link_assertion ORDER BY seq",
        &[],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let (kind, target): (&str, &str) = (r.try_get(5)?, r.try_get(6)?);
        if let Some(claim) = LinkClaim::from_stored(kind, target) {
            out.push(LinkAssertion {
                seq: r.try_get(0)?,
                at: r.try_get(1)?,
                actor: r.try_get(2)?,
                add: r.try_get::<_, &str>(3)? == "add",
                record: r.try_get(4)?,
                claim,
            });
        }
    }
    Ok(out)
}

fn patients(client: &mut impl GenericClient) -> Result<Vec<PatientLinkFacts>, PgError> {
    let rows = client.query(
        "SELECT r.id, r.json, (SELECT MIN(s.site_id) FROM resource_site s WHERE s.rid = r.rid) \
         FROM resource r WHERE r.type = 'Patient' ORDER BY r.id",
        &[],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (id, json, site): (&str, &[u8], Option<&str>) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let value = serde_json::from_slice(json).unwrap_or(serde_json::Value::Null);
        out.push(patient_link_facts(id, site, &value));
    }
    Ok(out)
}

pub fn records(client: &mut impl GenericClient) -> Result<Vec<LinkedRecord>, PgError> {
    let rows = client.query(
        "SELECT record_id, person_id, site_id, status FROM person_record ORDER BY record_id",
        &[],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(LinkedRecord {
            record: r.try_get(0)?,
            person: r.try_get(1)?,
            site: r.try_get(2)?,
            status: RecordStatus::parse(r.try_get(3)?).unwrap_or(RecordStatus::Quarantined),
        });
    }
    Ok(out)
}

pub fn conflicts(client: &mut impl GenericClient) -> Result<Vec<Conflict>, PgError> {
    let rows = client.query(
        "SELECT record_id, anchors FROM link_conflict ORDER BY record_id",
        &[],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(Conflict {
            record: r.try_get(0)?,
            anchors: serde_json::from_str(r.try_get(1)?).unwrap_or_default(),
        });
    }
    Ok(out)
}

pub fn versions(client: &mut Client, limit: usize) -> Result<Vec<LinkageVersion>, PgError> {
    let rows = client.query(
        "SELECT version, at, persons, linked, quarantined, cause FROM linkage_version \
         ORDER BY version DESC LIMIT $1",
        &[&count(limit)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(LinkageVersion {
                version: r.try_get(0)?,
                at: r.try_get(1)?,
                persons: r.try_get(2)?,
                linked: r.try_get(3)?,
                quarantined: r.try_get(4)?,
                cause: r.try_get(5)?,
            })
        })
        .collect()
}

/// Recomputes the linkage and, when it differs from the one in force, replaces it and
/// appends a version row — all in one transaction.
pub fn rebuild(
    client: &mut Client,
    rules: &LinkageRules,
    now: i64,
    cause: &str,
) -> Result<LinkageSummary, PgError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LINKAGE_LOCK])?;
    // Read first: under READ COMMITTED a change committed after this read and seen by the
    // Patient read below only makes the next start rebuild again, never skip one it needs.
    let fingerprint = inputs(&mut tx, rules)?;
    let stored: Option<Vec<u8>> = tx
        .query_one("SELECT fingerprint FROM linkage_input WHERE id = 1", &[])?
        .try_get(0)?;
    if stored.as_deref() == Some(fingerprint.as_slice()) {
        let version: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM linkage_version",
                &[],
            )?
            .try_get(0)?;
        // Counted, not loaded: a warm start reads no more than the conflicts.
        let row = tx.query_one(
            "SELECT COUNT(DISTINCT person_id)::BIGINT, COUNT(*)::BIGINT FROM person_record \
             WHERE status = 'linked'",
            &[],
        )?;
        let (persons, linked): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let summary = stored_summary(version, persons, linked, conflicts(&mut tx)?);
        tx.commit()?;
        return Ok(summary);
    }
    tx.execute(
        "UPDATE linkage_input SET fingerprint = $1 WHERE id = 1",
        &[&fingerprint],
    )?;
    let previous: BTreeMap<String, String> = records(&mut tx)?
        .into_iter()
        .map(|r| (r.record, r.person))
        .collect();
    let linkage: Linkage = compute(&patients(&mut tx)?, &assertions(&mut tx)?, rules, &previous);
    let hash = linkage.digest();
    let last = tx.query_opt(
        "SELECT version, digest FROM linkage_version ORDER BY version DESC LIMIT 1",
        &[],
    )?;
    let last: Option<(i64, Vec<u8>)> = match last {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    };
    let linked = linkage
        .records
        .iter()
        .filter(|r| r.status == RecordStatus::Linked)
        .count();
    let mut summary = LinkageSummary {
        version: last.as_ref().map_or(0, |l| l.0),
        changed: false,
        persons: linkage.linked_persons(),
        linked,
        conflicts: linkage.conflicts.clone(),
        warnings: linkage.warnings.clone(),
        recomputed: true,
    };
    if last.as_ref().is_some_and(|l| l.1 == hash) {
        tx.commit()?;
        return Ok(summary);
    }
    tx.execute("DELETE FROM person_record", &[])?;
    tx.execute("DELETE FROM link_conflict", &[])?;
    let record_ids: Vec<&str> = linkage.records.iter().map(|r| r.record.as_str()).collect();
    let persons: Vec<&str> = linkage.records.iter().map(|r| r.person.as_str()).collect();
    let sites: Vec<Option<&str>> = linkage.records.iter().map(|r| r.site.as_deref()).collect();
    let statuses: Vec<&str> = linkage.records.iter().map(|r| r.status.as_str()).collect();
    tx.execute(
        "INSERT INTO person_record (record_id, person_id, site_id, status) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])",
        &[&record_ids, &persons, &sites, &statuses],
    )?;
    let conflict_records: Vec<&str> = linkage
        .conflicts
        .iter()
        .map(|c| c.record.as_str())
        .collect();
    let anchors: Vec<String> = linkage
        .conflicts
        .iter()
        .map(|c| serde_json::to_string(&c.anchors).unwrap_or_default())
        .collect();
    tx.execute(
        "INSERT INTO link_conflict (record_id, anchors) SELECT * FROM unnest($1::text[], $2::text[])",
        &[&conflict_records, &anchors],
    )?;
    let row = tx.query_one(
        "INSERT INTO linkage_version (at, digest, persons, linked, quarantined, cause) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING version",
        &[
            &now,
            &hash,
            &count(summary.persons),
            &count(linked),
            &count(linkage.conflicts.len()),
            &cause,
        ],
    )?;
    summary.version = row.try_get(0)?;
    summary.changed = true;
    tx.commit()?;
    Ok(summary)
}

/// [`inputs_fingerprint`] of the stored inputs: the committed Patient changes the triggers
/// record (migration V5), the latest assertion, the rules.
fn inputs(client: &mut impl GenericClient, rules: &LinkageRules) -> Result<Vec<u8>, PgError> {
    let row = client.query_one(
        "SELECT COUNT(*)::BIGINT, COALESCE(MAX(id), 0)::BIGINT FROM linkage_patient_change",
        &[],
    )?;
    let (count, max): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let last: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM link_assertion",
            &[],
        )?
        .try_get(0)?;
    Ok(inputs_fingerprint(&[count, max], last, rules))
}

/// The record's row and its person's records, in one round trip: every redemption asks this
/// (subject resolution), so it is a statement kept on the connection, and the person's records
/// ride on the record's row instead of following in a second query.
const PERSON_OF: &str = "SELECT p.person_id, p.status, q.record_id, q.site_id \
     FROM person_record p LEFT JOIN person_record q ON q.person_id = p.person_id \
     WHERE p.record_id = $1 ORDER BY q.record_id";

/// A record's site, for a record not in the linkage yet.
const SITE_OF: &str = "SELECT (SELECT MIN(s.site_id) FROM resource_site s WHERE s.rid = r.rid) \
     FROM resource r WHERE r.type = 'Patient' AND r.id = $1";

/// A quarantined record's anchors.
const ANCHORS_OF: &str = "SELECT anchors FROM link_conflict WHERE record_id = $1";

/// What [`PERSON_OF`]'s rows say, or which statement must answer instead.
enum PersonRows {
    Known(PersonOf),
    /// Not in the linkage yet (ingested since the last rebuild): [`SITE_OF`] decides.
    Unlinked,
    /// Quarantined: [`ANCHORS_OF`] gives the conflict's anchors.
    Quarantined,
}

fn person_rows(rows: &[Row]) -> Result<PersonRows, PgError> {
    let Some(first) = rows.first() else {
        return Ok(PersonRows::Unlinked);
    };
    let (person, status): (String, String) = (first.try_get(0)?, first.try_get(1)?);
    if status == RecordStatus::Quarantined.as_str() {
        return Ok(PersonRows::Quarantined);
    }
    // The join always meets the record itself (same person), so every row has a record.
    let records = rows
        .iter()
        .map(|r| Ok((r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<Vec<(String, Option<String>)>, PgError>>()?;
    Ok(PersonRows::Known(PersonOf::Person {
        id: person,
        records,
    }))
}

/// An unlinked record is a person of one record, or unknown (from [`SITE_OF`]'s row).
fn unlinked(record: &str, site: Option<&Row>) -> Result<PersonOf, PgError> {
    Ok(match site {
        None => PersonOf::Unknown,
        Some(site) => PersonOf::Person {
            id: record.to_owned(),
            records: vec![(record.to_owned(), site.try_get(0)?)],
        },
    })
}

/// A quarantined record's conflict (from [`ANCHORS_OF`]'s row).
fn quarantined(record: &str, anchors: Option<&Row>) -> Result<PersonOf, PgError> {
    let anchors = match anchors {
        Some(r) => serde_json::from_str(r.try_get(0)?).unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(PersonOf::Quarantined(Conflict {
        record: record.to_owned(),
        anchors,
    }))
}

pub fn person_of(client: &mut PooledClient<'_>, record: &str) -> Result<PersonOf, PgError> {
    let param = [(&record as &(dyn ToSql + Sync), Type::TEXT)];
    match person_rows(&client.query_kept(PERSON_OF, &param)?)? {
        PersonRows::Known(p) => Ok(p),
        PersonRows::Unlinked => unlinked(record, client.query_typed_opt(SITE_OF, &param)?.as_ref()),
        PersonRows::Quarantined => {
            quarantined(record, client.query_typed_opt(ANCHORS_OF, &param)?.as_ref())
        }
    }
}

/// [`person_of`] on an asynchronous read connection (the token endpoint's subject step).
pub async fn person_of_async(
    client: &mut AsyncClient<'_>,
    record: &str,
) -> Result<PersonOf, PgError> {
    let param = [(&record as &(dyn ToSql + Sync), Type::TEXT)];
    match person_rows(&client.query_kept(PERSON_OF, &param).await?)? {
        PersonRows::Known(p) => Ok(p),
        PersonRows::Unlinked => {
            let rows = client.query_typed(SITE_OF, &param).await?;
            unlinked(record, rows.first())
        }
        PersonRows::Quarantined => {
            let rows = client.query_typed(ANCHORS_OF, &param).await?;
            quarantined(record, rows.first())
        }
    }
}

pub fn append_refusal(client: &mut Client, r: &LinkRefusal) -> Result<i64, PgError> {
    let row = client.query_one(
        "INSERT INTO link_refusal (at, actor, request, error) VALUES ($1, $2, $3, $4) \
         RETURNING seq",
        &[&r.at, &r.actor, &r.request, &r.error],
    )?;
    Ok(row.try_get(0)?)
}

pub fn refusals(client: &mut Client, limit: usize) -> Result<Vec<LinkRefusal>, PgError> {
    let rows = client.query(
        "SELECT at, actor, request, error FROM link_refusal ORDER BY seq DESC LIMIT $1",
        &[&count(limit)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(LinkRefusal {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                request: r.try_get(2)?,
                error: r.try_get(3)?,
            })
        })
        .collect()
}
