//! The write path: a batch of resources as a handful of set-based statements (`unnest` of
//! column arrays) in one transaction, whatever its size, and site profiles.
//!
//! Outcomes are decided in memory exactly as SQLite's row-by-row writer decides them: the
//! stored content hash first, then each earlier resource of the same batch (a `(type, id)`
//! repeated in one batch is created once and then unchanged or updated). Only the last
//! content of a key is written.

use std::collections::HashMap;

use postgres::{Client, Transaction};
use tessera_access::TokenDim;
use tessera_fhir::IndexValue;
use tessera_store::sql::fact_dim;
use tessera_store::{NewResource, SiteAddress, SiteProfile, WriteOutcome};

use super::WRITE_LOCK;
use crate::error::PgError;

pub fn put_site(client: &mut Client, site: &SiteProfile) -> Result<(), PgError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
    // Every Bundle file of a site states its profile again: rewriting an equal one would cost
    // a WAL flush per file for nothing (a transaction that writes nothing commits without one).
    if stored_site(&mut tx, &site.id)?.as_ref() == Some(site) {
        tx.commit()?;
        return Ok(());
    }
    // Identifiers, addresses and organizations go with it (ON DELETE CASCADE).
    tx.execute("DELETE FROM site WHERE site_id = $1", &[&site.id])?;
    tx.execute(
        "INSERT INTO site (site_id, name) VALUES ($1, $2)",
        &[&site.id, &site.name],
    )?;
    let (systems, values): (Vec<Option<&str>>, Vec<&str>) = site
        .identifiers
        .iter()
        .map(|(s, v)| (s.as_deref(), v.as_str()))
        .unzip();
    tx.execute(
        "INSERT INTO site_identifier (site_id, system, value) \
         SELECT $1, s, v FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(s, v, n) ORDER BY n",
        &[&site.id, &systems, &values],
    )?;
    let (states, countries): (Vec<Option<&str>>, Vec<Option<&str>>) = site
        .addresses
        .iter()
        .map(|a| (a.state.as_deref(), a.country.as_deref()))
        .unzip();
    tx.execute(
        "INSERT INTO site_address (site_id, state, country) \
         SELECT $1, s, c FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(s, c, n) ORDER BY n",
        &[&site.id, &states, &countries],
    )?;
    tx.execute(
        "INSERT INTO site_organization (site_id, organization_id) \
         SELECT $1, o FROM unnest($2::text[]) WITH ORDINALITY AS u(o, n) ORDER BY n",
        &[&site.id, &site.organization_ids],
    )?;
    tx.commit()?;
    Ok(())
}

fn stored_site(tx: &mut Transaction<'_>, id: &str) -> Result<Option<SiteProfile>, PgError> {
    let Some(row) = tx.query_opt("SELECT name FROM site WHERE site_id = $1", &[&id])? else {
        return Ok(None);
    };
    let mut site = SiteProfile {
        id: id.to_owned(),
        name: row.try_get(0)?,
        ..SiteProfile::default()
    };
    for r in tx.query(
        "SELECT system, value FROM site_identifier WHERE site_id = $1 ORDER BY seq",
        &[&id],
    )? {
        site.identifiers.push((r.try_get(0)?, r.try_get(1)?));
    }
    for r in tx.query(
        "SELECT state, country FROM site_address WHERE site_id = $1 ORDER BY seq",
        &[&id],
    )? {
        site.addresses.push(SiteAddress {
            state: r.try_get(0)?,
            country: r.try_get(1)?,
        });
    }
    for r in tx.query(
        "SELECT organization_id FROM site_organization WHERE site_id = $1 ORDER BY seq",
        &[&id],
    )? {
        site.organization_ids.push(r.try_get(0)?);
    }
    Ok(Some(site))
}

/// What the batch does to one `(type, id)`.
struct Key<'a> {
    /// The stored row, or the inserted one once inserted.
    rid: Option<i64>,
    /// The content hash in force after the resources seen so far.
    hash: Option<&'a [u8]>,
    /// The resource whose content is written (none: unchanged).
    write: Option<usize>,
    /// Sites the key was ingested for in this batch.
    sites: Vec<&'a str>,
}

