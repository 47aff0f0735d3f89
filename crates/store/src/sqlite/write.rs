//! The write path: upserting resources with their facts and index rows, and site profiles.

use rusqlite::{Connection, OptionalExtension, params};
use tessera_access::TokenDim;
use tessera_fhir::IndexValue;

use crate::error::StoreError;
use crate::model::{NewResource, SiteProfile, WriteOutcome};
use crate::sql::fact_dim;

pub fn put_site(conn: &mut Connection, site: &SiteProfile) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM site WHERE site_id = ?1", [&site.id])?;
    tx.execute(
        "INSERT INTO site (site_id, name) VALUES (?1, ?2)",
        params![site.id, site.name],
    )?;
    for (system, value) in &site.identifiers {
        tx.execute(
            "INSERT INTO site_identifier (site_id, system, value) VALUES (?1, ?2, ?3)",
            params![site.id, system, value],
        )?;
    }
    for a in &site.addresses {
        tx.execute(
            "INSERT INTO site_address (site_id, state, country) VALUES (?1, ?2, ?3)",
            params![site.id, a.state, a.country],
        )?;
    }
    for org in &site.organization_ids {
        tx.execute(
            "INSERT INTO site_organization (site_id, organization_id) VALUES (?1, ?2)",
            params![site.id, org],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub fn put_resources(
    conn: &mut Connection,
    resources: &[NewResource],
) -> Result<Vec<WriteOutcome>, StoreError> {
    let tx = conn.transaction()?;
    let mut outcomes = Vec::with_capacity(resources.len());
    for res in resources {
        outcomes.push(put_one(&tx, res)?);
    }
    tx.commit()?;
    Ok(outcomes)
}

fn put_one(tx: &Connection, res: &NewResource) -> Result<WriteOutcome, StoreError> {
    let existing: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT rid, content_hash FROM resource WHERE type = ?1 AND id = ?2")?
        .query_row(params![res.resource_type, res.id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let facts = &res.facts;
    let (date_lo, date_hi) = match facts.clinical_date {
        Some((lo, hi)) => (Some(lo), Some(hi)),
        None => (None, None),
    };
    let (rid, outcome) = match existing {
        Some((rid, hash)) if hash == res.content_hash => {
            add_site(tx, rid, res)?;
            return Ok(WriteOutcome::Unchanged);
        }
        Some((rid, _)) => {
            tx.prepare_cached(
                "UPDATE resource SET json = ?2, content_hash = ?3, last_updated = ?4, patient = ?5, \
                 date_lo = ?6, date_hi = ?7, currently_relevant = ?8 WHERE rid = ?1",
            )?
            .execute(params![
                rid,
                res.json,
                &res.content_hash[..],
                res.last_updated,
                facts.patient,
                date_lo,
                date_hi,
                facts.currently_relevant
            ])?;
            for table in [
                "fact_token",
                "fact_encounter",
                "idx_token",
                "idx_date",
                "idx_ref",
                "idx_string",
            ] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE rid = ?1"))?
                    .execute([rid])?;
            }
            (rid, WriteOutcome::Updated)
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO resource (type, id, json, content_hash, last_updated, patient, date_lo, \
                 date_hi, currently_relevant) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                res.resource_type,
                res.id,
                res.json,
                &res.content_hash[..],
                res.last_updated,
                facts.patient,
                date_lo,
                date_hi,
                facts.currently_relevant
            ])?;
            (tx.last_insert_rowid(), WriteOutcome::Created)
        }
    };
    add_site(tx, rid, res)?;
    let mut token = tx.prepare_cached(
        "INSERT INTO fact_token (rid, dim, system, code) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (dim, tokens) in [
        (TokenDim::Code, &facts.codes),
        (TokenDim::Category, &facts.categories),
        (TokenDim::Security, &facts.security),
    ] {
        for t in tokens {
            token.execute(params![rid, fact_dim(dim), t.system, t.code])?;
        }
    }
    let mut enc =
        tx.prepare_cached("INSERT INTO fact_encounter (rid, encounter) VALUES (?1, ?2)")?;
    for e in &facts.encounters {
        enc.execute(params![rid, e])?;
    }
    for entry in &res.index {
        match &entry.value {
            IndexValue::Token { system, code } => tx
                .prepare_cached("INSERT INTO idx_token (rid, param, system, code) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![rid, entry.param, system, code])?,
            IndexValue::Date(range) => tx
                .prepare_cached("INSERT INTO idx_date (rid, param, lo, hi) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![rid, entry.param, range.lo, range.hi])?,
            IndexValue::Reference { target_type, target_id } => tx
                .prepare_cached("INSERT INTO idx_ref (rid, param, target_type, target_id) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![rid, entry.param, target_type, target_id])?,
            IndexValue::String(value) => tx
                .prepare_cached("INSERT INTO idx_string (rid, param, value) VALUES (?1, ?2, ?3)")?
                .execute(params![rid, entry.param, value])?,
        };
    }
    Ok(outcome)
}

fn add_site(tx: &Connection, rid: i64, res: &NewResource) -> Result<(), StoreError> {
    if let Some(site) = &res.site {
        tx.prepare_cached("INSERT OR IGNORE INTO resource_site (rid, site_id) VALUES (?1, ?2)")?
            .execute(params![rid, site])?;
    }
    Ok(())
}
