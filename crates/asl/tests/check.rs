//! `StateMachine::check` on broken machines: each reports exactly the expected problems.

use ocflow_asl::{AslDiagnostic, Code, Severity, StateMachine};
use serde_json::{Value, json};

/// Parses `machine` and asserts that `check()` reports exactly `expected` as
/// `(code, pointer, message)`, in order.
fn check(machine: Value, expected: &[(&str, &str, &str)]) {
    let machine: StateMachine = serde_json::from_value(machine).expect("parses");
    let found: Vec<(String, String, String)> = machine
        .check()
        .into_iter()
        .map(|d: AslDiagnostic| (d.code.as_str().to_owned(), d.pointer, d.message))
        .collect();
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(c, p, m)| ((*c).to_owned(), (*p).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(found, expected);
}

/// A JSONata machine around the given states.
fn machine(start_at: &str, states: Value) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": start_at, "States": states})
}

#[test]
fn valid_fixtures_have_no_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(Result::ok)
    {
        let text = std::fs::read_to_string(entry.path()).expect("readable");
        let machine: StateMachine = serde_json::from_str(&text).expect("parses");
        let diagnostics: Vec<String> = machine
            .check()
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        assert!(
            diagnostics.is_empty(),
            "{:?}: {diagnostics:#?}",
            entry.path()
        );
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn start_at_must_name_a_state() {
    check(
        machine("Begin", json!({"Start": {"Type": "Succeed"}})),
        &[(
            "unknown-start-at",
            "/StartAt",
            "`StartAt` names `Begin`, which is not a state here",
        )],
    );
}

#[test]
fn empty_states_are_reported() {
    check(
        machine("A", json!({})),
        &[(
            "empty-states",
            "/States",
            "a state machine or branch needs at least one state",
        )],
    );
}

#[test]
fn next_must_name_a_state_in_the_same_scope() {
    check(
        machine(
            "A",
            json!({
                "A": {"Type": "Pass", "Next": "Missing"},
                "B": {"Type": "Succeed"}
            }),
        ),
        &[
            (
                "unknown-target",
                "/States/A/Next",
                "`Missing` is not a state in this scope",
            ),
            (
                "unreachable-state",
                "/States/B",
                "no path from `StartAt` leads to `B`",
            ),
        ],
    );
}

#[test]
fn branches_are_their_own_scope() {
    check(
        machine(
            "P",
            json!({
                "P": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Next": "Done"}}}],
                    "Next": "Done"
                },
                "Done": {"Type": "Succeed"}
            }),
        ),
        &[(
            "unknown-target",
            "/States/P/Branches/0/States/Inner/Next",
            "`Done` is not a state in this scope",
        )],
    );
}

#[test]
fn choice_default_and_catch_targets_are_checked() {
    check(
        machine(
            "C",
            json!({
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $states.input.ok %}", "Next": "T"}],
                    "Default": "Nowhere"
                },
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}],
                    "End": true
                }
            }),
        ),
        &[
            (
                "unknown-target",
                "/States/C/Default",
                "`Nowhere` is not a state in this scope",
            ),
            (
                "unknown-target",
                "/States/T/Catch/0/Next",
                "`Gone` is not a state in this scope",
            ),
        ],
    );
}

#[test]
fn long_names_and_unloggable_names_are_flagged() {
    let long = "a".repeat(81);
    let machine_json = machine(
        "Get user",
        json!({
            "Get user": {"Type": "Pass", "Next": long},
            long.clone(): {"Type": "Succeed"}
        }),
    );
    let parsed: StateMachine = serde_json::from_value(machine_json.clone()).expect("parses");
    let severities: Vec<Severity> = parsed.check().iter().map(|d| d.severity).collect();
    assert_eq!(severities, [Severity::Warning, Severity::Error]);
    check(
        machine_json,
        &[
            (
                "name-characters",
                "/States/Get user",
                "state name `Get user` has characters outside `0-9 A-Z a-z - _`",
            ),
            (
                "name-too-long",
                &format!("/States/{long}"),
                "state name has 81 characters; at most 80 are allowed",
            ),
        ],
    );
}

#[test]
fn unreachable_states_are_reported() {
    check(
        machine(
            "A",
            json!({
                "A": {"Type": "Succeed"},
                "Orphan": {"Type": "Pass", "End": true}
            }),
        ),
        &[(
            "unreachable-state",
            "/States/Orphan",
            "no path from `StartAt` leads to `Orphan`",
        )],
    );
}

