//! `tessera link`: operator person linkage on a Data Holder's store (issue 14) — links from
//! the data's enterprise identifier, a conflicting assertion quarantining records, and the
//! refusals (unknown system, unknown record), each one exact line on stderr.

use serde_json::{Value, json};

use crate::{fails_with, ok, path_str, tessera};

const A1: &str = "0a000000-0000-4000-8000-000000000001";
const B1: &str = "0b000000-0000-4000-8000-000000000001";
const B2: &str = "0b000000-0000-4000-8000-000000000002";

fn patient(id: &str, person: &str) -> Value {
    json!({"fullUrl": format!("urn:uuid:{id}"), "resource": {"resourceType": "Patient", "id": id,
        "identifier": [{"system": "urn:person", "value": person}],
        "birthDate": "1970-01-01", "name": [{"family": "Doe", "given": ["Jo"]}]}})
}

/// The data and a configuration on `store` (`None`: an SQLite file beside the data).
fn setup(store: Option<&str>) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let bundle = |entries: Vec<Value>| {
        json!({"resourceType": "Bundle", "type": "collection", "entry": entries}).to_string()
    };
    std::fs::write(data.join("site-a.json"), bundle(vec![patient(A1, "p1")])).unwrap();
    std::fs::write(
        data.join("site-b.json"),
        bundle(vec![patient(B1, "p1"), patient(B2, "p2")]),
    )
    .unwrap();
    let config = dir.path().join("holder.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nbase_url = \"https://dh.example/fhir\"\n\
             store = \"{}\"\nload = [\"{}\"]\n\
             [linkage]\nenterprise_identifier_systems = [\"urn:person\"]\n",
            match store {
                Some(url) => url.to_owned(),
                None => format!("sqlite://{}", dir.path().join("holder.db").display()),
            },
            data.display()
        ),
    )
    .unwrap();
    let config = path_str(&config).to_owned();
    (dir, config)
}

#[test]
fn link_add_remove_show_and_refusals() {
    link_add_remove_show_and_refusals_on(None);
}

// The same on PostgreSQL: the operator edits the linkage every node shares.
#[test]
fn link_add_remove_show_and_refusals_on_postgres() {
    let Some(db) = tessera_store_pg::testing::TestDb::new() else {
        return;
    };
    link_add_remove_show_and_refusals_on(Some(db.url()));
}

fn link_add_remove_show_and_refusals_on(store: Option<&str>) {
    let (_dir, config) = setup(store);
    let c = config.as_str();
    // Refusals first: they load the data, and name exactly what is wrong.
    fails_with(
        &tessera(
            &[
                "link",
                "add",
                "--config",
                c,
                A1,
                "--identifier",
                "urn:other|x",
            ],
            None,
        ),
        "error: urn:other is not a configured enterprise identifier system",
    );
    fails_with(
        &tessera(
            &[
                "link",
                "add",
                "--config",
                c,
                "Patient/nope",
                "--same-as",
                A1,
            ],
            None,
        ),
        "error: Patient/nope does not exist",
    );
    // The data's enterprise identifier links a1 and b1; b2 is a person of its own.
    let shown: Value =
        serde_json::from_str(&ok(&tessera(&["link", "show", "--config", c], None))).unwrap();
    let persons = shown["persons"].as_array().unwrap();
    assert_eq!(persons.len(), 1, "{shown}");
    assert_eq!(persons[0]["records"].as_array().unwrap().len(), 2);
    // Claiming b2 for person p1 too: the connected records carry p1 and p2 ⇒ quarantined.
    let out = tessera(
        &[
            "link",
            "add",
            "--config",
            c,
            &format!("Patient/{B2}"),
            "--identifier",
            "urn:person|p1",
        ],
        None,
    );
    let summary: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(
        summary["conflicts"].as_array().unwrap().len(),
        3,
        "{summary}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("warning: Patient/{B2} quarantined")),
        "{stderr}"
    );
    let conflicts: Value = serde_json::from_str(&ok(&tessera(
        &["link", "show", "--config", c, "--conflicts"],
        None,
    )))
    .unwrap();
    assert_eq!(conflicts["conflicts"].as_array().unwrap().len(), 3);
    // Removing the assertion restores the linkage; every change is a version.
    ok(&tessera(
        &[
            "link",
            "remove",
            "--config",
            c,
            B2,
            "--identifier",
            "urn:person|p1",
        ],
        None,
    ));
    let shown: Value =
        serde_json::from_str(&ok(&tessera(&["link", "show", "--config", c], None))).unwrap();
    assert!(shown["conflicts"].as_array().unwrap().is_empty());
    assert_eq!(shown["persons"].as_array().unwrap().len(), 1);
    assert_eq!(shown["assertions"].as_array().unwrap().len(), 2);
    assert!(shown["versions"].as_array().unwrap().len() >= 3, "{shown}");
    // The two refused requests are audited with their reasons.
    let refusals = shown["refusals"].as_array().unwrap();
    assert_eq!(refusals.len(), 2, "{shown}");
    assert_eq!(refusals[0]["error"], "Patient/nope does not exist");
    assert_eq!(
        refusals[1]["error"],
        "urn:other is not a configured enterprise identifier system"
    );
}
