//! `tessera conformance init`: fresh keys, a commented `kit.toml`, the public JWK Sets to
//! register, and what to register where (in general, and as a Tessera configuration excerpt).

use std::path::Path;

use crate::config::{
    DataHolderConfig, IdentifierConfig, IdpConfig, JurisdictionConfig, KitConfig, PAYER_CLAIMS,
    PUBLIC_HEALTH, QUALITY_GAP, RestrictedClientConfig,
};
use crate::federation::FEDERATION_PATH;
use crate::host::{UNLISTED_CLIENT_PATH, WELL_KNOWN_CLIENT_PATH};
use crate::keys::KitKeys;
use crate::pki::{UDAP_CLIENT_PATH, UDAP_ISSUER_PATH, UdapKeys};

/// The commented template (`init` writes it as `kit.toml`).
pub const TEMPLATE: &str = include_str!("../kit.example.toml");

/// Files `init` writes.
pub const KEYS_FILE: &str = "kit-keys.json";
/// The issuer's public JWK Set (also served at `{issuer.url}/.well-known/jwks.json`).
pub const ISSUER_JWKS_FILE: &str = "kit-issuer.jwks.json";
/// The client's public JWK Set (also served at `{issuer.url}/client/jwks.json`).
pub const CLIENT_JWKS_FILE: &str = "kit-client.jwks.json";
/// The identity provider's public JWK Set (also served at `{issuer.url}/idp/jwks.json`).
pub const IDP_JWKS_FILE: &str = "kit-idp.jwks.json";

/// The kit's federation trust anchor JWK Set (register it as the federation's anchor keys).
pub const FEDERATION_ANCHOR_FILE: &str = "kit-federation-anchor.jwks.json";
/// The kit's UDAP community anchor (register it as the community's trust anchor).
pub const UDAP_ANCHOR_FILE: &str = "kit-udap-anchor.pem";

/// Writes keys, JWK Sets, the UDAP anchor and `kit.toml` into `dir` (refusing to overwrite a
/// `kit.toml`); `now` dates the UDAP certificates.
pub fn init(dir: &Path, now: i64) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join("kit.toml");
    if config.exists() {
        return Err(format!(
            "{} exists; remove it to start over",
            config.display()
        ));
    }
    let parsed = KitConfig::parse(TEMPLATE).map_err(|e| format!("template: {e}"))?;
    let mut keys = KitKeys::generate()?;
    // The client certificate's SAN lives under the issuer URL of the template: editing
    // issuer.url later means running init again.
    keys.udap = Some(UdapKeys::generate(&parsed.issuer.url, now)?);
    keys.save(&dir.join(KEYS_FILE)).map_err(|e| e.to_string())?;
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    write(
        ISSUER_JWKS_FILE,
        format!("{:#}\n", keys.issuer_jwks().to_value()),
    )?;
    write(
        CLIENT_JWKS_FILE,
        format!("{:#}\n", keys.client_jwks().to_value()),
    )?;
    write(IDP_JWKS_FILE, format!("{:#}\n", keys.idp_jwks().to_value()))?;
    write(
        FEDERATION_ANCHOR_FILE,
        format!("{:#}\n", keys.federation_anchor_jwks().to_value()),
    )?;
    if let Some(u) = &keys.udap {
        write(UDAP_ANCHOR_FILE, u.anchor_pem.clone())?;
    }
    write("kit.toml", TEMPLATE.to_owned())?;
    Ok(instructions(&parsed, dir))
}

