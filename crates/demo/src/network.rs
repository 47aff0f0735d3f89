//! The network part of the demo (issue 14): the same sites served by a second Data Holder
//! that links each person's records by the data's enterprise identifier (`[linkage]`). One
//! person known at two sites is redeemed once at the network base (the combined record),
//! located (`$resolve-record-locations`) and redeemed once per site; then a ticket whose
//! `data_holder_filter` names one clinic: the network accepts it (the clinic is one of its
//! organizations, so the combined record may flow), record location lists that clinic only,
//! and the other site refuses it. Every line is computed from real responses over loopback,
//! and every expected count from the ingested bundles.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Value, json};
use tessera_client::{Authorization, FetchOptions, Redemption, Url};
use tessera_holder::HolderState;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cast::Record;
use crate::clock::HolderClock;
use crate::env::{DemoEnv, HolderToml, NPI_SYSTEM, holder_toml, load, spawn_server};
use crate::error::DemoError;
use crate::exec::Which;
use crate::keys::PATIENT_APP;
use crate::tickets;

/// What the network part showed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NetworkOutcome {
    /// The network Data Holder's base.
    pub base_url: String,
    /// `(ok, line)`, in order.
    pub lines: Vec<(bool, String)>,
    /// A failure that stopped it.
    pub error: Option<String>,
}

impl NetworkOutcome {
    /// Every check held.
    pub fn passed(&self) -> bool {
        self.error.is_none() && !self.lines.is_empty() && self.lines.iter().all(|l| l.0)
    }

    fn check(&mut self, ok: bool, line: String) {
        self.lines.push((ok, line));
    }
}

