//! Person linkage in SQLite: assertions (append-only), the linkage in force (`person_record`,
//! `link_conflict`) and its version rows. The computation itself is `crate::linkage::compute`.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::StoreError;
use crate::linkage::{
    Conflict, LinkAssertion, LinkClaim, LinkRefusal, Linkage, LinkageRules, LinkageSummary,
    LinkageVersion, LinkedRecord, PersonOf, RecordStatus, compute, inputs_fingerprint,
    patient_link_facts, stored_summary,
};

pub fn append_assertion(conn: &Connection, a: &LinkAssertion) -> Result<i64, StoreError> {
    let (kind, target) = a.claim.stored();
    conn.execute(
        "INSERT INTO link_assertion (at, actor, action, record, kind, target) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![a.at, a.actor, if a.add { "add" } else { "remove" }, a.record, kind, target],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn assertions(conn: &Connection) -> Result<Vec<LinkAssertion>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, actor, action, record, kind, target FROM link_assertion ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, at, actor, action, record, kind, target) = row?;
        if let Some(claim) = LinkClaim::from_stored(&kind, &target) {
            out.push(LinkAssertion {
                seq,
                at,
                actor,
                add: action == "add",
                record,
                claim,
            });
        }
    }
    Ok(out)
}

fn patients(conn: &Connection) -> Result<Vec<crate::linkage::PatientLinkFacts>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.json, (SELECT MIN(s.site_id) FROM resource_site s WHERE s.rid = r.rid) \
         FROM resource r WHERE r.type = 'Patient' ORDER BY r.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, json, site) = row?;
        let value = serde_json::from_slice(&json).unwrap_or(serde_json::Value::Null);
        out.push(patient_link_facts(&id, site.as_deref(), &value));
    }
    Ok(out)
}

pub fn records(conn: &Connection) -> Result<Vec<LinkedRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, person_id, site_id, status FROM person_record ORDER BY record_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (record, person, site, status) = row?;
        out.push(LinkedRecord {
            record,
            person,
            site,
            status: RecordStatus::parse(&status).unwrap_or(RecordStatus::Quarantined),
        });
    }
    Ok(out)
}

pub fn conflicts(conn: &Connection) -> Result<Vec<Conflict>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT record_id, anchors FROM link_conflict ORDER BY record_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (record, anchors) = row?;
        out.push(Conflict {
            record,
            anchors: serde_json::from_str(&anchors).unwrap_or_default(),
        });
    }
    Ok(out)
}

pub fn versions(conn: &Connection, limit: usize) -> Result<Vec<LinkageVersion>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, at, persons, linked, quarantined, cause FROM linkage_version \
         ORDER BY version DESC LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map([limit], |r| {
        Ok(LinkageVersion {
            version: r.get(0)?,
            at: r.get(1)?,
            persons: r.get(2)?,
            linked: r.get(3)?,
            quarantined: r.get(4)?,
            cause: r.get(5)?,
        })
    })?;
    rows.map(|r| r.map_err(StoreError::from)).collect()
}

