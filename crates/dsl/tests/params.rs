//! Golden tables for the `${...}` parameter language: each row is a parameter value, the data it
//! reads, and what Conductor's `ParametersUtils` gives for it.

use ocflow_dsl::params::{Param, Scope, resolve};
use serde_json::{Value, json};

/// The execution data most rows read.
fn data() -> Value {
    json!({
        "workflow": {
            "input": {"a": {"b": "deep"}, "n": 7, "flag": true, "nothing": null, "list": [1, 2, 3],
                      "key": "x-y", "i": 1},
            "variables": {"count": 3},
            "workflowId": "wf-1",
            "correlationId": "corr-9",
            "workflowType": "demo",
            "version": 2,
            "status": "RUNNING"
        },
        "t": {
            "status": "COMPLETED",
            "taskId": "task-1",
            "retryCount": 0,
            "input": {"q": "in"},
            "output": {
                "items": [{"id": "i0", "tags": ["a"]}, {"id": "i1", "tags": ["b", "c"]}],
                "x-y": "dashed",
                "obj": {"k": 1},
                "nested": {"x-y": {"deep": 5}}
            }
        },
        "name": "conductor",
        "version": 2,
        "index": 1,
        "mapValue": "a",
        "recordIds": [1, 2, 3],
        "map": {"a": [1, 2, 3], "b": [2, 4, 5], "c": [3, 7, 8]},
        "someString": "conductor",
        "someNumber": 2,
        "externalId": "{\"taskRefName\":\"t001\",\"workflowId\":\"w002\"}"
    })
}

fn check(rows: &[(Value, Value)]) {
    let data = data();
    for (input, expected) in rows {
        let param = Param::parse(input);
        let got = resolve(&param, &data as &dyn Scope);
        assert_eq!(&got, expected, "input {input}");
    }
}

#[test]
fn whole_references_keep_their_type() {
    check(&[
        (json!("${workflow.input.n}"), json!(7)),
        (json!("${workflow.input.flag}"), json!(true)),
        (json!("${workflow.input.a}"), json!({"b": "deep"})),
        (json!("${workflow.input.a.b}"), json!("deep")),
        (json!("${workflow.input.list}"), json!([1, 2, 3])),
        (json!("${workflow.input.nothing}"), Value::Null),
        (json!("${workflow.variables.count}"), json!(3)),
        (json!("${workflow.workflowId}"), json!("wf-1")),
        (json!("${workflow.version}"), json!(2)),
        (json!("${t.status}"), json!("COMPLETED")),
        (json!("${t.retryCount}"), json!(0)),
        (json!("${t.input.q}"), json!("in")),
        (json!("${version}"), json!(2)),
        (json!("${name}"), json!("conductor")),
        (
            json!("${$.externalId}"),
            json!("{\"taskRefName\":\"t001\",\"workflowId\":\"w002\"}"),
        ),
    ]);
}

#[test]
fn missing_data_is_null() {
    check(&[
        (json!("${workflow.input.absent}"), Value::Null),
        (json!("${workflow.input.a.b.c}"), Value::Null),
        (json!("${nosuchtask.output.x}"), Value::Null),
        (json!("${t.output.items[9].id}"), Value::Null),
        (json!("${__json_externalId.taskRefName}"), Value::Null),
        (json!("${t.output[?(@.id)]}"), Value::Null),
    ]);
}

#[test]
fn jsonpath_inside_references() {
    check(&[
        (json!("${t.output.items[0].id}"), json!("i0")),
        (json!("${t.output.items[-1].id}"), json!("i1")),
        (json!("${t.output['x-y']}"), json!("dashed")),
        (json!("${t.output[\"x-y\"]}"), json!("dashed")),
        (json!("${t.output.nested['x-y'].deep}"), json!(5)),
        (json!("${t.output.items[*].id}"), json!(["i0", "i1"])),
        (json!("${t.output.items[*].tags[0]}"), json!(["a", "b"])),
        (json!("${t.output.items[*].missing}"), json!([])),
        (json!("${t.output..id}"), json!(["i0", "i1"])),
        (json!("${t.output.obj.*}"), json!([1])),
        (json!("${$.t.output.items[1].id}"), json!("i1")),
        (json!("${ workflow.input.n }"), json!(7)),
    ]);
}