/// A running network Data Holder: the demo's sites in one store, each person's records
/// linked by the data's enterprise identifier, served on loopback until stopped.
pub struct NetworkHolder {
    /// Its FHIR base.
    pub base_url: String,
    /// Its state (the store and token tables the demo explains from).
    pub state: HolderState,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for NetworkHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHolder")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl NetworkHolder {
    /// Starts one whose store is `name`.db in the run directory (replaced if present, so a
    /// reused run directory starts from the bundles again).
    pub async fn start(env: &DemoEnv, name: &str) -> Result<NetworkHolder, DemoError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| DemoError::Holder(format!("bind network holder: {e}")))?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}/fhir");
        let state = start_holder(env, addr, &base, name).await?;
        let (stop, rx) = watch::channel(false);
        let task = spawn_server(
            listener,
            tessera_holder::app(state.clone()).map_err(DemoError::Holder)?,
            rx,
        );
        Ok(NetworkHolder {
            base_url: base,
            state,
            stop,
            task,
        })
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Runs the network part against its own Data Holder (started and stopped here).
pub async fn run(env: &DemoEnv) -> NetworkOutcome {
    let mut out = NetworkOutcome::default();
    match NetworkHolder::start(env, "network-holder").await {
        Ok(holder) => {
            out.base_url = holder.base_url.clone();
            let shown = show(env, &holder.base_url, &mut out).await;
            holder.stop().await;
            if let Err(e) = shown {
                out.error = Some(e.to_string());
            }
        }
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

async fn start_holder(
    env: &DemoEnv,
    listen: std::net::SocketAddr,
    base: &str,
    name: &str,
) -> Result<HolderState, DemoError> {
    let db = env.dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    let mut toml = holder_toml(&HolderToml {
        listen,
        base_url: base,
        store: &db,
        admin_token: &env.admin_token,
        cast: &env.cast,
        network_iss: &env.network_iss,
        holder_iss: &env.holder_iss,
        keys: &env.keys,
    });
    toml.push_str(&format!(
        "\n# One person's records at several sites are linked by the enterprise identifier.\n\
         [linkage]\nenterprise_identifier_systems = [{}]\n",
        json!(tessera_synth::PERSON_ID_SYSTEM)
    ));
    let path = env.dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml)?;
    let config = tessera_holder::config::Config::load(&path)
        .map_err(|e| DemoError::Holder(e.to_string()))?;
    let (store, db) = tessera_holder::serve::open_stores(&config)
        .map_err(|e| DemoError::Holder(e.to_string()))?;
    {
        let store = store.clone();
        let bundles = env.cast.bundles.clone();
        let at = (env.now)();
        tokio::task::spawn_blocking(move || load(store.as_ref(), bundles, at))
            .await
            .map_err(|e| DemoError::Holder(format!("ingest task: {e}")))??;
    }
    HolderState::new(config, Arc::new(HolderClock(env.now.clone())), store, db)
        .map_err(DemoError::Holder)
}

/// The person's Patient records per site and Observations per record, from the bundles.
struct Person {
    records: BTreeMap<String, String>,
    observations: BTreeMap<String, usize>,
}

/// The site records linked to `r` by the enterprise identifier (`r` itself included), by
/// site, each with that site's bundle: what a network Data Holder combines for the person.
pub(crate) fn linked_records(env: &DemoEnv, r: &Record) -> Vec<Record> {
    let Some(person) = person_of(env, r) else {
        return vec![r.clone()];
    };
    let mut out = Vec::new();
    for (site, patient_id) in &person.records {
        let Some((_, bundle)) = env.cast.bundles.iter().find(|(s, _)| s == site) else {
            continue;
        };
        let info = env.cast.site(site);
        let mrn = crate::cast::resources(bundle)
            .find(|x| x["resourceType"] == "Patient" && x["id"] == patient_id.as_str())
            .and_then(|x| {
                let system = info.map(|i| i.mrn_system.as_str()).unwrap_or_default();
                x["identifier"]
                    .as_array()?
                    .iter()
                    .find(|i| i["system"] == system)?
                    .get("value")?
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        out.push(Record {
            site: site.clone(),
            site_name: info.map_or_else(|| site.clone(), |i| i.name.clone()),
            mrn_system: info.map(|i| i.mrn_system.clone()).unwrap_or_default(),
            mrn,
            patient_id: patient_id.clone(),
            bundle: bundle.clone(),
            ..r.clone()
        });
    }
    out
}

fn person_of_patient(env: &DemoEnv) -> Option<Person> {
    person_of(env, &env.cast.patient)
}

fn person_of(env: &DemoEnv, p: &Record) -> Option<Person> {
    let mut person_id = None;
    let mut records = BTreeMap::new();
    let patients = env.cast.bundles.iter().flat_map(|(site, b)| {
        b["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(move |e| (site, &e["resource"]))
    });
    let enterprise = |r: &Value| {
        r["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["system"] == tessera_synth::PERSON_ID_SYSTEM)
            .and_then(|i| i["value"].as_str())
            .map(str::to_owned)
    };
    for (site, r) in patients.clone() {
        if r["resourceType"] == "Patient" && *site == p.site && r["id"] == p.patient_id.as_str() {
            person_id = enterprise(r);
        }
    }
    let person_id = person_id?;
    for (site, r) in patients.clone() {
        if r["resourceType"] == "Patient" && enterprise(r).as_deref() == Some(&person_id) {
            records.insert(site.clone(), r["id"].as_str()?.to_owned());
        }
    }
    let mut observations = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (_, r) in patients {
        if r["resourceType"] != "Observation" || !seen.insert(r["id"].to_string()) {
            continue;
        }
        let subject = r["subject"]["reference"].as_str().unwrap_or("");
        if let Some(record) = records
            .values()
            .find(|id| subject == format!("Patient/{id}"))
        {
            *observations.entry(record.clone()).or_default() += 1;
        }
    }
    Some(Person {
        records,
        observations,
    })
}

async fn show(env: &DemoEnv, base: &str, out: &mut NetworkOutcome) -> Result<(), DemoError> {
    let p = &env.cast.patient;
    let Some(person) = person_of_patient(env).filter(|x| x.records.len() >= 2) else {
        return Err(DemoError::Data(format!(
            "{} is not known at two sites",
            p.display()
        )));
    };
    let sites: Vec<&String> = person.records.keys().collect();
    let total: usize = person.observations.values().sum();
    out.check(
        true,
        format!(
            "{} has records at {}, linked by the enterprise identifier",
            p.display(),
            sites
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    );
    // Demographics only (no site MRN): the subject is the person.
    let jkt = env.keys.client(PATIENT_APP)?.thumbprint();
    let id_token = tickets::id_token(&env.keys.idp, p, (env.now)())?;
    let mut claims = tickets::self_access(&env.cast, &jkt, &id_token);
    claims["subject"]["patient"]
        .as_object_mut()
        .map(|o| o.remove("identifier"));
    claims["access"] = json!({"smart_scopes": ["patient/Observation.rs", "patient/Patient.rs"]});
    let ticket = env
        .mint(Which::Network, &tickets::mint_request(&claims, (env.now)()))
        .await
        .map_err(DemoError::Issuer)?;

    // 1. The combined record at the network base.
    let (token, patient) = redeem(env, &format!("{base}/token"), &ticket.token).await?;
    let count = observations(env, base, &token).await?;
    out.check(
        count == total,
        format!(
            "network base: one token for the person (patient {patient}), {count} Observations released across both sites (expected {total})"
        ),
    );
    // 2. Record location, then each site as its own Data Holder.
    let located = env
        .client
        .record_locations(
            &Url::parse(base).map_err(|e| DemoError::Data(e.to_string()))?,
            Authorization::Bearer(&token),
        )
        .await?;
    let listed: Vec<String> = located
        .iter()
        .filter_map(|l| l.fhir_base.path_segments()?.next_back().map(str::to_owned))
        .collect();
    let want: Vec<String> = sites.iter().map(|s| (*s).clone()).collect();
    out.check(
        listed == want,
        format!("record location lists {}", listed.join(", ")),
    );
    let mut per_site = 0;
    for loc in &located {
        let site = loc
            .fhir_base
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or("")
            .to_owned();
        let Some(endpoint) = &loc.token_endpoint else {
            out.check(false, format!("{site}: no token endpoint in its Endpoint"));
            continue;
        };
        let (token, _) = redeem(env, endpoint.as_str(), &ticket.token).await?;
        let count = observations(env, loc.fhir_base.as_str().trim_end_matches('/'), &token).await?;
        let want = person
            .records
            .get(&site)
            .and_then(|r| person.observations.get(r))
            .copied()
            .unwrap_or(0);
        per_site += count;
        out.check(
            count == want,
            format!("{site}: its own token endpoint; {count} Observations, that site's only (expected {want})"),
        );
    }
    out.check(
        per_site == total,
        format!("the sites together release the combined record ({per_site})"),
    );
    // 3. A data_holder_filter naming one clinic.
    let clinic = &env
        .cast
        .sites
        .iter()
        .find(|s| s.slug == *sites[0])
        .ok_or_else(|| DemoError::Data("clinic".into()))?;
    claims["access"]["data_holder_filter"] = json!([{"kind": "organization",
        "organization": [{"identifier": {"system": NPI_SYSTEM, "value": clinic.npi}}]}]);
    let filtered = env
        .mint(Which::Network, &tickets::mint_request(&claims, (env.now)()))
        .await
        .map_err(DemoError::Issuer)?;
    let (token, _) = redeem(env, &format!("{base}/token"), &filtered.token).await?;
    let count = observations(env, base, &token).await?;
    out.check(
        count == total,
        format!(
            "filter names {} only: the network accepts (it is one of the network's organizations), so the combined record may flow ({count} Observations)",
            clinic.name
        ),
    );
    let located = env
        .client
        .record_locations(
            &Url::parse(base).map_err(|e| DemoError::Data(e.to_string()))?,
            Authorization::Bearer(&token),
        )
        .await?;
    out.check(
        located.len() == 1
            && located[0]
                .fhir_base
                .as_str()
                .ends_with(&format!("/site/{}", clinic.slug)),
        format!(
            "record location under that filter lists {} site(s): {}",
            located.len(),
            clinic.slug
        ),
    );
    let other = sites[1];
    let refused = redeem(env, &format!("{base}/site/{other}/token"), &filtered.token).await;
    let text = refused.err().map(|e| e.to_string()).unwrap_or_default();
    out.check(
        text.contains("data_holder_filter"),
        format!("{other} as its own Data Holder refuses it: {text}"),
    );
    Ok(())
}

/// Token exchange as the patient's app; returns the access token and the response's `patient`.
async fn redeem(
    env: &DemoEnv,
    token_url: &str,
    ticket: &str,
) -> Result<(String, String), DemoError> {
    let endpoint = Url::parse(token_url).map_err(|e| DemoError::Data(e.to_string()))?;
    let key = env.keys.client(PATIENT_APP)?;
    let req = Redemption {
        ticket,
        client_id: PATIENT_APP,
        auth: tessera_client::ClientAuth::Jwk(key),
        scope: None,
        dpop: false,
    };
    let resp = env.client.redeem(&endpoint, &req).await?;
    let patient = resp
        .raw
        .get("patient")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Ok((resp.access_token, patient))
}

async fn observations(env: &DemoEnv, base: &str, token: &str) -> Result<usize, DemoError> {
    let url = Url::parse(&format!("{base}/Observation?_summary=count"))
        .map_err(|e| DemoError::Data(e.to_string()))?;
    let fetched = env
        .client
        .fetch(&url, Authorization::Bearer(token), FetchOptions::default())
        .await?;
    let total = fetched
        .pages
        .first()
        .and_then(|b| b["total"].as_u64())
        .unwrap_or(0);
    Ok(usize::try_from(total).unwrap_or(0))
}