#[test]
fn loops_without_exit_are_reported() {
    check(
        machine(
            "A",
            json!({
                "A": {"Type": "Pass", "Next": "B"},
                "B": {"Type": "Wait", "Seconds": 5, "Next": "A"}
            }),
        ),
        &[
            (
                "no-exit",
                "/States/A",
                "no path from `A` reaches Succeed, Fail or `End: true`",
            ),
            (
                "no-exit",
                "/States/B",
                "no path from `B` reaches Succeed, Fail or `End: true`",
            ),
        ],
    );
}

#[test]
fn a_loop_with_a_choice_exit_is_fine() {
    check(
        machine(
            "Body",
            json!({
                "Body": {"Type": "Pass", "Assign": {"i": "{% $i + 1 %}"}, "Next": "Again?"},
                "Again?": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $i < 3 %}", "Next": "Body"}],
                    "Default": "Done"
                },
                "Done": {"Type": "Succeed"}
            }),
        ),
        &[(
            "name-characters",
            "/States/Again?",
            "state name `Again?` has characters outside `0-9 A-Z a-z - _`",
        )],
    );
}

#[test]
fn choice_needs_rules() {
    check(
        machine(
            "C",
            json!({"C": {"Type": "Choice", "Choices": [], "Default": "D"}, "D": {"Type": "Succeed"}}),
        ),
        &[(
            "empty-choice",
            "/States/C/Choices",
            "a Choice state needs at least one rule",
        )],
    );
}

#[test]
fn task_needs_a_resource() {
    check(
        machine("T", json!({"T": {"Type": "Task", "End": true}})),
        &[(
            "missing-resource",
            "/States/T/Resource",
            "a Task state needs a `Resource`",
        )],
    );
}

#[test]
fn terminal_states_cannot_have_next() {
    check(
        machine(
            "S",
            json!({"S": {"Type": "Succeed", "Next": "F"}, "F": {"Type": "Fail", "End": true}}),
        ),
        &[
            (
                "terminal-with-transition",
                "/States/S/Next",
                "a Succeed state cannot have `Next`",
            ),
            (
                "terminal-with-transition",
                "/States/F/End",
                "a Fail state cannot have `End`",
            ),
            (
                "unreachable-state",
                "/States/F",
                "no path from `StartAt` leads to `F`",
            ),
        ],
    );
}

#[test]
fn non_terminal_states_need_a_transition() {
    check(
        machine("P", json!({"P": {"Type": "Pass"}})),
        &[(
            "missing-transition",
            "/States/P",
            "a Pass state needs `Next` or `End: true`",
        )],
    );
}

#[test]
fn next_and_end_together_do_not_parse() {
    let broken = machine(
        "P",
        json!({"P": {"Type": "Pass", "Next": "P", "End": true}}),
    );
    let error = serde_json::from_value::<StateMachine>(broken)
        .err()
        .map(|e| e.to_string());
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("both `Next` and `End: true`")),
        "{error:?}"
    );
}

#[test]
fn jsonata_strings_need_the_exact_form() {
    check(
        machine(
            "T",
            json!({
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"Payload": {"id": "{%$states.input.id%}", "ok": "{% $x %}"}},
                    "TimeoutSeconds": "{% $t%}",
                    "Next": "C"
                },
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "$states.input.ok", "Next": "D"}],
                    "Default": "D"
                },
                "D": {"Type": "Fail", "Error": "{%'E'%}"}
            }),
        ),
        &[
            (
                "malformed-jsonata",
                "/States/T/Arguments/Payload/id",
                "`{%$states.input.id%}` is not a well-formed JSONata string",
            ),
            (
                "malformed-jsonata",
                "/States/T/TimeoutSeconds",
                "`{% $t%}` is not a well-formed JSONata string",
            ),
            (
                "malformed-jsonata",
                "/States/C/Choices/0/Condition",
                "`Condition` must be a JSONata string, got `$states.input.ok`",
            ),
            (
                "malformed-jsonata",
                "/States/D/Error",
                "`{%'E'%}` is not a well-formed JSONata string",
            ),
        ],
    );
}