#[test]
fn embedded_references_become_text() {
    check(&[
        (json!("id-${workflow.input.n}"), json!("id-7")),
        (
            json!("${workflow.input.a.b}/${t.status}"),
            json!("deep/COMPLETED"),
        ),
        (json!("x=${workflow.input.nothing}"), json!("x=null")),
        (json!("x=${workflow.input.absent}"), json!("x=null")),
        (json!("flag ${workflow.input.flag}"), json!("flag true")),
        (json!("obj ${t.output.obj}"), json!("obj {\"k\":1}")),
        (json!("list ${workflow.input.list}"), json!("list [1,2,3]")),
        (json!(" ${workflow.input.n}"), json!(" 7")),
    ]);
}

#[test]
fn nested_references_resolve_inside_out() {
    check(&[
        (json!("${recordIds[${index}]}"), json!(2)),
        (json!("${map.${mapValue}[${index}]}"), json!(2)),
        (json!("${map.b[${map.${mapValue}[${index}]}]}"), json!(5)),
        (json!("${t.output[${workflow.input.key}]}"), Value::Null),
        (
            json!("${t.output['${workflow.input.key}']}"),
            json!("dashed"),
        ),
        (
            json!("${workflow.input.list[${workflow.input.i}]}"),
            json!(2),
        ),
    ]);
}

#[test]
fn escapes_and_blank_references() {
    check(&[
        (
            json!(
                "${$.someString} $${$.someNumber}${$.someNumber} ${$.someNumber}$${$.someString}"
            ),
            json!("conductor ${$.someNumber}2 2${$.someString}"),
        ),
        (
            json!("$${$.someString}afterText"),
            json!("${$.someString}afterText"),
        ),
        (
            json!("beforeText$${$.someString}"),
            json!("beforeText${$.someString}"),
        ),
        (
            json!("$${someString} ${someNumber}"),
            json!("${someString} 2"),
        ),
        (
            json!("${someString} $${someNumber}"),
            json!("conductor ${someNumber}"),
        ),
        (json!("${}"), json!("")),
        (json!("${    }"), json!("")),
        (json!("a ${} b"), json!("a  b")),
        (
            json!("unclosed ${workflow.input.n"),
            json!("unclosed ${workflow.input.n"),
        ),
        (json!("$ {workflow.input.n}"), json!("$ {workflow.input.n}")),
    ]);
}

#[test]
fn objects_arrays_and_literals_are_walked() {
    check(&[
        (
            json!({"name": "${name}", "version": "${version}", "lit": 5, "nil": null,
                   "list": ["${name}", "${version}", ["${workflow.input.n}"]]}),
            json!({"name": "conductor", "version": 2, "lit": 5, "nil": null,
                   "list": ["conductor", 2, [7]]}),
        ),
        (json!([true, 1.5, "text"]), json!([true, 1.5, "text"])),
    ]);
}

#[test]
fn task_id_comes_from_the_scope() {
    struct Scheduling(Value);
    impl Scope for Scheduling {
        fn workflow(&self) -> Option<&Value> {
            self.0.get("workflow")
        }
        fn task(&self, reference: &str) -> Option<&Value> {
            self.0.get(reference)
        }
        fn current_task_id(&self) -> Option<&str> {
            Some("task-42")
        }
    }
    let scope = Scheduling(data());
    let param = Param::parse(
        &json!({"id": "${CPEWF_TASK_ID}", "msg": "task ${CPEWF_TASK_ID} of ${workflow.workflowId}"}),
    );
    assert_eq!(
        resolve(&param, &scope),
        json!({"id": "task-42", "msg": "task task-42 of wf-1"})
    );
    // With no task being scheduled, the id is null.
    assert_eq!(
        resolve(&Param::parse_str("${CPEWF_TASK_ID}"), &data() as &dyn Scope),
        Value::Null
    );
}
