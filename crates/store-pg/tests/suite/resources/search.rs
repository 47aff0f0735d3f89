//! Search semantics on every backend, checked against the generated JSON through the store
//! crate's independent reference (`expect.rs`): every parameter of every type, token and
//! string semantics, date prefixes, paging and totals, per-site scope.

use std::collections::BTreeSet;

use serde_json::Value;
use tessera_access::Filter;
use tessera_fhir::{DatePrefix, RESOURCES, parse_date_range, parse_search};
use tessera_store::{ResourceStore, Scope};

use super::{all, data, ids, loaded, matching, search_page};
use crate::expect::{matches, values_of};

/// Parameters the data set never populates (as in the store crate's search test).
const UNPOPULATED: &[(&str, &str)] = &[
    ("AllergyIntolerance", "identifier"),
    ("Condition", "identifier"),
    ("DiagnosticReport", "identifier"),
    ("DocumentReference", "identifier"),
    ("Encounter", "identifier"),
    ("Immunization", "identifier"),
    ("Location", "identifier"),
    ("MedicationRequest", "date"),
    ("MedicationRequest", "identifier"),
    ("Observation", "identifier"),
    ("Practitioner", "gender"),
    ("Procedure", "category"),
    ("Procedure", "identifier"),
    ("ServiceRequest", "identifier"),
];

#[test]
fn every_parameter_of_every_type_matches_the_json_on_every_backend() {
    let resources = data().resources();
    for (name, store) in &loaded().stores {
        let mut checked = 0;
        let mut pinned_hits = 0;
        let mut empty = BTreeSet::new();
        // Grants pinned to a patient compile a clause as a probe by row instead of an `IN`
        // list (`tessera_store::sql::Probe`): the same matches, within the compartment.
        let patients = ids(&all(
            store.as_ref(),
            Scope::Network,
            "Patient",
            &[],
            &Filter::All,
        ));
        let pinned: Vec<Filter> = [patients.first(), patients.get(1), patients.last()]
            .into_iter()
            .flatten()
            .map(|p| Filter::And(vec![Filter::PatientIs(p.clone())]))
            .collect();
        for def in RESOURCES {
            let rtype = def.resource_type;
            let of_type: Vec<&Value> = resources
                .iter()
                .filter(|r| r["resourceType"] == rtype)
                .collect();
            for param in def.params {
                let carriers: Vec<&Value> = of_type
                    .iter()
                    .copied()
                    .filter(|r| !values_of(param, r).is_empty())
                    .collect();
                let mut values = BTreeSet::new();
                for r in [carriers.first(), carriers.last()].into_iter().flatten() {
                    values.extend(values_of(param, r).into_iter().take(2));
                }
                if param.target.is_some()
                    && let Some(v) = values.iter().next().cloned()
                {
                    values.insert(v.rsplit('/').next().unwrap().to_owned());
                }
                if values.is_empty() {
                    empty.insert((rtype, param.name));
                    continue;
                }
                for value in values {
                    let mut want: Vec<String> = of_type
                        .iter()
                        .filter(|r| matches(param, &value, r))
                        .map(|r| r["id"].as_str().unwrap().to_owned())
                        .collect();
                    want.sort();
                    assert!(!want.is_empty(), "{name}: {rtype}?{}={value}", param.name);
                    let got = ids(&all(
                        store.as_ref(),
                        Scope::Network,
                        rtype,
                        &[(param.name, &value)],
                        &Filter::All,
                    ));
                    assert_eq!(got, want, "{name}: {rtype}?{}={value}", param.name);
                    checked += 1;
                    for grant in &pinned {
                        let compartment: BTreeSet<String> =
                            ids(&all(store.as_ref(), Scope::Network, rtype, &[], grant))
                                .into_iter()
                                .collect();
                        let want_pinned: Vec<String> = want
                            .iter()
                            .filter(|id| compartment.contains(*id))
                            .cloned()
                            .collect();
                        let got_pinned = ids(&all(
                            store.as_ref(),
                            Scope::Network,
                            rtype,
                            &[(param.name, &value)],
                            grant,
                        ));
                        assert_eq!(
                            got_pinned, want_pinned,
                            "{name}: {rtype}?{}={value} under {grant:?}",
                            param.name
                        );
                        pinned_hits += usize::from(!got_pinned.is_empty());
                    }
                }
            }
        }
        assert_eq!(
            empty,
            UNPOPULATED.iter().copied().collect::<BTreeSet<_>>(),
            "{name}"
        );
        assert!(checked > 100, "{name}: {checked}");
        assert!(
            pinned_hits > 30,
            "{name}: {pinned_hits} non-empty pinned searches"
        );
    }
}

