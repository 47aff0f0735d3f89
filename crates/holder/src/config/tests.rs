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
        err_of("listen = \"127.0.0.1:0\"\nbase_url = \"https://h/fhir\"\nstore = \"mysql://x\"\n")
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

const BASE: &str = "listen = \"127.0.0.1:0\"\nbase_url = \"http://127.0.0.1:8080/fhir\"\nstore = \"sqlite::memory:\"\n";

fn parse(extra: &str) -> Result<Config, ConfigError> {
    let d = dir_with_key();
    Config::from_toml(&format!("{BASE}{extra}"), d.path())
}

fn problem(extra: &str) -> String {
    match parse(extra) {
        Err(ConfigError::Invalid { key, problem }) => format!("{key}: {problem}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn trust_frameworks_of_each_type_validate_and_resolve_paths() {
    let cfg = parse(
        r#"
[[trust_framework]]
id = "https://udap.example.org/community/payers"
framework_type = "udap"
anchors_file = "anchors.pem"
certificate_file = "chain.pem"
key_file = "key.pem"
crl_files = ["root.crl"]
[[trust_framework]]
id = "https://fed.example.org"
framework_type = "oidf"
anchor_jwks_file = "anchor.jwks.json"
entity_id = "https://holder.example.org"
required_trust_marks = ["https://fed.example.org/marks/provider"]
[[trust_framework]]
id = "https://wk.example.org"
framework_type = "well-known"
entities = ["https://app.example.org"]
[registration]
enabled = true
[[issuer]]
iss = "https://issuer.example.org"
trust_framework = "https://fed.example.org"
required_trust_marks = ["https://fed.example.org/marks/ticket-issuer"]
ticket_types = ["https://smarthealthit.org/permission-ticket-type/patient-self-access-v1"]
"#,
    )
    .unwrap();
    assert_eq!(cfg.trust_framework_configs.len(), 3);
    match &cfg.trust_framework_configs[0].kind {
        TrustFrameworkKind::Udap(u) => {
            assert!(u.anchors_file.is_absolute(), "{u:?}");
            assert_eq!(u.crl_files.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cfg.trust_framework_configs[1].kind.framework_type(), "oidf");
    assert_eq!(
        cfg.trust_framework_configs[2].kind.framework_type(),
        "well-known"
    );
    assert!(cfg.registration.enabled);
    assert!(cfg.registration.initial_access_token.is_none());
    match &cfg.issuers[0].keys {
        KeySourceConfig::Framework {
            trust_framework,
            required_trust_marks,
        } => {
            assert_eq!(trust_framework, "https://fed.example.org");
            assert_eq!(required_trust_marks.len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn trust_framework_mistakes_name_the_member() {
    let udap = "[[trust_framework]]\nid = \"https://u.example\"\nframework_type = \"udap\"\n";
    assert_eq!(
        problem(udap),
        "trust_framework[0].anchors_file: required for udap"
    );
    assert_eq!(
        problem(&format!(
            "{udap}anchors_file = \"a.pem\"\nentities = [\"https://x.example\"]\n"
        )),
        "trust_framework[0].entities: belongs to well-known frameworks, not udap"
    );
    assert_eq!(
        problem(&format!(
            "{udap}anchors_file = \"a.pem\"\nkey_file = \"k.pem\"\n"
        )),
        "trust_framework[0].certificate_file: certificate_file and key_file go together"
    );
    assert_eq!(
        problem("[[trust_framework]]\nid = \"x\"\nframework_type = \"saml\"\n"),
        "trust_framework[0].framework_type: must be udap, oidf or well-known, not \"saml\""
    );
    assert_eq!(
        problem(
            "[[trust_framework]]\nid = \"https://w.example\"\nframework_type = \"well-known\"\n"
        ),
        "trust_framework[0]: well-known needs exactly one of entities or framework_document_uri"
    );
    assert_eq!(
        problem("[registration]\nenabled = true\ninitial_access_token = \"short\"\n"),
        "registration.initial_access_token: must be at least 16 characters"
    );
}

#[test]
fn framework_issuers_need_a_configured_framework_and_no_jwks() {
    let issuer = "[[issuer]]\niss = \"https://i.example\"\nticket_types = [\"https://smarthealthit.org/permission-ticket-type/patient-self-access-v1\"]\n";
    assert_eq!(
        problem(&format!(
            "{issuer}trust_framework = \"https://nowhere.example\"\n"
        )),
        "issuer[0].trust_framework: no [[trust_framework]] has id https://nowhere.example"
    );
    let wk = "[[trust_framework]]\nid = \"https://w.example\"\nframework_type = \"well-known\"\nentities = [\"https://a.example\"]\n";
    assert_eq!(
        problem(&format!(
            "{wk}{issuer}trust_framework = \"https://w.example\"\njwks_file = \"issuer.jwks.json\"\n"
        )),
        "issuer[0].trust_framework: keys come from the trust framework: remove jwks_file, jwks_uri and jwks"
    );
    assert_eq!(
        problem(&format!(
            "{wk}{issuer}trust_framework = \"https://w.example\"\nrequired_trust_marks = [\"m\"]\n"
        )),
        "issuer[0].required_trust_marks: trust marks exist only in oidf frameworks"
    );
    assert_eq!(
        problem(&format!(
            "{issuer}jwks_file = \"issuer.jwks.json\"\nrequired_trust_marks = [\"m\"]\n"
        )),
        "issuer[0].required_trust_marks: needs trust_framework"
    );
}

#[test]
fn configured_framework_identity_needs_asserted_true() {
    let client = "[[client]]\nclient_id = \"payer\"\njwks_file = \"app1.jwks.json\"\n";
    let identity = "trust_framework = \"https://tf.example\", framework_type = \"udap\", entity_uri = \"https://payer.example\"";
    let p = problem(&format!("{client}framework_identity = {{ {identity} }}\n"));
    assert!(
        p.starts_with("client[0].framework_identity: ") && p.contains("asserted = true"),
        "{p}"
    );
    let p = problem(&format!(
        "{client}framework_identity = {{ {identity}, asserted = false }}\n"
    ));
    assert!(p.contains("asserted = true"), "{p}");
    let p = problem(&format!(
        "{client}framework_identity = {{ trust_framework = \"https://tf\", framework_type = \"x509\", entity_uri = \"https://e\", asserted = true }}\n"
    ));
    assert!(
        p.starts_with("client[0].framework_identity.framework_type"),
        "{p}"
    );
    let cfg = parse(&format!(
        "{client}framework_identity = {{ {identity}, asserted = true }}\n"
    ))
    .unwrap();
    let fi = cfg.clients[0].framework_identity.as_ref().unwrap();
    assert_eq!(fi.entity_uri, "https://payer.example");
    assert_eq!(fi.framework_type, "udap");
}

#[test]
fn a_udap_community_cannot_be_listed_as_configured_membership() {
    let p = problem(
        "trust_frameworks = [\"https://network.example\", \"https://udap.example\"]\n\
         [[trust_framework]]\nid = \"https://udap.example\"\nframework_type = \"udap\"\nanchors_file = \"roots.pem\"\n",
    );
    assert!(
        p.starts_with("trust_frameworks[1]: ") && p.contains("certificate_file"),
        "{p}"
    );
}

#[test]
fn a_postgres_store_is_a_url_checked_for_syntax_only() {
    let d = dir_with_key();
    let text = |store: &str| {
        format!("listen = \"127.0.0.1:0\"\nbase_url = \"https://h/fhir\"\nstore = \"{store}\"\n")
    };
    for url in [
        "postgres://tessera@db.internal:5432/tessera",
        "postgresql://tessera@db.internal/tessera?application_name=node-a",
    ] {
        let cfg = Config::from_toml(&text(url), d.path()).unwrap();
        assert_eq!(cfg.store, StoreLocation::Postgres(url.into()));
    }
    let e = Config::from_toml(&text("postgres://x@h:port/db"), d.path())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "config key `store`: bad PostgreSQL URL: invalid connection string: invalid value for option `port`"
    );
}