pub fn put_resources(
    client: &mut Client,
    resources: &[NewResource],
) -> Result<Vec<WriteOutcome>, PgError> {
    if resources.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;

    let mut stored: HashMap<(&str, &str), (i64, Vec<u8>)> = HashMap::new();
    {
        let types: Vec<&str> = resources.iter().map(|r| r.resource_type.as_str()).collect();
        let ids: Vec<&str> = resources.iter().map(|r| r.id.as_str()).collect();
        let rows = tx.query(
            "SELECT r.rid, r.type, r.id, r.content_hash FROM resource r \
             JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k(type, id) \
               ON r.type = k.type AND r.id = k.id",
            &[&types, &ids],
        )?;
        let by_key: HashMap<(&str, &str), usize> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.resource_type.as_str(), r.id.as_str()), i))
            .collect();
        for row in rows {
            let (t, id): (&str, &str) = (row.try_get(1)?, row.try_get(2)?);
            // Keys borrowed from the batch, not the row, so the map outlives the rows.
            if let Some(&i) = by_key.get(&(t, id)) {
                let r = &resources[i];
                stored.insert(
                    (r.resource_type.as_str(), r.id.as_str()),
                    (row.try_get(0)?, row.try_get(3)?),
                );
            }
        }
    }

    let mut keys: HashMap<(&str, &str), Key<'_>> = HashMap::new();
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut outcomes = Vec::with_capacity(resources.len());
    for (i, res) in resources.iter().enumerate() {
        let k = (res.resource_type.as_str(), res.id.as_str());
        let key = keys.entry(k).or_insert_with(|| {
            order.push(k);
            match stored.get(&k) {
                Some((rid, hash)) => Key {
                    rid: Some(*rid),
                    hash: Some(hash.as_slice()),
                    write: None,
                    sites: Vec::new(),
                },
                None => Key {
                    rid: None,
                    hash: None,
                    write: None,
                    sites: Vec::new(),
                },
            }
        });
        let outcome = match key.hash {
            Some(h) if h == res.content_hash => WriteOutcome::Unchanged,
            Some(_) => WriteOutcome::Updated,
            None => WriteOutcome::Created,
        };
        if outcome != WriteOutcome::Unchanged {
            key.hash = Some(&res.content_hash[..]);
            key.write = Some(i);
        }
        if let Some(site) = &res.site {
            key.sites.push(site);
        }
        outcomes.push(outcome);
    }

    let updates: Vec<(i64, usize)> = order
        .iter()
        .filter_map(|k| {
            let key = &keys[k];
            Some((key.rid?, key.write?))
        })
        .collect();
    update_rows(&mut tx, resources, &updates)?;
    let inserts: Vec<usize> = order
        .iter()
        .filter(|k| keys[*k].rid.is_none())
        .filter_map(|k| keys[k].write)
        .collect();
    for (rid, i) in insert_rows(&mut tx, resources, &inserts)? {
        let r = &resources[i];
        if let Some(key) = keys.get_mut(&(r.resource_type.as_str(), r.id.as_str())) {
            key.rid = Some(rid);
        }
    }
    let written: Vec<(i64, usize)> = order
        .iter()
        .filter_map(|k| {
            let key = &keys[k];
            Some((key.rid?, key.write?))
        })
        .collect();
    insert_side_rows(&mut tx, resources, &written)?;
    let (site_rids, site_ids): (Vec<i64>, Vec<&str>) = order
        .iter()
        .flat_map(|k| {
            let key = &keys[k];
            key.rid
                .into_iter()
                .flat_map(move |rid| key.sites.iter().map(move |s| (rid, *s)))
        })
        .unzip();
    if !site_rids.is_empty() {
        tx.execute(
            "INSERT INTO resource_site (rid, site_id) SELECT * FROM unnest($1::int8[], $2::text[]) \
             ON CONFLICT DO NOTHING",
            &[&site_rids, &site_ids],
        )?;
    }
    tx.commit()?;
    Ok(outcomes)
}