/// Recomputes the linkage and, when it differs from the one in force, replaces it and
/// appends a version row — all in one transaction.
pub fn rebuild(
    conn: &mut Connection,
    rules: &LinkageRules,
    now: i64,
    cause: &str,
) -> Result<LinkageSummary, StoreError> {
    // Immediate: the inputs read below and the linkage written from them are one snapshot,
    // even beside an ingest in another process.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let fingerprint = inputs(&tx, rules)?;
    let stored: Option<Vec<u8>> = tx.query_row(
        "SELECT fingerprint FROM linkage_input WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    if stored.as_deref() == Some(fingerprint.as_slice()) {
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM linkage_version",
            [],
            |r| r.get(0),
        )?;
        // Counted, not loaded: a warm start reads no more than the conflicts.
        let (persons, linked): (i64, i64) = tx.query_row(
            "SELECT COUNT(DISTINCT person_id), COUNT(*) FROM person_record WHERE status = 'linked'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let summary = stored_summary(version, persons, linked, conflicts(&tx)?);
        tx.commit()?;
        return Ok(summary);
    }
    let previous: BTreeMap<String, String> = records(&tx)?
        .into_iter()
        .map(|r| (r.record, r.person))
        .collect();
    let linkage: Linkage = compute(&patients(&tx)?, &assertions(&tx)?, rules, &previous);
    let hash = linkage.digest();
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT version, digest FROM linkage_version ORDER BY version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
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
    tx.execute(
        "UPDATE linkage_input SET fingerprint = ?1 WHERE id = 1",
        [&fingerprint],
    )?;
    if last.as_ref().is_some_and(|l| l.1 == hash) {
        tx.commit()?;
        return Ok(summary);
    }
    tx.execute("DELETE FROM person_record", [])?;
    tx.execute("DELETE FROM link_conflict", [])?;
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO person_record (record_id, person_id, site_id, status) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for r in &linkage.records {
            ins.execute(params![r.record, r.person, r.site, r.status.as_str()])?;
        }
        let mut ins =
            tx.prepare_cached("INSERT INTO link_conflict (record_id, anchors) VALUES (?1, ?2)")?;
        for c in &linkage.conflicts {
            ins.execute(params![
                c.record,
                serde_json::to_string(&c.anchors).unwrap_or_default()
            ])?;
        }
    }
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO linkage_version (at, digest, persons, linked, quarantined, cause) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            now,
            hash,
            count(summary.persons),
            count(linked),
            count(linkage.conflicts.len()),
            cause
        ],
    )?;
    summary.version = tx.last_insert_rowid();
    summary.changed = true;
    tx.commit()?;
    Ok(summary)
}

/// [`inputs_fingerprint`] of the stored inputs: the Patient change counter the triggers keep
/// (migration 0003), the latest assertion, the rules.
fn inputs(conn: &Connection, rules: &LinkageRules) -> Result<Vec<u8>, StoreError> {
    let changes: i64 = conn.query_row(
        "SELECT patient_changes FROM linkage_input WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let last: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM link_assertion",
        [],
        |r| r.get(0),
    )?;
    Ok(inputs_fingerprint(&[changes], last, rules))
}

pub fn person_of(conn: &Connection, record: &str) -> Result<PersonOf, StoreError> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT person_id, status FROM person_record WHERE record_id = ?1")?
        .query_row([record], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((person, status)) = row else {
        // Not in the linkage yet (ingested since the last rebuild): a person of one record.
        let site: Option<Option<String>> = conn
            .prepare_cached(
                "SELECT (SELECT MIN(s.site_id) FROM resource_site s WHERE s.rid = r.rid) \
                 FROM resource r WHERE r.type = 'Patient' AND r.id = ?1",
            )?
            .query_row([record], |r| r.get(0))
            .optional()?;
        return Ok(match site {
            None => PersonOf::Unknown,
            Some(site) => PersonOf::Person {
                id: record.to_owned(),
                records: vec![(record.to_owned(), site)],
            },
        });
    };
    if status == RecordStatus::Quarantined.as_str() {
        let anchors: Option<String> = conn
            .prepare_cached("SELECT anchors FROM link_conflict WHERE record_id = ?1")?
            .query_row([record], |r| r.get(0))
            .optional()?;
        return Ok(PersonOf::Quarantined(Conflict {
            record: record.to_owned(),
            anchors: anchors
                .and_then(|a| serde_json::from_str(&a).ok())
                .unwrap_or_default(),
        }));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, site_id FROM person_record WHERE person_id = ?1 ORDER BY record_id",
    )?;
    let records = stmt
        .query_map([&person], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, Option<String>)>, _>>()?;
    Ok(PersonOf::Person {
        id: person,
        records,
    })
}

pub fn append_refusal(conn: &Connection, r: &LinkRefusal) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO link_refusal (at, actor, request, error) VALUES (?1, ?2, ?3, ?4)",
        params![r.at, r.actor, r.request, r.error],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn refusals(conn: &Connection, limit: usize) -> Result<Vec<LinkRefusal>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, actor, request, error FROM link_refusal ORDER BY seq DESC LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map([limit], |r| {
        Ok(LinkRefusal {
            at: r.get(0)?,
            actor: r.get(1)?,
            request: r.get(2)?,
            error: r.get(3)?,
        })
    })?;
    rows.map(|r| r.map_err(StoreError::from)).collect()
}