#[test]
fn tokens_and_strings_follow_fhir_semantics_on_every_backend() {
    let d = data();
    let p0 = &d.manifest["patient_records"][0];
    let family = p0["family"].as_str().unwrap();
    for (name, store) in &loaded().stores {
        let s = store.as_ref();
        let obs = all(s, Scope::Network, "Observation", &[], &Filter::All);
        let search =
            |q: &[(&str, &str)]| ids(&all(s, Scope::Network, "Observation", q, &Filter::All));
        let loinc = matching(&obs, |r| {
            r["code"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["system"] == "http://loinc.org" && c["code"] == "4548-4")
        });
        assert!(!loinc.is_empty(), "{name}");
        assert_eq!(
            search(&[("code", "http://loinc.org|4548-4")]),
            loinc,
            "{name}"
        );
        assert_eq!(search(&[("code", "4548-4")]), loinc, "{name}");
        assert!(
            search(&[("code", "|4548-4")]).is_empty(),
            "{name}: |code = no system"
        );
        assert!(
            search(&[("code", "http://snomed.info/sct|4548-4")]).is_empty(),
            "{name}"
        );

        let pats = all(s, Scope::Network, "Patient", &[], &Filter::All);
        let psearch = |q: &[(&str, &str)]| ids(&all(s, Scope::Network, "Patient", q, &Filter::All));
        let same_family = matching(&pats, |r| r["name"][0]["family"] == family);
        assert!(same_family.len() >= 2, "{name}");
        assert_eq!(
            psearch(&[("family", &family.to_uppercase())]),
            same_family,
            "{name}"
        );
        let prefix = family[..3].to_lowercase();
        assert_eq!(
            psearch(&[("family", &prefix)]),
            matching(&pats, |r| r["name"][0]["family"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .starts_with(&prefix)),
            "{name}: string search is a case-insensitive prefix"
        );
        assert!(psearch(&[("family", "zzzz")]).is_empty(), "{name}");
        assert!(psearch(&[("identifier", "no-such")]).is_empty(), "{name}");
    }
}

#[test]
fn date_prefixes_match_the_reference_semantics_on_every_backend() {
    for (name, store) in &loaded().stores {
        let s = store.as_ref();
        let obs = all(s, Scope::Network, "Observation", &[], &Filter::All);
        let first = obs
            .iter()
            .find_map(|r| r["effectiveDateTime"].as_str())
            .unwrap()
            .to_owned();
        for value in ["2021", "2023-03-01T00:00:00Z", &first[..10], &first] {
            for (p, prefix) in [
                ("", DatePrefix::Eq),
                ("ne", DatePrefix::Ne),
                ("gt", DatePrefix::Gt),
                ("lt", DatePrefix::Lt),
                ("ge", DatePrefix::Ge),
                ("le", DatePrefix::Le),
                ("sa", DatePrefix::Sa),
                ("eb", DatePrefix::Eb),
                ("ap", DatePrefix::Ap),
            ] {
                let search = parse_date_range(value).unwrap();
                let want = matching(&obs, |r| {
                    ["effectiveDateTime", "effectiveInstant"]
                        .iter()
                        .filter_map(|k| r[*k].as_str())
                        .chain(r["effectivePeriod"]["start"].as_str())
                        .any(|d| prefix.matches(search, parse_date_range(d).unwrap()))
                });
                let q = format!("{p}{value}");
                let got = ids(&all(
                    s,
                    Scope::Network,
                    "Observation",
                    &[("date", &q)],
                    &Filter::All,
                ));
                assert_eq!(got, want, "{name}: date={q}");
            }
        }
        assert!(
            all(
                s,
                Scope::Network,
                "Observation",
                &[("_lastUpdated", "lt2025")],
                &Filter::All
            )
            .is_empty(),
            "{name}"
        );
        assert_eq!(
            all(
                s,
                Scope::Network,
                "Observation",
                &[("_lastUpdated", "2026-01-01")],
                &Filter::All
            )
            .len(),
            obs.len(),
            "{name}"
        );
    }
}

fn query(rtype: &str, pairs: &[(&str, &str)]) -> tessera_fhir::SearchQuery {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    parse_search(rtype, &pairs).unwrap()
}

/// Walks every page of `q`; returns the ids in paging order and each page's total.
fn pages(
    store: &dyn ResourceStore,
    scope: Scope<'_>,
    mut q: tessera_fhir::SearchQuery,
    grant: &Filter,
) -> (Vec<String>, Vec<u64>, usize) {
    let (mut seen, mut totals, mut n) = (Vec::new(), Vec::new(), 0);
    loop {
        let page = search_page(store, scope, &q, grant);
        n += 1;
        totals.push(page.total.expect("counted unless _total=none"));
        assert!(page.resources.len() <= q.count as usize);
        seen.extend(page.resources.iter().map(|e| e.id.clone()));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return (seen, totals, n),
        }
    }
}

