//! Hand-written ASL fixtures parse into the model and serialise back to the same text.

use std::fs;
use std::path::Path;

use ocflow_asl::StateMachine;

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, String)> = fs::read_dir(&dir)
        .expect("fixtures directory")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with(".asl.json"))
        .map(|path| {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, fs::read_to_string(&path).expect("readable fixture"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn fixtures_round_trip_to_identical_json() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 6,
        "expected the fixture set, found {}",
        fixtures.len()
    );
    for (name, text) in fixtures {
        let machine: StateMachine =
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("{name}: {error}"));
        let original: serde_json::Value = serde_json::from_str(&text).expect("valid json");
        let written = serde_json::to_string_pretty(&machine).expect("serialisable");
        assert_eq!(
            written,
            serde_json::to_string_pretty(&original).expect("serialisable"),
            "{name} changed in the round trip"
        );
        let again: StateMachine = serde_json::from_str(&written).expect("reparses");
        assert_eq!(again, machine, "{name} differs after a second parse");
    }
}
