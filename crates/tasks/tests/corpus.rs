//! Every INLINE/LAMBDA script, JavaScript condition and JSON_JQ_TRANSFORM query of the Conductor
//! corpus (`../shared/conductor-corpus`, read in place), run on a plausible input and checked.
//!
//! The tables below are keyed by the expression text (whitespace collapsed). A corpus expression
//! missing from its table fails the test, so a new corpus file cannot slip through unchecked.
//! Where Conductor's own specs state an outcome (JsonJQTransformSpec, LambdaAndTerminateTaskSpec,
//! DecisionTaskSpec), the expectation here is that outcome.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ocflow_protocol::errors;
use ocflow_protocol::payload::{ScriptKind, ScriptRequest};
use ocflow_tasks::script::{self, ScriptContext};
use serde_json::{Value, json};

fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conductor-corpus");
    dir.is_dir().then_some(dir)
}

/// What a script must produce.
enum Expect {
    /// Exactly this value.
    Value(Value),
    /// A value passing this check (random or large results).
    Check(fn(&Value) -> bool),
    /// A failure with this error name.
    Fails(&'static str),
}

/// One corpus expression with the input it runs on.
struct Case {
    expression: &'static str,
    input: Value,
    expect: Expect,
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
struct Found {
    javascript: BTreeSet<String>,
    conditions: BTreeSet<String>,
    jq: BTreeSet<String>,
}

fn walk(value: &Value, found: &mut Found) {
    match value {
        Value::Object(map) => {
            let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
            let params = map.get("inputParameters");
            let param = |key: &str| params.and_then(|p| p.get(key)).and_then(Value::as_str);
            match kind {
                "INLINE" | "LAMBDA" => {
                    let evaluator = param("evaluatorType").unwrap_or("javascript");
                    if let Some(expression) = param("expression").or(param("scriptExpression"))
                        && evaluator != "value-param"
                    {
                        found.javascript.insert(collapse(expression));
                    }
                }
                "JSON_JQ_TRANSFORM" => {
                    if let Some(query) = param("queryExpression") {
                        found.jq.insert(collapse(query));
                    }
                }
                "SWITCH" | "DECISION" | "DO_WHILE" => {
                    let evaluator = map.get("evaluatorType").and_then(Value::as_str);
                    let expression = map
                        .get("expression")
                        .or(map.get("caseExpression"))
                        .or(map.get("loopCondition"))
                        .and_then(Value::as_str);
                    if let Some(expression) = expression
                        && evaluator != Some("value-param")
                    {
                        found.conditions.insert(collapse(expression));
                    }
                }
                _ => {}
            }
            map.values().for_each(|v| walk(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
        _ => {}
    }
}

fn javascript_cases() -> Vec<Case> {
    let lambda_a = |expression| Case {
        expression,
        input: json!({"input": {"a": 1}}),
        // LambdaAndTerminateTaskSpec: a == 1 gives testvalue true.
        expect: Expect::Value(json!({"testvalue": true})),
    };
    let lambda_value = |expression| Case {
        expression,
        input: json!({"lambdaValue": 2}),
        expect: Expect::Value(json!({"testvalue": "Lambda value was NOT 1", "iValue": 13})),
    };
    let sum = |expression| Case {
        expression,
        input: json!({"value1": 1, "value2": 2}),
        expect: Expect::Value(json!(3)),
    };
    vec![
        Case {
            expression: "({ status: 'confirmed', when: $.when })",
            input: json!({"when": "tomorrow 10:00"}),
            expect: Expect::Value(json!({"status": "confirmed", "when": "tomorrow 10:00"})),
        },
        Case {
            expression: r#"[ { "name": "fail_on_purpose", "taskReferenceName": "fail_on_purpose_ref", "inputParameters": { "task_id": "$"+"{CPEWF_TASK_ID}" }, "type": "SIMPLE", "defaultCase": [], "forkTasks": [], "startDelay": 0, "joinOn": [], "optional": false, "defaultExclusiveJoinTask": [], "asyncComplete": false, "loopOver": [] } ]"#,
            input: json!({}),
            expect: Expect::Check(|v| {
                v[0]["inputParameters"]["task_id"] == "${CPEWF_TASK_ID}"
                    && v[0]["name"] == "fail_on_purpose"
                    && v.as_array().map(Vec::len) == Some(1)
            }),
        },
        Case {
            expression: r#"(function () { let r = Math.floor(Math.random() * 10) + 1; return r > 3 ? "c": "d"; })();"#,
            input: json!({"value1": 1, "value2": 2}),
            expect: Expect::Check(|v| v == "c" || v == "d"),
        },
        sum("(function () { return $.value1 + $.value2; })();"),
        Case {
            expression: r#"(function () { return $.iteration > 25 ? "stop": "continue"; })();"#,
            input: json!({"iteration": 26}),
            expect: Expect::Value(json!("stop")),
        },
        Case {
            expression: "(function () { const current = $.iteration; return current; })();",
            input: json!({"iteration": {"iteration": 2}}),
            expect: Expect::Value(json!({"iteration": 2})),
        },
        Case {
            expression: r#"(function() { return { "tasks": [ { "optional": true, "name" : "simple_1", "taskReferenceName": "simple_1", "type": "SIMPLE" }, { "optional": true, "name" : "simple_2", "taskReferenceName": "simple_2", "type": "SIMPLE" }, { "optional": true, "name" : "simple_3", "taskReferenceName": "simple_3", "type": "SIMPLE" } ], "inputs" : { "simple_1": {}, "simple_2": {}, "simple_3": {}, } } })();"#,
            input: json!({}),
            expect: Expect::Check(|v| {
                v["tasks"].as_array().map(Vec::len) == Some(3)
                    && v["tasks"][2]["taskReferenceName"] == "simple_3"
                    && v["inputs"] == json!({"simple_1": {}, "simple_2": {}, "simple_3": {}})
            }),
        },
        Case {
            expression: "return {locationRanId: 'some location id'}",
            input: json!({}),
            expect: Expect::Value(json!({"locationRanId": "some location id"})),
        },
        Case {
            expression: "return {};",
            input: json!({}),
            expect: Expect::Value(json!({})),
        },
        Case {
            expression: "({result: 'specific case executed'})",
            input: json!({}),
            expect: Expect::Value(json!({"result": "specific case executed"})),
        },
        Case {
            expression: "({result: 'default case executed', iteration: $.do_while_switch_ref['iteration']})",
            input: json!({"do_while_switch_ref": {"iteration": 2}}),
            expect: Expect::Value(json!({"result": "default case executed", "iteration": 2})),
        },
        Case {
            expression: "({processed: true, id: 1})",
            input: json!({}),
            expect: Expect::Value(json!({"processed": true, "id": 1})),
        },
        Case {
            expression: "({processed: true, id: 2})",
            input: json!({}),
            expect: Expect::Value(json!({"processed": true, "id": 2})),
        },
        Case {
            expression: "({message: 'Timeline UI should render correctly for both DO_WHILE scenarios', switch_iterations: $.do_while_switch_ref['iteration'], fork_iterations: $.do_while_fork_ref['iteration']})",
            input: json!({"do_while_switch_ref": {"iteration": 3}, "do_while_fork_ref": {"iteration": 2}}),
            expect: Expect::Value(json!({
                "message": "Timeline UI should render correctly for both DO_WHILE scenarios",
                "switch_iterations": 3, "fork_iterations": 2
            })),
        },
        Case {
            // GraalJS host interop: `list.get(i)` on a Java list.
            expression: "function getElement() { return $.list.get($.iterator - 1); } getElement();",
            input: json!({"list": [{"number": 5}, {"number": 7}], "iterator": 2}),
            expect: Expect::Value(json!({"number": 7})),
        },
        Case {
            expression: "function compute() { return $.number+10; } compute();",
            input: json!({"number": 7}),
            expect: Expect::Value(json!(17)),
        },
        lambda_a("if ($.input.a==1){return {testvalue: true}} else{return {testvalue: false}}"),
        lambda_a("if ($.input.a==1){return {testvalue: true}} else{return {testvalue: false} }"),
        lambda_value(
            "var i = 10; if ($.lambdaValue == 1){ return {testvalue: 'Lambda value was 1', iValue: i} } else { return {testvalue: 'Lambda value was NOT 1', iValue: i + 3} }",
        ),
        Case {
            expression: "function e() { return {testvalue: true}; } e();",
            input: json!({"input": {}}),
            expect: Expect::Value(json!({"testvalue": true})),
        },
        Case {
            expression: "function e() { return {should_not_execute: true}; } e();",
            input: json!({}),
            expect: Expect::Value(json!({"should_not_execute": true})),
        },
    ]
}

fn condition_cases() -> Vec<Case> {
    let loop_case = |expression, input: Value, result: bool| Case {
        expression,
        input,
        expect: Expect::Value(json!(result)),
    };
    vec![
        Case {
            expression: "$.case == 'one' ? 'one' : ($.case == 'two' ? 'two' : ($.case == 'three' ? 'three' : 'other'))",
            input: json!({"case": "two"}),
            expect: Expect::Value(json!("two")),
        },
        loop_case(
            "$.status != 'Completed'",
            json!({"status": "Completed"}),
            false,
        ),
        loop_case(
            "if ( $.loop_count['iteration'] < $.loop_until_success ) { true; } else { false; }",
            json!({"loop_count": {"iteration": 1}, "loop_until_success": 2}),
            true,
        ),
        Case {
            expression: "$.number < 15 ? 'LONG':'LONG'",
            input: json!({"number": 20}),
            expect: Expect::Value(json!("LONG")),
        },
        loop_case(
            "if ($.loopTask['iteration'] < $.value ) { true;} else {false;}",
            json!({"loopTask": {"iteration": 5}, "value": 5}),
            false,
        ),
        loop_case(
            "if ($.loopTask['iteration'] < $.value ) { true; } else { false; }",
            json!({"loopTask": {"iteration": 1}, "value": 5}),
            true,
        ),
        loop_case(
            "if ($.loopTask['iteration'] < $.value) { true; } else { false;}",
            json!({"loopTask": {"iteration": 1}, "value": 2}),
            true,
        ),
        loop_case(
            "if ($.loopTask2['iteration'] < $.value) { true; } else { false; }",
            json!({"loopTask2": {"iteration": 2}, "value": 2}),
            false,
        ),
        loop_case(
            "if ($.value > 0) { true; } else { false; }",
            json!({"value": 0}),
            false,
        ),
        loop_case(
            "(function () {if ($.do_while_switch_ref['iteration'] < $.loop_limit) {return true;} return false;})();",
            json!({"do_while_switch_ref": {"iteration": 1}, "loop_limit": 3}),
            true,
        ),
        loop_case(
            "(function () {if ($.do_while_fork_ref['iteration'] < $.loop_limit) {return true;} return false;})();",
            json!({"do_while_fork_ref": {"iteration": 3}, "loop_limit": 3}),
            false,
        ),
        loop_case(
            "$.LoopTask['iteration'] < $.list.length",
            json!({"LoopTask": {"iteration": 1}, "list": [1, 2]}),
            true,
        ),
        loop_case("$.param > 0", json!({"param": 17}), true),
        // JsonJQTransformSpec: requested "redeliver" is among the available actions.
        Case {
            expression: r#"if ($.availableActions.indexOf($.requestedAction) >= 0) { "true" } else { "false" }"#,
            input: json!({"availableActions": ["redeliver", "redeliver_from_validation_error", "redelivery"], "requestedAction": "redeliver"}),
            expect: Expect::Value(json!("true")),
        },
    ]
}

/// jq cases: the query as written in the corpus, the query actually run (a `${...}` reference is
/// resolved before the task runs), the input and the expected `result`.
fn jq_cases() -> Vec<(Case, Option<&'static str>)> {
    let kitchen = || Case {
        expression: "{ key3: (.key1.value1 + .key2.value2) }",
        // The corpus passes value2 at the top level, so `.key2.value2` is null and `+` keeps the array.
        input: json!({"key1": {"value1": ["a", "b"]}, "value2": ["d", "e"]}),
        expect: Expect::Value(json!({"key3": ["a", "b"]})),
    };
    vec![
        (
            Case {
                expression: r#"((.failed.tasks // []) | map(select(.status == "COMPLETED")) | map(.referenceTaskName)) as $done | {done: $done, orderId: ((.failed.input.orderId) // "unknown"), undoPayment: ($done | index("charge_payment") != null), undoInventory: ($done | index("reserve_inventory") != null)}"#,
                input: json!({"failed": {"input": {"orderId": "o-17"}, "tasks": [
                    {"referenceTaskName": "charge_payment", "status": "COMPLETED"},
                    {"referenceTaskName": "reserve_inventory", "status": "FAILED"}
                ]}}),
                expect: Expect::Value(
                    json!({"done": ["charge_payment"], "orderId": "o-17", "undoPayment": true, "undoInventory": false}),
                ),
            },
            None,
        ),
        (kitchen(), None),
        (
            Case {
                expression: ".persons | map({user:{email,id}})",
                input: json!({"persons": [
                    {"name": "some", "last": "name", "email": "mail@mail.com", "id": 1},
                    {"name": "some2", "last": "name2", "email": "mail2@mail.com", "id": 2}
                ]}),
                expect: Expect::Value(json!([
                    {"user": {"email": "mail@mail.com", "id": 1}},
                    {"user": {"email": "mail2@mail.com", "id": 2}}
                ])),
            },
            None,
        ),
        (
            Case {
                expression: r#"{ out: ({ "locationId": .locationIdValue }) }"#,
                input: json!({"locationIdValue": "some location id"}),
                expect: Expect::Value(json!({"out": {"locationId": "some location id"}})),
            },
            None,
        ),
        (
            // Single-quoted strings are not jq (Conductor's jackson-jq rejects them too).
            Case {
                expression: "[{id: 1, value: 'task1'}, {id: 2, value: 'task2'}]",
                input: json!({}),
                expect: Expect::Fails(errors::SCRIPT_ERROR),
            },
            None,
        ),
        (
            // JsonJQTransformSpec: empty data gives "CREATE".
            Case {
                expression: r#"if(.data | length >0) then "EXISTS" else "CREATE" end"#,
                input: json!({"data": []}),
                expect: Expect::Value(json!("CREATE")),
            },
            None,
        ),
        (
            Case {
                expression: ".inputData.request.transitions | map(.name)",
                input: json!({"inputData": {"request": {"transitions": [
                    {"name": "redeliver"}, {"name": "redeliver_from_validation_error"}, {"name": "redelivery"}
                ]}}}),
                expect: Expect::Value(json!([
                    "redeliver",
                    "redeliver_from_validation_error",
                    "redelivery"
                ])),
            },
            None,
        ),
        (
            // JsonJQTransformSpec: defaults fill what the input lacks, the input wins otherwise.
            Case {
                expression: r#"{ requestTransform: .input.requestTransform // ".body" , responseTransform: .input.responseTransform // ".response.body", method: .input.method // "GET", document: .input.document // "rgt_results", successExpression: .input.successExpression // "true" }"#,
                input: json!({"input": {"method": "POST", "requestTransform": "{name: (.body.name + \" you are \" + .body.title) }"}}),
                expect: Expect::Value(json!({
                    "requestTransform": "{name: (.body.name + \" you are \" + .body.title) }",
                    "responseTransform": ".response.body", "method": "POST",
                    "document": "rgt_results", "successExpression": "true"
                })),
            },
            None,
        ),
        (
            // JsonJQTransformSpec: the previous task's requestTransform, run on the body.
            Case {
                expression: "${default_variables.output.result.requestTransform}",
                input: json!({"body": {"name": "Beary Beariston", "title": "the Brown Bear"}}),
                expect: Expect::Value(json!({"name": "Beary Beariston you are the Brown Bear"})),
            },
            Some(r#"{name: (.body.name + " you are " + .body.title) }"#),
        ),
        (
            // JsonJQTransformSpec: the arrays are concatenated.
            Case {
                expression: ".input as $_ | { out: ($_.in1.array + $_.in2.array) }",
                input: json!({"input": {"in1": {"array": ["a", "b"]}, "in2": {"array": ["c", "d"]}}}),
                expect: Expect::Value(json!({"out": ["a", "b", "c", "d"]})),
            },
            None,
        ),
        (
            Case {
                expression: ".tp2.TEST_SAMPLE | length",
                input: json!({"tp1": "x", "tp2": {"TEST_SAMPLE": [{"a": 1}, {"a": 2}]}}),
                expect: Expect::Value(json!(2)),
            },
            None,
        ),
    ]
}

fn check(kind: ScriptKind, case: &Case, run_as: Option<&str>) {
    let request = ScriptRequest {
        kind,
        expression: run_as.unwrap_or(case.expression).to_owned(),
        input: case.input.clone(),
    };
    let outcome = script::handle(&ScriptContext::default(), request);
    let label = case.expression;
    match (&case.expect, outcome) {
        (Expect::Value(expected), Ok(output)) => {
            assert_eq!(&output["result"], expected, "{label}");
        }
        (Expect::Check(check), Ok(output)) => {
            assert!(check(&output["result"]), "{label}: {output}");
        }
        (Expect::Fails(name), Err(failure)) => assert_eq!(failure.error, *name, "{label}"),
        (_, outcome) => panic!("{label}: unexpected {outcome:?}"),
    }
    if let (Expect::Value(expected), ScriptKind::Jq) = (&case.expect, kind) {
        // resultList holds every output; these filters have one.
        let request = ScriptRequest {
            kind,
            expression: run_as.unwrap_or(case.expression).to_owned(),
            input: case.input.clone(),
        };
        let output = script::handle(&ScriptContext::default(), request).unwrap();
        assert_eq!(output["resultList"], json!([expected]), "{label}");
    }
}

#[test]
fn corpus_scripts_give_the_expected_results() {
    let Some(dir) = corpus_dir() else {
        println!("skipped: ../shared/conductor-corpus absent");
        return;
    };
    let mut found = Found::default();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let value: Value = serde_json::from_str(&text).unwrap();
            walk(&value, &mut found);
            files += 1;
        }
    }
    assert!(files >= 80, "only {files} corpus files");

    let covered = |cases: &[&Case], found: &BTreeSet<String>, what: &str| {
        let known: BTreeSet<String> = cases.iter().map(|c| collapse(c.expression)).collect();
        let missing: Vec<_> = found.difference(&known).collect();
        assert!(missing.is_empty(), "{what} without a case: {missing:#?}");
        let stale: Vec<_> = known.difference(found).collect();
        assert!(
            stale.is_empty(),
            "{what} cases not in the corpus: {stale:#?}"
        );
    };

    let javascript = javascript_cases();
    covered(
        &javascript.iter().collect::<Vec<_>>(),
        &found.javascript,
        "INLINE/LAMBDA scripts",
    );
    for case in &javascript {
        check(ScriptKind::Javascript, case, None);
    }
    let conditions = condition_cases();
    covered(
        &conditions.iter().collect::<Vec<_>>(),
        &found.conditions,
        "conditions",
    );
    for case in &conditions {
        check(ScriptKind::Condition, case, None);
    }
    let jq = jq_cases();
    covered(
        &jq.iter().map(|(c, _)| c).collect::<Vec<_>>(),
        &found.jq,
        "jq queries",
    );
    for (case, run_as) in &jq {
        check(ScriptKind::Jq, case, *run_as);
    }
}

/// JsonJQTransformSpec: the same query over strings instead of objects fails the task.
#[test]
fn jq_indexing_a_string_fails_as_in_conductor() {
    let request = ScriptRequest {
        kind: ScriptKind::Jq,
        expression: ".input as $_ | { out: ($_.in1.array + $_.in2.array) }".into(),
        input: json!({"input": {"in1": "a", "in2": "b"}}),
    };
    let failure = script::handle(&ScriptContext::default(), request).unwrap_err();
    assert_eq!(failure.error, errors::SCRIPT_ERROR);
    assert!(failure.cause.contains("index"), "{}", failure.cause);
}
