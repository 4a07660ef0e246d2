//! Property tests: parsing, validating and reading references never panic, whatever the input.
//!
//! Longer runs: `PROPTEST_CASES=200000 cargo test -p ocflow-dsl --release --test fuzz`
//! (see README.md).

use ocflow_dsl::params::{Param, resolve};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Keys the model knows, so generated objects reach deep into the typed model.
const KEYS: &[&str] = &[
    "name",
    "taskReferenceName",
    "type",
    "tasks",
    "inputParameters",
    "outputParameters",
    "decisionCases",
    "defaultCase",
    "forkTasks",
    "loopOver",
    "loopCondition",
    "evaluatorType",
    "expression",
    "caseValueParam",
    "subWorkflowParam",
    "workflowDefinition",
    "taskDefinition",
    "timeoutSeconds",
    "responseTimeoutSeconds",
    "retryLogic",
    "joinOn",
    "workflowDef",
    "startWorkflow",
    "workflowId",
    "event",
    "actions",
    "version",
    "optional",
    "x",
];

const TYPES: &[&str] = &[
    "SIMPLE",
    "SWITCH",
    "DECISION",
    "FORK_JOIN",
    "FORK_JOIN_DYNAMIC",
    "JOIN",
    "DO_WHILE",
    "SUB_WORKFLOW",
    "HTTPS",
    "",
    "worker",
];

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,6}",
        "\\PC{0,12}",
        prop::sample::select(TYPES).prop_map(str::to_owned),
        "[a-z$.{}\\[\\]'*0-9 ]{0,16}".prop_map(|s| format!("${{{s}}}")),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (prop::sample::select(KEYS).prop_map(str::to_owned), inner),
                0..6
            )
            .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn check_text(text: &str) {
    let (document, diagnostics) = ocflow_dsl::check_document("fuzz.json", text);
    if let Some(document) = document {
        for (_, def) in document.workflows() {
            let _ = def.walk();
        }
    }
    for d in &diagnostics {
        let _ = d.to_string();
    }
}

proptest! {
    #[test]
    fn fuzz_documents_never_panic(value in json()) {
        check_text(&value.to_string());
    }

    #[test]
    fn fuzz_raw_text_never_panics(text in "\\PC{0,64}") {
        check_text(&text);
    }

    #[test]
    fn fuzz_references_never_panic(text in "[$\\{\\}a-z.\\[\\]'\"*0-9 -]{0,40}", data in json()) {
        let param = Param::parse_str(&text);
        let _ = param.references();
        let scope = json!({"workflow": data.clone(), "t": data});
        let _ = resolve(&param, &scope);
    }

    #[test]
    fn fuzz_any_string_reference_never_panics(text in "\\PC{0,40}") {
        let param = Param::parse_str(&text);
        let _ = resolve(&param, &Value::Null);
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    // 60 nested DO_WHILE levels (120 JSON levels): within serde_json's recursion limit of 128.
    // Built as text: a deep `Value` would itself recurse when written or dropped.
    let nest = |levels: usize| {
        let mut text = String::from(r#"{"name":"leaf","taskReferenceName":"leaf"}"#);
        for depth in 0..levels {
            text = format!(
                r#"{{"name":"l","taskReferenceName":"l{depth}","type":"DO_WHILE","loopCondition":"false","loopOver":[{text}]}}"#
            );
        }
        format!(r#"{{"name":"deep","tasks":[{text}]}}"#)
    };
    // 20 nested DO_WHILE levels (43 JSON levels) are read and walked.
    let (document, diagnostics) = ocflow_dsl::check_document("deep.json", &nest(20));
    let document = document.expect("parses");
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(document.workflows()[0].1.walk().len(), 21);
    // Past MAX_DEPTH: refused with a diagnostic instead of risking the stack.
    let (document, diagnostics) = ocflow_dsl::check_document("deeper.json", &nest(40));
    assert!(document.is_none());
    assert_eq!(
        diagnostics[0].message,
        "document is nested 83 levels deep; the limit is 48"
    );
    // Past serde_json's recursion limit: a syntax error.
    let (document, diagnostics) = ocflow_dsl::check_document("deepest.json", &nest(200));
    assert!(document.is_none());
    assert_eq!(diagnostics[0].code, "json-syntax");
}
