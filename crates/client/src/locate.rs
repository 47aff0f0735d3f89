//! Record location (issue 14): `POST [base]/$resolve-record-locations` with a network access
//! token, read into the sites a client can then redeem at one by one (each `Endpoint`'s
//! address is a site's FHIR base; its token endpoint rides in an extension).

use serde_json::Value;
use url::Url;

use crate::error::Step;
use crate::fetch::{Authorization, check_token, outcome_summary};
use crate::http::{MAX_SMALL_BODY, json_object, send};
use crate::jwt::dpop_proof;
use crate::{Client, ClientError};

/// The operation's path segment.
pub const RESOLVE_RECORD_LOCATIONS: &str = "$resolve-record-locations";
/// The `Endpoint` extension carrying a site's token endpoint.
pub const TOKEN_ENDPOINT_EXTENSION: &str =
    "https://tessera.example/fhir/StructureDefinition/endpoint-token-endpoint";

/// One located site.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordLocation {
    /// The site's FHIR base (`Endpoint.address`).
    #[serde(serialize_with = "as_str")]
    pub fhir_base: Url,
    /// Its token endpoint, when the Endpoint names one.
    #[serde(serialize_with = "opt_as_str")]
    pub token_endpoint: Option<Url>,
    /// The managing Organization's name, if given.
    pub organization: Option<String>,
}

fn as_str<S: serde::Serializer>(u: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(u.as_str())
}

fn opt_as_str<S: serde::Serializer>(u: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    match u {
        Some(u) => s.serialize_str(u.as_str()),
        None => s.serialize_none(),
    }
}

impl Client {
    /// Asks the network base `network_base` where the token's person has releasable data.
    pub async fn record_locations(
        &self,
        network_base: &Url,
        auth: Authorization<'_>,
    ) -> Result<Vec<RecordLocation>, ClientError> {
        let url = Url::parse(&format!(
            "{}/{RESOLVE_RECORD_LOCATIONS}",
            network_base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| ClientError::Input(format!("not a FHIR base: {e}")))?;
        let mut request = self
            .http
            .post(url.clone())
            .header("accept", "application/fhir+json");
        request = match auth {
            Authorization::Bearer(token) => {
                request.header("authorization", format!("Bearer {}", check_token(token)?))
            }
            Authorization::Dpop { token, key } => {
                let proof = dpop_proof(
                    key,
                    "POST",
                    &url,
                    self.clock.now(),
                    &Client::new_jti(),
                    Some(token),
                )?;
                request
                    .header("authorization", format!("DPoP {}", check_token(token)?))
                    .header("DPoP", proof)
            }
        };
        let body = send(request, Step::Fetch, &url, MAX_SMALL_BODY).await?;
        if !(200..300).contains(&body.status) {
            return Err(ClientError::FhirStatus {
                url: url.to_string(),
                status: body.status,
                summary: outcome_summary(&body.bytes),
            });
        }
        let bundle = Value::Object(json_object(&body.bytes, Step::Fetch, &url)?);
        Ok(locations(&bundle))
    }
}

/// The Endpoints of a record-location Bundle (entries that are not usable are skipped).
pub fn locations(bundle: &Value) -> Vec<RecordLocation> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Endpoint")
        .filter_map(|r| {
            let fhir_base = Url::parse(r["address"].as_str()?).ok()?;
            let token_endpoint = r["extension"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["url"] == TOKEN_ENDPOINT_EXTENSION)
                .and_then(|x| x["valueUrl"].as_str())
                .and_then(|u| Url::parse(u).ok());
            let organization = r["managingOrganization"]["display"]
                .as_str()
                .map(str::to_owned);
            Some(RecordLocation {
                fhir_base,
                token_endpoint,
                organization,
            })
        })
        .collect()
}
