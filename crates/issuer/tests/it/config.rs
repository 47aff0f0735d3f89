//! Configuration: the printed example is complete and loads; every bad value is an error
//! naming its key.

use std::path::Path;

use tessera_issuer::{Config, ConfigError, EXAMPLE_CONFIG};
use tessera_ticket::TicketType;

use crate::support::es256;

/// Writes the files the example config refers to, and the config itself.
fn example_dir(config: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: String| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "keys/issuer-2026b.private.jwk.json",
        es256().to_value().to_string(),
    );
    write(
        "keys/issuer-2026a.private.jwk.json",
        es256().to_value().to_string(),
    );
    let client = es256();
    write(
        "clients/enrollment-portal.jwks.json",
        serde_json::json!({"keys": [client.public().to_value()]}).to_string(),
    );
    let path = dir.path().join("issuer.toml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

#[test]
fn the_example_config_loads() {
    let (dir, path) = example_dir(EXAMPLE_CONFIG);
    let c = Config::load(&path).unwrap();
    assert_eq!(c.issuer, "https://issuer.example.org");
    assert!(!c.demo_mode);
    assert_eq!(c.status_max_age, 60);
    assert_eq!(
        c.store,
        tessera_issuer::StoreLocation::Sqlite(dir.path().join("issuer.sqlite3"))
    );
    assert_eq!(c.keys.retired().len(), 1);
    assert_eq!(c.keys.retired()[0].retired_at, 1_780_272_000);
    assert_eq!(
        c.list_for(TicketType::SelfAccess).unwrap().name,
        "individual"
    );
    assert_eq!(
        c.list_for(TicketType::QualityGap).unwrap().name,
        "organizational"
    );
    assert_eq!(c.clients[0].ticket_types.len(), 2);
}

fn error_of(config: &str) -> String {
    let (_dir, path) = example_dir(config);
    match Config::load(Path::new(&path)) {
        Err(e @ (ConfigError::Invalid { .. } | ConfigError::Parse { .. })) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        (
            EXAMPLE_CONFIG.replace("https://issuer.example.org", "http://issuer.example.org"),
            "config key `issuer`",
        ),
        (
            EXAMPLE_CONFIG.replace("listen = \"127.0.0.1:8090\"", "listen = \"here\""),
            "config key `listen`",
        ),
        (
            EXAMPLE_CONFIG.replace("status = \"retired\"", "status = \"paused\""),
            "config key `key[1].status`",
        ),
        (
            EXAMPLE_CONFIG.replace("retired_at = 2026-06-01T00:00:00Z", ""),
            "config key `key[1].retired_at`",
        ),
        (
            EXAMPLE_CONFIG
                .replace("status = \"retired\"", "status = \"active\"")
                .replace("retired_at = 2026-06-01T00:00:00Z", ""),
            "config key `key[1].status`: more than one active key",
        ),
        (
            EXAMPLE_CONFIG.replace("issuer-2026b.private", "missing"),
            "config key `key[0].file`",
        ),
        (
            EXAMPLE_CONFIG.replace("size = 131072                   #", "size = 12 #"),
            "config key `status_list[0].size`",
        ),
        (
            EXAMPLE_CONFIG.replace(
                "name = \"organizational\"\nsize = 131072",
                "name = \"organizational\"\nsize = 131072\nticket_types = [\"payer_claims\"]",
            ),
            "config key `status_list`: no list for quality_gap, public_health",
        ),
        (
            EXAMPLE_CONFIG.replace(
                "quality_gap = { default = \"120d\"",
                "quality_gap = { default = \"400d\"",
            ),
            "config key `lifetimes.quality_gap`: default is longer than max",
        ),
        (
            EXAMPLE_CONFIG.replace(
                "payer_claims = { default = \"60d\"",
                "payer_claims = { default = \"60w\"",
            ),
            "config key `lifetimes.payer_claims.default`",
        ),
        (
            EXAMPLE_CONFIG.replace("[lifetimes]", "[lifetimes]\nfun_access = { max = 1 }"),
            "config key `lifetimes.fun_access`: unknown ticket type",
        ),
        (
            EXAMPLE_CONFIG.replace(
                "ticket_types = [\"self_access\", \"delegated_access\"]\n\n[[status_list]]",
                "ticket_types = [\"selfie\"]\n\n[[status_list]]",
            ),
            "config key `status_list[0].ticket_types`",
        ),
        (
            EXAMPLE_CONFIG.replace("client_id = \"enrollment-portal\"", "client_id = \"demo\""),
            "config key `client[0].client_id`",
        ),
        (
            EXAMPLE_CONFIG.replace("jwks_file = ", "jwks = {}\njwks_file = "),
            "config key `client[0].jwks`",
        ),
        (
            EXAMPLE_CONFIG.replace("demo_mode = false", "demo_mode = false\ndemo_mod = true"),
            "unknown field `demo_mod`",
        ),
    ];
    for (config, expected) in cases {
        let e = error_of(&config);
        assert!(e.contains(expected), "expected {expected:?} in {e:?}");
    }
}

#[test]
fn the_workbench_needs_an_admin_secret_of_sixteen_characters() {
    let with = |token: Option<&str>| {
        let mut c = EXAMPLE_CONFIG.replacen(
            "issuer = \"https://issuer.example.org\"",
            &format!(
                "issuer = \"https://issuer.example.org\"\n{}",
                token
                    .map(|t| format!("admin_token = \"{t}\""))
                    .unwrap_or_default()
            ),
            1,
        );
        c.push_str("\n[workbench]\nenabled = true\n");
        c
    };
    let e = error_of(&with(None));
    assert!(
        e.contains("config key `workbench.enabled`: needs admin_token"),
        "{e}"
    );
    let e = error_of(&with(Some("short")));
    assert!(e.contains("config key `admin_token`"), "{e}");
    let (_dir, path) = example_dir(&with(Some("operator-secret-0123456789")));
    let c = Config::load(&path).unwrap();
    assert!(c.workbench);
    assert_eq!(c.admin_token.as_deref(), Some("operator-secret-0123456789"));
    let (_dir, path) = example_dir(EXAMPLE_CONFIG);
    assert!(!Config::load(&path).unwrap().workbench, "off by default");
}
