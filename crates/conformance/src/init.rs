//! `tessera conformance init`: fresh keys, a commented `kit.toml`, the public JWK Sets to
//! register, and what to register where (in general, and as a Tessera configuration excerpt).

use std::path::Path;

use crate::config::KitConfig;
use crate::keys::KitKeys;

/// The commented template (`init` writes it as `kit.toml`).
pub const TEMPLATE: &str = include_str!("../kit.example.toml");

/// Files `init` writes.
pub const KEYS_FILE: &str = "kit-keys.json";
/// The issuer's public JWK Set (also served at `{issuer.url}/.well-known/jwks.json`).
pub const ISSUER_JWKS_FILE: &str = "kit-issuer.jwks.json";
/// The client's public JWK Set (also served at `{issuer.url}/client/jwks.json`).
pub const CLIENT_JWKS_FILE: &str = "kit-client.jwks.json";

/// Writes keys, JWK Sets and `kit.toml` into `dir` (refusing to overwrite a `kit.toml`).
pub fn init(dir: &Path) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join("kit.toml");
    if config.exists() {
        return Err(format!(
            "{} exists; remove it to start over",
            config.display()
        ));
    }
    let keys = KitKeys::generate()?;
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
    write("kit.toml", TEMPLATE.to_owned())?;
    let parsed = KitConfig::parse(TEMPLATE).map_err(|e| format!("template: {e}"))?;
    Ok(instructions(&parsed, dir))
}

/// What the operator registers at the target.
pub fn instructions(c: &KitConfig, dir: &Path) -> String {
    format!(
        "Wrote kit.toml, {KEYS_FILE} (private: keep it), {ISSUER_JWKS_FILE} and {CLIENT_JWKS_FILE} in {dir}.\n\n\
         Register at the Data Holder under test ({base}):\n\
         1. A trusted ticket issuer\n   iss          = {iss}\n   keys         = {iss}/.well-known/jwks.json (served by the kit while it runs), or {ISSUER_JWKS_FILE}\n   ticket types = {types}\n   (its status lists are {iss}/status/...; the kit serves them over plain HTTP on {listen})\n\
         2. A client authenticating with private_key_jwt (ES256)\n   client_id    = {client}\n   keys         = {CLIENT_JWKS_FILE}, or {iss}/client/jwks.json\n\
         3. Test data: one patient matching [patient] in kit.toml exactly, with records of the\n   [probe] types that the narrowed scope and the data_period window split.\n\n\
         Then edit kit.toml and run: tessera conformance --config {dir}/kit.toml\n\n\
         For a Tessera Data Holder, the excerpt of its configuration:\n\n{snippet}",
        dir = dir.display(),
        base = c.fhir_base,
        iss = c.issuer.url,
        types = c.issuer.ticket_types.join(", "),
        listen = c.issuer.listen,
        client = c.client.client_id,
        snippet = tessera_snippet(c, CLIENT_JWKS_FILE),
    )
}

/// The `[[issuer]]` and `[[client]]` entries registering the kit at a Tessera Data Holder.
pub fn tessera_snippet(c: &KitConfig, client_jwks_file: &str) -> String {
    let s = |v: &str| serde_json::Value::String(v.to_owned()).to_string();
    let types: Vec<String> = c.issuer.ticket_types.iter().map(|t| s(t)).collect();
    format!(
        "# The kit's JWKS and status lists are plain HTTP on loopback.\n\
         insecure_allow_loopback_http = true\n\n\
         [[issuer]]\niss = {iss}\njwks_uri = {jwks}\nticket_types = [{types}]\n\n\
         [[client]]\nclient_id = {client}\njwks_file = {file}\n",
        iss = s(&c.issuer.url),
        jwks = s(&format!("{}/.well-known/jwks.json", c.issuer.url)),
        types = types.join(", "),
        client = s(&c.client.client_id),
        file = s(client_jwks_file),
    )
}
