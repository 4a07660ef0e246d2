//! Mermaid and Graphviz renderings of fixtures, as insta snapshots.

use ocflow_asl::{StateMachine, to_dot, to_mermaid};

fn fixture(name: &str) -> StateMachine {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("readable fixture");
    serde_json::from_str(&text).expect("fixture parses")
}

#[test]
fn mermaid_of_parallel_fixture() {
    insta::assert_snapshot!(to_mermaid(&fixture("parallel.asl.json")));
}

#[test]
fn dot_of_parallel_fixture() {
    insta::assert_snapshot!(to_dot(&fixture("parallel.asl.json")));
}

#[test]
fn mermaid_of_choice_fixture() {
    insta::assert_snapshot!(to_mermaid(&fixture("choice-wait-pass.asl.json")));
}

#[test]
fn dot_of_map_fixture() {
    insta::assert_snapshot!(to_dot(&fixture("map-inline.asl.json")));
}
