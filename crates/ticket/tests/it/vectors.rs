//! Every generated case in `test-vectors/tickets/{ok,err}` (written by `cargo xtask vectors`)
//! checked against its JSON: `now`, `leeway`, key file, options and the expected outcome.

use serde_json::Value;
use tessera_ticket::{AccessOptions, VerifyOptions};

use crate::support::{check, keys, read, vectors_dir};

#[test]
fn generated_ticket_vectors() {
    let mut count = 0;
    for dir in ["ok", "err"] {
        let path = vectors_dir().join("tickets").join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        for name in names {
            let case: Value =
                serde_json::from_str(&read(&format!("tickets/{dir}/{name}"))).unwrap();
            let stem = name.trim_end_matches(".json");
            let token = read(&format!("tickets/{dir}/{stem}.jwt"));
            let opts = VerifyOptions {
                leeway: case["leeway"].as_i64().unwrap(),
                access: AccessOptions {
                    legacy_access_shapes: case["legacy_access_shapes"].as_bool().unwrap(),
                    ..AccessOptions::default()
                },
                ..VerifyOptions::default()
            };
            let expected = &case["expected"];
            assert_eq!(
                dir == "ok",
                expected.get("ok").is_some(),
                "{name} is in the wrong directory"
            );
            check(
                stem,
                &token,
                &keys(case["keys"].as_str().unwrap()),
                case["now"].as_i64().unwrap(),
                &opts,
                expected,
            );
            count += 1;
        }
    }
    assert!(count >= 40, "only {count} vectors");
}
