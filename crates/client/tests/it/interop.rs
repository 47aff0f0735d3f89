//! The client's assertion against the real issuer API on loopback: what `tessera-client`
//! signs is what `tessera-issuer` accepts (aud = the mint URL), and a replay is refused.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_client::ClientKey;
use tessera_client::jwt::client_assertion;
use tessera_issuer::{AppState, Config, Db, Issuer, KeyRing, MintingClient, app};
use tessera_jose::{Alg, JwkSet, PrivateJwk};
use tessera_ticket::TicketType;

const NOW: i64 = 1_800_000_000;

#[tokio::test]
async fn client_assertions_authenticate_at_the_issuer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iss = format!("http://{}", listener.local_addr().unwrap());
    let client_key = ClientKey::new(PrivateJwk::generate(Alg::Rs256).unwrap()).unwrap();
    let ring = KeyRing::single(&PrivateJwk::generate(Alg::Es256).unwrap(), 86_400).unwrap();
    let mut config = Config::new(&iss, "unused".into(), ring).unwrap();
    config.clients.push(MintingClient {
        client_id: "portal".into(),
        jwks: JwkSet::new(vec![client_key.jwk().public().clone()]),
        ticket_types: vec![TicketType::PayerClaims],
    });
    let state = AppState {
        issuer: Arc::new(Issuer::with_db(config, Db::open_in_memory().unwrap())),
        clock: Arc::new(|| NOW),
    };
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });

    let claims = json!({
        "aud": "https://dh.example.org/fhir",
        "ticket_type": TicketType::PayerClaims.uri(),
        "subject": {"patient": {"resourceType": "Patient", "name": [{"family": "Okafor"}]}},
        "requester": {"resourceType": "Organization", "name": "Plan"},
        "access": {"claim_linkage": {"encounter": [{"reference": "Encounter/1"}]}},
        "verification": {"facts": ["legal_basis"], "method": "claim on file",
            "verified_by": "claims-intake", "verified_at": NOW}
    });
    let mint_url = format!("{iss}/tickets");
    let assertion = client_assertion(&client_key, "portal", &mint_url, NOW, "a-1").unwrap();
    let http = reqwest::Client::new();
    let post = |a: &str| {
        http.post(&mint_url)
            .header("authorization", format!("Bearer {a}"))
            .header("content-type", "application/json")
            .body(claims.to_string())
            .send()
    };
    let response = post(&assertion).await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["revocation"]["url"], format!("{iss}/status/tickets"));

    let replay = post(&assertion).await.unwrap();
    assert_eq!(replay.status(), 401);
}