#[test]
fn retry_values_must_be_in_range() {
    check(
        machine(
            "T",
            json!({
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Retry": [{
                        "ErrorEquals": ["Ocf.Http5xx"],
                        "IntervalSeconds": 0,
                        "MaxAttempts": -1,
                        "BackoffRate": 0.5,
                        "MaxDelaySeconds": 0
                    }],
                    "End": true
                }
            }),
        ),
        &[
            (
                "retry-out-of-range",
                "/States/T/Retry/0/IntervalSeconds",
                "`IntervalSeconds` is 0; it must be at least 1",
            ),
            (
                "retry-out-of-range",
                "/States/T/Retry/0/MaxAttempts",
                "`MaxAttempts` is -1; it must be at least 0",
            ),
            (
                "retry-out-of-range",
                "/States/T/Retry/0/BackoffRate",
                "`BackoffRate` is 0.5; it must be at least 1.0",
            ),
            (
                "retry-out-of-range",
                "/States/T/Retry/0/MaxDelaySeconds",
                "`MaxDelaySeconds` is 0; it must be at least 1",
            ),
        ],
    );
}

#[test]
fn invalid_jitter_strategy_does_not_parse() {
    let broken = machine(
        "T",
        json!({"T": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}], "End": true}}),
    );
    assert!(serde_json::from_value::<StateMachine>(broken).is_err());
}

#[test]
fn states_all_must_be_alone_and_last() {
    check(
        machine(
            "T",
            json!({
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Retry": [
                        {"ErrorEquals": ["States.ALL"]},
                        {"ErrorEquals": ["States.Timeout"]}
                    ],
                    "Catch": [{"ErrorEquals": [], "Next": "T"}],
                    "End": true
                }
            }),
        ),
        &[
            (
                "states-all-position",
                "/States/T/Retry/0/ErrorEquals",
                "`States.ALL` must appear alone, in the last entry",
            ),
            (
                "empty-error-equals",
                "/States/T/Catch/0/ErrorEquals",
                "`ErrorEquals` needs at least one error name",
            ),
        ],
    );
}

#[test]
fn jsonpath_fields_are_refused_in_a_jsonata_machine() {
    check(
        machine(
            "T",
            json!({
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"a.$": "$.a"},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "P"}],
                    "ResultPath": "$.result",
                    "End": true
                },
                "P": {"Type": "Pass", "QueryLanguage": "JSONPath", "OutputPath": "$.x", "End": true}
            }),
        ),
        &[
            (
                "jsonpath-field",
                "/States/T/Parameters",
                "`Parameters` is a JSONPath field; this state uses JSONata",
            ),
            (
                "jsonpath-field",
                "/States/T/ResultPath",
                "`ResultPath` is a JSONPath field; this state uses JSONata",
            ),
            (
                "jsonpath-field",
                "/States/T/Catch/0/ResultPath",
                "`ResultPath` is a JSONPath field; this state uses JSONata",
            ),
            (
                "jsonpath-state",
                "/States/P/QueryLanguage",
                "a machine that is JSONata at the top cannot hold JSONPath states",
            ),
        ],
    );
}

#[test]
fn structural_problems_of_parallel_map_and_wait_are_reported() {
    check(
        machine(
            "P",
            json!({
                "P": {"Type": "Parallel", "Branches": [], "Next": "M"},
                "M": {"Type": "Map", "Next": "D"},
                "D": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                        "StartAt": "W",
                        "States": {"W": {"Type": "Wait", "End": true}}
                    },
                    "End": true
                }
            }),
        ),
        &[
            (
                "empty-branches",
                "/States/P/Branches",
                "a Parallel state needs at least one branch",
            ),
            (
                "missing-item-processor",
                "/States/M",
                "a Map state needs an `ItemProcessor`",
            ),
            (
                "missing-execution-type",
                "/States/D/ItemProcessor/ProcessorConfig",
                "a distributed Map needs an `ExecutionType` (STANDARD or EXPRESS)",
            ),
            (
                "wait-duration",
                "/States/D/ItemProcessor/States/W",
                "a Wait state needs exactly one of `Seconds` and `Timestamp`",
            ),
        ],
    );
}

#[test]
fn state_names_are_unique_across_scopes() {
    check(
        machine(
            "Work",
            json!({
                "Work": {
                    "Type": "Map",
                    "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Succeed"}}},
                    "End": true
                }
            }),
        ),
        &[(
            "duplicate-state-name",
            "/States/Work/ItemProcessor/States/Work",
            "state name `Work` is already used at /States/Work",
        )],
    );
}

#[test]
fn all_problems_are_collected_at_once() {
    let broken: StateMachine = serde_json::from_value(machine(
        "Missing",
        json!({
            "T": {"Type": "Task", "Next": "Nowhere"},
            "C": {"Type": "Choice", "Choices": []}
        }),
    ))
    .expect("parses");
    let codes: Vec<Code> = broken.check().iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            Code::UnknownStartAt,
            Code::UnknownTarget,
            Code::MissingResource,
            Code::EmptyChoice
        ]
    );
}