/// The resource-row columns of the batch members `which`.
struct Columns<'a> {
    types: Vec<&'a str>,
    ids: Vec<&'a str>,
    json: Vec<&'a [u8]>,
    hash: Vec<&'a [u8]>,
    last_updated: Vec<i64>,
    patient: Vec<Option<&'a str>>,
    date_lo: Vec<Option<i64>>,
    date_hi: Vec<Option<i64>>,
    relevant: Vec<bool>,
}

fn columns<'a>(resources: &'a [NewResource], which: impl Iterator<Item = usize>) -> Columns<'a> {
    let mut c = Columns {
        types: Vec::new(),
        ids: Vec::new(),
        json: Vec::new(),
        hash: Vec::new(),
        last_updated: Vec::new(),
        patient: Vec::new(),
        date_lo: Vec::new(),
        date_hi: Vec::new(),
        relevant: Vec::new(),
    };
    for i in which {
        let r = &resources[i];
        c.types.push(&r.resource_type);
        c.ids.push(&r.id);
        c.json.push(&r.json);
        c.hash.push(&r.content_hash);
        c.last_updated.push(r.last_updated);
        c.patient.push(r.facts.patient.as_deref());
        c.date_lo.push(r.facts.clinical_date.map(|d| d.0));
        c.date_hi.push(r.facts.clinical_date.map(|d| d.1));
        c.relevant.push(r.facts.currently_relevant);
    }
    c
}

fn update_rows(
    tx: &mut Transaction<'_>,
    resources: &[NewResource],
    updates: &[(i64, usize)],
) -> Result<(), PgError> {
    if updates.is_empty() {
        return Ok(());
    }
    let rids: Vec<i64> = updates.iter().map(|u| u.0).collect();
    let c = columns(resources, updates.iter().map(|u| u.1));
    tx.execute(
        "UPDATE resource r SET json = u.json, content_hash = u.hash, last_updated = u.lu, \
         patient = u.patient, date_lo = u.lo, date_hi = u.hi, currently_relevant = u.rel \
         FROM unnest($1::int8[], $2::bytea[], $3::bytea[], $4::int8[], $5::text[], $6::int8[], \
                     $7::int8[], $8::bool[]) AS u(rid, json, hash, lu, patient, lo, hi, rel) \
         WHERE r.rid = u.rid",
        &[
            &rids,
            &c.json,
            &c.hash,
            &c.last_updated,
            &c.patient,
            &c.date_lo,
            &c.date_hi,
            &c.relevant,
        ],
    )?;
    for table in [
        "fact_token",
        "fact_encounter",
        "idx_token",
        "idx_date",
        "idx_ref",
        "idx_string",
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE rid = ANY($1::int8[])"),
            &[&rids],
        )?;
    }
    Ok(())
}

/// Inserts the batch members `inserts`; returns `(rid, batch index)` of each.
fn insert_rows(
    tx: &mut Transaction<'_>,
    resources: &[NewResource],
    inserts: &[usize],
) -> Result<Vec<(i64, usize)>, PgError> {
    if inserts.is_empty() {
        return Ok(Vec::new());
    }
    let c = columns(resources, inserts.iter().copied());
    let rows = tx.query(
        "INSERT INTO resource (type, id, json, content_hash, last_updated, patient, date_lo, \
         date_hi, currently_relevant) \
         SELECT t, i, j, h, lu, p, lo, hi, rel FROM unnest($1::text[], $2::text[], $3::bytea[], \
             $4::bytea[], $5::int8[], $6::text[], $7::int8[], $8::int8[], $9::bool[]) \
             WITH ORDINALITY AS u(t, i, j, h, lu, p, lo, hi, rel, n) ORDER BY n \
         RETURNING rid, type, id",
        &[
            &c.types,
            &c.ids,
            &c.json,
            &c.hash,
            &c.last_updated,
            &c.patient,
            &c.date_lo,
            &c.date_hi,
            &c.relevant,
        ],
    )?;
    // RETURNING's order is not promised: match rows back by key.
    let by_key: HashMap<(&str, &str), usize> = inserts
        .iter()
        .map(|&i| {
            (
                (
                    resources[i].resource_type.as_str(),
                    resources[i].id.as_str(),
                ),
                i,
            )
        })
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (t, id): (&str, &str) = (row.try_get(1)?, row.try_get(2)?);
        let i = by_key
            .get(&(t, id))
            .copied()
            .ok_or_else(|| PgError::Corrupt(format!("inserted {t}/{id} not in the batch")))?;
        out.push((row.try_get(0)?, i));
    }
    Ok(out)
}

