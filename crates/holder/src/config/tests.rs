//! Unit tests of configuration parsing and validation.

use super::*;

const KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"ASaeb7zovIrhlPmGWYX0nEGeG9iYA09BBLNkr3QsHFE","y":"sWXJnfUM7k89RC__zSAJwM3io6nusZvvnPTH1kN6SoE","kid":"k1"}"#;

fn dir_with_key() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("issuer.jwks.json"), KEY).unwrap();
    std::fs::write(
        d.path().join("app1.jwks.json"),
        format!(r#"{{"keys":[{KEY}]}}"#),
    )
    .unwrap();
    d
}

#[test]
fn example_config_parses_when_its_key_files_exist() {
    let d = dir_with_key();
    let cfg = Config::from_toml(EXAMPLE_CONFIG, d.path()).unwrap();
    assert_eq!(cfg.token_url(), "http://127.0.0.1:8080/fhir/token");
    assert_eq!(cfg.issuers.len(), 1);
    assert_eq!(cfg.clients[0].client_id, "app1");
    assert_eq!(cfg.access_token_ttl, 300);
    assert_eq!(
        cfg.store,
        StoreLocation::SqliteFile(PathBuf::from("/var/lib/tessera/tessera.db"))
    );
}

#[test]
fn minimal_contract_keys_are_accepted_and_relative_paths_resolve() {
    let d = dir_with_key();
    let text = r#"
listen = "127.0.0.1:0"
base_url = "http://127.0.0.1:8080/fhir"
store = "sqlite://data/t.db"
load = ["bundles"]
[holder]
organization = [{ system = "http://hl7.org/fhir/sid/us-npi", value = "1234567893" }]
address = { country = "US", state = "CA" }
[[issuer]]
iss = "https://issuer.example.org"
jwks_file = "issuer.jwks.json"
ticket_types = ["https://smarthealthit.org/permission-ticket-type/patient-self-access-v1"]
[[client]]
client_id = "app1"
jwks_file = "app1.jwks.json"
"#;
    let cfg = Config::from_toml(text, d.path()).unwrap();
    assert_eq!(
        cfg.store,
        StoreLocation::SqliteFile(d.path().join("data/t.db"))
    );
    assert_eq!(cfg.load, vec![d.path().join("bundles")]);
    match &cfg.issuers[0].keys {
        KeySourceConfig::Static(v) => assert_eq!(v["keys"][0]["kid"], "k1"),
        other => panic!("unexpected {other:?}"),
    }
}

fn err_of(text: &str) -> String {
    let d = dir_with_key();
    Config::from_toml(text, d.path()).unwrap_err().to_string()
}

const HEAD: &str = "listen = \"127.0.0.1:0\"\nbase_url = \"https://h.example/fhir\"\nstore = \"sqlite::memory:\"\n";

#[test]
fn errors_name_the_key() {
    assert!(err_of(&format!("{HEAD}bogus = 1\n")).contains("bogus"));
    assert!(
        err_of("listen = \"nope\"\nbase_url = \"https://h/fhir\"\nstore = \"sqlite::memory:\"\n")
            .contains("`listen`")
    );
    assert!(err_of("listen = \"127.0.0.1:0\"\nbase_url = \"https://h/fhir/\"\nstore = \"sqlite::memory:\"\n").contains("`base_url`"));
    assert!(
        err_of(
            "listen = \"127.0.0.1:0\"\nbase_url = \"https://h/fhir\"\nstore = \"postgres://x\"\n"
        )
        .contains("`store`")
    );
    let e = err_of(&format!(
        "{HEAD}[[issuer]]\niss = \"https://i\"\nticket_types = [\"https://smarthealthit.org/permission-ticket-type/patient-self-access-v1\"]\n"
    ));
    assert!(e.contains("issuer[0]") && e.contains("exactly one"), "{e}");
    let e = err_of(&format!(
        "{HEAD}[[issuer]]\niss = \"https://i\"\njwks_file = \"missing.json\"\nticket_types = [\"https://smarthealthit.org/permission-ticket-type/patient-self-access-v1\"]\n"
    ));
    assert!(e.contains("issuer[0].jwks_file"), "{e}");
    let e = err_of(&format!(
        "{HEAD}[[issuer]]\niss = \"https://i\"\njwks_file = \"issuer.jwks.json\"\nticket_types = [\"https://example.org/other\"]\n"
    ));
    assert!(e.contains("issuer[0].ticket_types[0]"), "{e}");
    let e = err_of(&format!("{HEAD}access_token_ttl_seconds = 7200\n"));
    assert!(e.contains("access_token_ttl_seconds"), "{e}");
    let e = err_of(&format!(
        "{HEAD}[[client]]\nclient_id = \"a\"\njwks = {{ keys = [{{ kty = \"EC\", crv = \"P-256\", x = \"x\", y = \"y\", d = \"secret\" }}] }}\n"
    ));
    assert!(
        e.contains("client[0].jwks.keys[0]") && e.contains("private"),
        "{e}"
    );
}

#[test]
fn inline_jwks_becomes_a_set() {
    let d = dir_with_key();
    let cfg = Config::from_toml(
        &format!("{HEAD}[[client]]\nclient_id = \"a\"\njwks = {{ keys = [{{ kty = \"EC\", crv = \"P-256\", x = \"x\", y = \"y\" }}] }}\n"),
        d.path(),
    )
    .unwrap();
    match &cfg.clients[0].keys {
        KeySourceConfig::Static(v) => assert_eq!(v["keys"][0]["crv"], "P-256"),
        other => panic!("unexpected {other:?}"),
    }
}