#[test]
fn paging_totals_and_site_scope_agree_on_every_backend() {
    let d = data();
    let pid = d.patient_id(0);
    let grant = Filter::PatientIs(pid.clone());
    let mut per_backend = Vec::new();
    let loaded = loaded();
    for (name, store) in &loaded.stores {
        let s = store.as_ref();
        let everything = ids(&all(s, Scope::Network, "Observation", &[], &grant));
        assert!(everything.len() > 7, "{name}: {}", everything.len());
        let (seen, totals, n) = pages(
            s,
            Scope::Network,
            query("Observation", &[("_count", "7")]),
            &grant,
        );
        assert_eq!(n, everything.len().div_ceil(7), "{name}: pages of 7");
        assert!(
            totals.iter().all(|t| *t == everything.len() as u64),
            "{name}: {totals:?}"
        );
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, everything, "{name}: every match exactly once");
        let summary = search_page(
            s,
            Scope::Network,
            &query("Observation", &[("_summary", "count")]),
            &grant,
        );
        assert_eq!(summary.total, Some(everything.len() as u64), "{name}");
        // `_total=none`: the same pages, nothing counted (and `_summary=count` still counts).
        let mut q = query("Observation", &[("_count", "7"), ("_total", "none")]);
        let mut uncounted = Vec::new();
        loop {
            let page = search_page(s, Scope::Network, &q, &grant);
            assert_eq!(page.total, None, "{name}");
            uncounted.extend(page.resources.iter().map(|e| e.id.clone()));
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(uncounted, seen, "{name}: _total=none pages the same");
        let counted = search_page(
            s,
            Scope::Network,
            &query("Observation", &[("_summary", "count"), ("_total", "none")]),
            &grant,
        );
        assert_eq!(counted.total, Some(everything.len() as u64), "{name}");
        assert!(
            summary.resources.is_empty() && summary.next_cursor.is_none(),
            "{name}"
        );
        // Nothing matches: a total of 0 and an empty page. A cursor past the last match: the
        // full total and an empty page (PostgreSQL answers both in one statement).
        let none = search_page(
            s,
            Scope::Network,
            &query("Observation", &[("code", "no-such-code")]),
            &grant,
        );
        assert_eq!(none.total, Some(0), "{name}");
        assert!(
            none.resources.is_empty() && none.next_cursor.is_none(),
            "{name}"
        );
        let mut past = query("Observation", &[("_count", "7")]);
        past.cursor = Some(i64::MAX);
        let past = search_page(s, Scope::Network, &past, &grant);
        assert_eq!(past.total, Some(everything.len() as u64), "{name}");
        assert!(
            past.resources.is_empty() && past.next_cursor.is_none(),
            "{name}"
        );
        // A per-site base sees only that site's resources, under the same grant.
        let site = d.manifest["patient_records"][0]["sites"][0]["site"]
            .as_str()
            .unwrap();
        let at_site = ids(&all(s, Scope::Site(site), "Observation", &[], &grant));
        assert!(
            !at_site.is_empty() && at_site.len() <= everything.len(),
            "{name} {site}"
        );
        assert!(at_site.iter().all(|id| everything.contains(id)), "{name}");
        assert!(
            all(
                s,
                Scope::Site("no-such-site"),
                "Observation",
                &[],
                &Filter::All
            )
            .is_empty(),
            "{name}"
        );
        assert_eq!(
            s.read(Scope::Site("no-such-site"), "Patient", &pid, &Filter::All)
                .unwrap(),
            None,
            "{name}"
        );
        per_backend.push((name, seen, at_site));
    }
    // The backends page in the same order (ingest order of rid) with the same results.
    if let [(_, a, sa), (_, b, sb)] = &per_backend[..] {
        assert_eq!(a, b, "paging order");
        assert_eq!(sa, sb, "site scope");
    }
}