/// The facts and index rows of every written resource, one statement per table.
fn insert_side_rows(
    tx: &mut Transaction<'_>,
    resources: &[NewResource],
    written: &[(i64, usize)],
) -> Result<(), PgError> {
    let mut tok = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut enc = (Vec::new(), Vec::new());
    let mut itok = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut idate = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut iref = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut istr = (Vec::new(), Vec::new(), Vec::new());
    for &(rid, i) in written {
        let res = &resources[i];
        let facts = &res.facts;
        for (dim, tokens) in [
            (TokenDim::Code, &facts.codes),
            (TokenDim::Category, &facts.categories),
            (TokenDim::Security, &facts.security),
        ] {
            for t in tokens {
                tok.0.push(rid);
                // 0..=2: always fits.
                tok.1.push(i16::try_from(fact_dim(dim)).unwrap_or(i16::MAX));
                tok.2.push(t.system.as_deref());
                tok.3.push(t.code.as_str());
            }
        }
        for e in &facts.encounters {
            enc.0.push(rid);
            enc.1.push(e.as_str());
        }
        for entry in &res.index {
            match &entry.value {
                IndexValue::Token { system, code } => {
                    itok.0.push(rid);
                    itok.1.push(entry.param);
                    itok.2.push(system.as_deref());
                    itok.3.push(code.as_str());
                }
                IndexValue::Date(range) => {
                    idate.0.push(rid);
                    idate.1.push(entry.param);
                    idate.2.push(range.lo);
                    idate.3.push(range.hi);
                }
                IndexValue::Reference {
                    target_type,
                    target_id,
                } => {
                    iref.0.push(rid);
                    iref.1.push(entry.param);
                    iref.2.push(target_type.as_str());
                    iref.3.push(target_id.as_str());
                }
                IndexValue::String(value) => {
                    istr.0.push(rid);
                    istr.1.push(entry.param);
                    istr.2.push(value.as_str());
                }
            }
        }
    }
    if !tok.0.is_empty() {
        tx.execute(
            "INSERT INTO fact_token (rid, dim, system, code) \
             SELECT * FROM unnest($1::int8[], $2::int2[], $3::text[], $4::text[])",
            &[&tok.0, &tok.1, &tok.2, &tok.3],
        )?;
    }
    if !enc.0.is_empty() {
        tx.execute(
            "INSERT INTO fact_encounter (rid, encounter) SELECT * FROM unnest($1::int8[], $2::text[])",
            &[&enc.0, &enc.1],
        )?;
    }
    if !itok.0.is_empty() {
        tx.execute(
            "INSERT INTO idx_token (rid, param, system, code) \
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[])",
            &[&itok.0, &itok.1, &itok.2, &itok.3],
        )?;
    }
    if !idate.0.is_empty() {
        tx.execute(
            "INSERT INTO idx_date (rid, param, lo, hi) \
             SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int8[])",
            &[&idate.0, &idate.1, &idate.2, &idate.3],
        )?;
    }
    if !iref.0.is_empty() {
        tx.execute(
            "INSERT INTO idx_ref (rid, param, target_type, target_id) \
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[])",
            &[&iref.0, &iref.1, &iref.2, &iref.3],
        )?;
    }
    if !istr.0.is_empty() {
        tx.execute(
            "INSERT INTO idx_string (rid, param, value) \
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[])",
            &[&istr.0, &istr.1, &istr.2],
        )?;
    }
    Ok(())
}
