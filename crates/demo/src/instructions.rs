//! `tessera demo --keep-running`: the URLs of the running servers and commands to try by hand,
//! using the keys, configuration and tickets the run wrote to its directory.

use std::fmt::Write as _;
use std::path::Path;

use crate::env::DemoEnv;
use crate::keys::PATIENT_APP;

/// The text printed while the servers stay up.
pub fn render(env: &DemoEnv, program: &str) -> String {
    let dir = env.dir.display().to_string();
    let base = &env.base_url;
    let tickets = env.dir.join("tickets");
    let key = |id: &str| q(&env.keys.private_file(id));
    let ticket = |name: &str| q(&tickets.join(format!("{name}.jwt")));
    let mut out = String::new();
    let _ = writeln!(out, "The demo servers keep running (Ctrl-C stops them).");
    let _ = writeln!(out, "  FHIR base       {base}");
    let _ = writeln!(out, "  token endpoint  {}", env.token_url());
    let _ = writeln!(out, "  issuer          {}", env.network_iss);
    let _ = writeln!(out, "  own issuer      {}", env.holder_iss);
    let _ = writeln!(
        out,
        "  run directory   {dir}  (holder.toml, keys/, tickets/)"
    );
    let _ = writeln!(out, "\nDiscovery, issuer keys and revocation list:");
    let _ = writeln!(out, "  curl -s {base}/.well-known/smart-configuration");
    let _ = writeln!(out, "  curl -s {}/.well-known/jwks.json", env.network_iss);
    let _ = writeln!(out, "  curl -s {}/status/tickets", env.network_iss);
    let _ = writeln!(out, "\nInspect a ticket:");
    let _ = writeln!(out, "  {program} ticket inspect {}", ticket("quality-gap"));
    let _ = writeln!(
        out,
        "\nQuality gap: redeem as the payer's quality program (a UDAP client), then read:"
    );
    let udap = &env.udap;
    let redeem_qg = format!(
        "{program} redeem --ticket {} --fhir-base {base} --client-id {} --udap-chain {} --udap-key {}",
        ticket("quality-gap"),
        udap.payer_client_id,
        q(&udap.file("payer-chain.pem")),
        q(&udap.file("payer-key.pem"))
    );
    let _ = writeln!(out, "  {redeem_qg}");
    let _ = writeln!(
        out,
        "  TOKEN=$({redeem_qg} | grep '\"access_token\"' | cut -d'\"' -f4)"
    );
    let _ = writeln!(
        out,
        "  {program} fetch --all --token \"$TOKEN\" '{base}/Observation'"
    );
    let _ = writeln!(
        out,
        "  curl -s -H \"Authorization: Bearer $TOKEN\" '{base}/Observation?_count=5'"
    );
    let _ = writeln!(
        out,
        "\nSelf access with DPoP (the token only works with the app's key):"
    );
    let redeem_self = format!(
        "{program} redeem --dpop --ticket {} --fhir-base {base} --client-id {PATIENT_APP} --client-key {}",
        ticket("self-access"),
        key(PATIENT_APP)
    );
    let _ = writeln!(
        out,
        "  TOKEN=$({redeem_self} | grep '\"access_token\"' | cut -d'\"' -f4)"
    );
    let _ = writeln!(
        out,
        "  {program} fetch --all --dpop-key {} --token \"$TOKEN\" '{base}/Condition'",
        key(PATIENT_APP)
    );
    let _ = writeln!(out, "\nRefusals (each prints the OAuth error):");
    for name in ["refusal-expired", "refusal-revoked"] {
        let client = if name == "refusal-expired" {
            PATIENT_APP
        } else {
            crate::keys::FAMILY_APP
        };
        let _ = writeln!(
            out,
            "  {program} redeem --ticket {} --fhir-base {base} --client-id {client} --client-key {}",
            ticket(name),
            key(client)
        );
    }
    let _ = writeln!(out, "\nThe Data Holder's audit trail:");
    let _ = writeln!(
        out,
        "  curl -s -H 'Authorization: Bearer {}' '{base}/admin/audit'",
        env.admin_token
    );
    let _ = writeln!(
        out,
        "The Data Holder's operator workbench (paste a ticket, see its verdict; the admin secret \
         above): {base}/workbench"
    );
    let _ = writeln!(
        out,
        "The network issuer's operator workbench (check a request as a minting client, inspect a \
         ticket; the same secret): {}/workbench",
        env.network_iss
    );
    out
}

/// A path quoted for a POSIX shell.
fn q(p: &Path) -> String {
    let s = p.display().to_string();
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