/// What the operator registers at the target.
pub fn instructions(c: &KitConfig, dir: &Path) -> String {
    format!(
        "Wrote kit.toml, {KEYS_FILE} (private: keep it), {ISSUER_JWKS_FILE}, {CLIENT_JWKS_FILE},\n{IDP_JWKS_FILE}, {FEDERATION_ANCHOR_FILE} and {UDAP_ANCHOR_FILE} in {dir}.\n\n\
         Register at the Data Holder under test ({base}):\n\
         1. A trusted ticket issuer\n   iss          = {iss}\n   keys         = {iss}/.well-known/jwks.json (served by the kit while it runs), or {ISSUER_JWKS_FILE}\n   ticket types = {types}\n   (its status lists are {iss}/status/...; the kit serves them over plain HTTP on {listen})\n\
         2. A client authenticating with private_key_jwt (ES256 and RS256 keys: PT-BIND-03 binds a\n   ticket to the RSA key)\n   client_id    = {client}\n   keys         = {CLIENT_JWKS_FILE}, or {iss}/client/jwks.json\n\
         3. Test data: one patient matching [patient] in kit.toml exactly, with records of the\n   [probe] types that the narrowed scope and the data_period window split; for PT-DP-05/06,\n   among its records of probe.designated_types, one without its designated date element\n   and one whose period spans more than two days.\n\
         4. Optional, with [identity_provider] in kit.toml: an identity provider trusted for evidence\n   only (not as a ticket issuer)\n   iss          = {idp}\n   keys         = OIDC discovery from iss, or {IDP_JWKS_FILE}\n   audience     = ID tokens are issued to {iss} or {client}; map [identity_provider]\n                  mapped_audience to {iss}; refuse unaccepted_acr in the evidence profile\n                  of {baseline}\n\
         5. Optional, with [udap] in kit.toml: the kit's UDAP community\n   anchor       = {UDAP_ANCHOR_FILE}, as the trust anchor of [udap] community\n   clients      = registered by UDAP dynamic client registration (the kit registers\n                  {iss}{UDAP_CLIENT_PATH} at the start of a run)\n   issuer       = {iss}{UDAP_ISSUER_PATH}, trusted through that community for {types}\n                  (keys from its /.well-known/udap signed_metadata)\n\
         6. Optional, with [well_known] in kit.toml: a Proposal 006 framework listing the entity\n   {iss}{WELL_KNOWN_CLIENT_PATH} (client id well-known:{iss}{WELL_KNOWN_CLIENT_PATH}; keys at\n   its /.well-known/jwks.json, served by the kit); do not list {iss}{UNLISTED_CLIENT_PATH}\n\
         7. Optional, with [federation] in kit.toml: an OpenID Federation\n   anchor       = {iss}{FEDERATION_PATH}/anchor, keys {FEDERATION_ANCHOR_FILE}\n   issuer       = {iss}{FEDERATION_PATH}/issuer, trusted through that anchor for {types}\n   (the client {iss}{FEDERATION_PATH}/client sends its trust chain; nothing to register)\n\
         8. Optional, with [payer_claims] in kit.toml: the kit as one of your OWN issuing identities\n   iss          = {self_iss} (self-issued), trusted for {PAYER_CLAIMS} only\n                  (never the issuer of 1. for that type)\n   keys         = {self_iss}/.well-known/jwks.json, or {ISSUER_JWKS_FILE}\n   client       = {client}, acting for [payer_claims] payer (the tickets are unbound)\n   data         = the test patient's Encounters and records [payer_claims] names; a release\n                  policy that does not release [payer_claims] withheld_types to payers\n\
         9. Optional, with [quality_gap] in kit.toml: the issuer of 1. trusted for quality gap too\n   type         = {QUALITY_GAP} (in issuer.ticket_types)\n   data         = a coverage (or contract) relationship between [quality_gap] requester and\n                  the test patient; none with unrelated_requester\n\
         10. Optional, with [public_health] in kit.toml: the issuer of 1. trusted for public health too\n   type         = {PUBLIC_HEALTH} (in issuer.ticket_types)\n   policy       = a disclosure policy for [public_health] condition\n\
         11. Optional, with [continuation] in kit.toml: refresh tokens for continuation tickets\n   (refresh_tokens = true), or none (false); the kit refreshes as {client}\n\
         12. Optional, with [proposal_001] in kit.toml: interaction_required with a launch value for\n   unresolvable subjects of individual-access tickets\n\
         13. Optional, with [restricted_client] in kit.toml: a second private_key_jwt client\n   client_id    = its client_id, keys {CLIENT_JWKS_FILE} (the kit's client key)\n   scopes       = its scopes, the only ones it may ever be granted\n\
         14. Optional, with [data_holder] in kit.toml: nothing to register; list in it the target's\n   own organization identifiers, the organizations it answers for and every jurisdiction\n   it is in, as its data_holder_filter judgement sees them\n\
         15. Optional, with [sensitivity] in kit.toml: say whether the target implements Proposal\n   005, and name labelled records of the test patient (see kit.toml)\n\n\
         Then edit kit.toml and run: tessera conformance --config {dir}/kit.toml\n\n\
         For a Tessera Data Holder, the excerpt of its configuration:\n\n{snippet}",
        dir = dir.display(),
        base = c.fhir_base,
        iss = c.issuer.url,
        types = c.issuer.ticket_types.join(", "),
        listen = c.issuer.listen,
        client = c.client.client_id,
        idp = c.idp_iss(),
        baseline = c.baseline_type(),
        self_iss = c.self_issuer_iss(),
        snippet = tessera_snippet(c, Path::new("")),
    )
}

/// The `[[issuer]]` and `[[client]]` entries registering the kit at a Tessera Data Holder, its
/// identity provider and its UDAP community (each commented out while kit.toml lacks its
/// section). `files` is where the kit's public files are, as the Data Holder will read them.
pub fn tessera_snippet(c: &KitConfig, files: &Path) -> String {
    let s = |v: &str| serde_json::Value::String(v.to_owned()).to_string();
    let file = |name: &str| s(&files.join(name).display().to_string());
    let types: Vec<String> = c.issuer.ticket_types.iter().map(|t| s(t)).collect();
    let mut out = format!(
        "# The kit's JWKS and status lists are plain HTTP on loopback.\n\
         insecure_allow_loopback_http = true\n{legacy}{frameworks}\n\
         [[issuer]]\niss = {iss}\njwks_uri = {jwks}\nticket_types = [{types}]\n\n\
         [[client]]\nclient_id = {client}\njwks_file = {file}\n",
        iss = s(&c.issuer.url),
        jwks = s(&format!("{}/.well-known/jwks.json", c.issuer.url)),
        types = types.join(", "),
        client = s(&c.client.client_id),
        file = file(CLIENT_JWKS_FILE),
        legacy = if c
            .data_holder
            .as_ref()
            .is_some_and(|d| d.legacy_organization_shape)
        {
            "# data_holder.legacy_organization_shape: the older filter shapes are translated.\n\
             legacy_access_shapes = true\n"
        } else {
            ""
        },
        frameworks = if c.target_frameworks.is_empty() {
            String::new()
        } else {
            let ids: Vec<String> = c.target_frameworks.iter().map(|t| s(t)).collect();
            format!(
                "# target_frameworks: the frameworks this Data Holder is a member of (framework aud).\n\
                 trust_frameworks = [{}]\n",
                ids.join(", ")
            )
        },
    );
    // The payer its unbound payer-claims tickets name (OP-33); commented out without
    // [payer_claims], with kit.example.toml's value.
    let (payer, acting) = match &c.payer_claims {
        Some(p) => (p.payer.clone(), true),
        None => (
            crate::config::IdentifierConfig {
                system: "http://hl7.org/fhir/sid/us-npi".into(),
                value: "1093817465".into(),
            },
            false,
        ),
    };
    out.push_str(&format!(
        "{}acts_for = [{{ system = {}, value = {} }}]\n",
        if acting { "" } else { "# " },
        s(&payer.system),
        s(&payer.value)
    ));
    // Commented out, the excerpt shows the values of kit.example.toml's commented section.
    let i = c.identity_provider.clone().unwrap_or_else(|| IdpConfig {
        acr: Some("http://idmanagement.gov/ns/assurance/ial/2".into()),
        unaccepted_acr: None,
        mapped_audience: Some("kit-issuer-app".into()),
        required_for: None,
    });
    let mut idp = format!(
        "[[identity_provider]]\niss = {}\noidc_discovery = true\n",
        s(&c.idp_iss())
    );
    if let Some(m) = &i.mapped_audience {
        idp.push_str(&format!(
            "audience_map = {{ {} = {} }}\n",
            s(m),
            s(&c.issuer.url)
        ));
    }
    if let Some(acr) = &i.acr {
        idp.push_str(&format!(
            "\n[[evidence_profile]]\nticket_type = {}\nacr_values = [{}]\n",
            s(c.baseline_type()),
            s(acr)
        ));
    }
    if let Some(t) = &i.required_for {
        idp.push_str(&format!(
            "\n[[evidence_profile]]\nticket_type = {}\nrequire = [\"subject\"]\n",
            s(t)
        ));
    }
    section(
        &mut out,
        "The kit's identity provider: trusted for evidence only.",
        &idp,
        c.identity_provider.is_some(),
    );
    let community = c
        .udap
        .as_ref()
        .map_or("https://udap.conformance.invalid", |u| u.community.as_str());
    let udap = format!(
        "[registration]\nenabled = true\n\n[[trust_framework]]\nid = {}\n\
         framework_type = \"udap\"\nanchors_file = {}\n\n\
         [[issuer]]\niss = {}\ntrust_framework = {}\nticket_types = [{}]\n",
        s(community),
        file(UDAP_ANCHOR_FILE),
        s(&format!("{}{UDAP_ISSUER_PATH}", c.issuer.url)),
        s(community),
        types.join(", "),
    );
    section(
        &mut out,
        "The kit's UDAP community: its client registers by UDAP DCR; its issuer's keys are in its signed metadata.",
        &udap,
        c.udap.is_some(),
    );
    let framework = c
        .well_known
        .as_ref()
        .map_or("https://well-known.conformance.invalid", |w| {
            w.framework.as_str()
        });
    let well_known = format!(
        "[[trust_framework]]\nid = {}\nframework_type = \"well-known\"\nentities = [{}]\n",
        s(framework),
        s(&format!("{}{WELL_KNOWN_CLIENT_PATH}", c.issuer.url)),
    );
    section(
        &mut out,
        "The kit's well-known client entity (Proposal 006).",
        &well_known,
        c.well_known.is_some(),
    );
    let anchor = s(&format!("{}{FEDERATION_PATH}/anchor", c.issuer.url));
    let federation = format!(
        "[[trust_framework]]\nid = {anchor}\nframework_type = \"oidf\"\nanchor_jwks_file = {}\n\n\
         [[issuer]]\niss = {}\ntrust_framework = {anchor}\nticket_types = [{}]\n",
        file(FEDERATION_ANCHOR_FILE),
        s(&format!("{}{FEDERATION_PATH}/issuer", c.issuer.url)),
        types.join(", "),
    );
    section(
        &mut out,
        "The kit's OpenID Federation: its client entity and its ticket issuer entity.",
        &federation,
        c.federation.is_some(),
    );
    let refresh = c.continuation.as_ref().is_none_or(|k| k.refresh_tokens);
    section(
        &mut out,
        "Continuation: refresh tokens for tickets carrying `continuation`.",
        &format!("[continuation]\nenabled = {refresh}\n"),
        c.continuation.is_some(),
    );
    section(
        &mut out,
        "Proposal 001: interaction_required with a launch value for unresolvable consumer subjects.",
        "[subject_resolution]\ninteraction_fallback = true\n",
        c.proposal_001.is_some(),
    );
    let self_issued = format!(
        "[[issuer]]\niss = {}\njwks_uri = {}\nticket_types = [{}]\nself_issued = true\n",
        s(&c.self_issuer_iss()),
        s(&format!("{}/.well-known/jwks.json", c.self_issuer_iss())),
        s(PAYER_CLAIMS),
    );
    section(
        &mut out,
        "The kit as one of this Data Holder's own issuing identities (payer claims).",
        &self_issued,
        c.payer_claims.is_some(),
    );
    let restricted = c
        .restricted_client
        .clone()
        .unwrap_or_else(|| RestrictedClientConfig {
            client_id: "tessera-conformance-kit-restricted".into(),
            scopes: vec!["patient/Patient.rs".into(), "patient/Condition.rs".into()],
        });
    let scopes: Vec<String> = restricted.scopes.iter().map(|t| s(t)).collect();
    section(
        &mut out,
        "The kit's second client, registered with fewer scopes (PT-ACC-07).",
        &format!(
            "[[client]]\nclient_id = {}\njwks_file = {}\nscopes = [{}]\n",
            s(&restricted.client_id),
            file(CLIENT_JWKS_FILE),
            scopes.join(", ")
        ),
        c.restricted_client.is_some(),
    );
    let holder = c.data_holder.clone().unwrap_or_else(|| DataHolderConfig {
        organization: vec![IdentifierConfig {
            system: "http://hl7.org/fhir/sid/us-npi".into(),
            value: "1234567893".into(),
        }],
        jurisdictions: vec![JurisdictionConfig {
            country: "US".into(),
            state: Some("CA".into()),
        }],
        ..Default::default()
    });
    let ids: Vec<String> = holder
        .organization
        .iter()
        .chain(&holder.served_organizations)
        .map(|i| format!("{{ system = {}, value = {} }}", s(&i.system), s(&i.value)))
        .collect();
    let address = |j: &JurisdictionConfig| match &j.state {
        Some(st) => format!("{{ country = {}, state = {} }}", s(&j.country), s(st)),
        None => format!("{{ country = {} }}", s(&j.country)),
    };
    let mut h = format!("[holder]\norganization = [{}]\n", ids.join(", "));
    if let Some((first, rest)) = holder.jurisdictions.split_first() {
        h.push_str(&format!("address = {}\n", address(first)));
        if !rest.is_empty() {
            let rest: Vec<String> = rest.iter().map(address).collect();
            h.push_str(&format!("additional_addresses = [{}]\n", rest.join(", ")));
        }
    }
    section(
        &mut out,
        "Who the Data Holder is for data_holder_filter: its organizations (own and served) and jurisdictions. \
         The older single-Organization entry is accepted only with the top-level legacy_access_shapes = true.",
        &h,
        c.data_holder.is_some(),
    );
    let p005 = c.sensitivity.as_ref().is_none_or(|x| x.implemented);
    section(
        &mut out,
        "Proposal 005: sensitivity_withhold enforced (true) or rejected (false).",
        &format!("[policy.sensitivity]\nprofile = {p005}\n"),
        c.sensitivity.is_some(),
    );
    out
}

/// Appends a titled excerpt, commented out unless `on`.
fn section(out: &mut String, title: &str, body: &str, on: bool) {
    out.push_str(&format!("\n# {title}\n"));
    for l in body.lines() {
        match (on, l.is_empty()) {
            (_, true) => out.push('\n'),
            (true, false) => out.push_str(&format!("{l}\n")),
            (false, false) => out.push_str(&format!("# {l}\n")),
        }
    }
}
