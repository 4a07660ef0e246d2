//! Conductor-shaped records built from histories and task maps.

mod support;

use std::collections::BTreeMap;

use ocflow_engine::{Failure, MachineDefinition, StartOptions};
use ocflow_protocol::task_map::{StateTask, TaskMap};
use serde_json::json;
use support::harness;

fn task(reference: &str, task_type: &str, variable: Option<&str>, loops: &[&str]) -> StateTask {
    StateTask {
        reference_task_name: reference.into(),
        task_type: task_type.into(),
        task_name: format!("{reference}_def"),
        variable: variable.map(str::to_owned),
        loops: loops.iter().map(|l| (*l).to_owned()).collect(),
        dynamic: false,
        join: None,
    }
}

#[tokio::test(start_paused = true)]
async fn tasks_retries_loops_and_terminate_read_as_conductor_shows_them() {
    let h = harness();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    h.script.on("charge", move |call| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Err(Failure::new("Ocf.Http5xx", "503"))
        } else {
            Ok(json!({"Payload": {"charged": call.arguments["Payload"]["amount"]}, "StatusCode": 200}))
        }
    });
    let asl = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "charge",
        "States": {
            "charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "http", "Payload": {"amount": "{% $states.input.amount %}"}},
                "Retry": [{"ErrorEquals": ["Ocf.Http5xx"], "IntervalSeconds": 1, "BackoffRate": 1}],
                "Next": "count"
            },
            "count": {"Type": "Pass", "Assign": {"i": "{% ($exists($i) ? $i : 0) + 1 %}",
                       "count_ref": {"output": {"i": "{% ($exists($i) ? $i : 0) + 1 %}"}}}, "Next": "again"},
            "again": {"Type": "Choice", "Choices": [{"Condition": "{% $i < 2 %}", "Next": "count"}], "Default": "stop"},
            "stop": {"Type": "Fail", "Error": "Workflow.Terminated",
                     "Cause": "{% $string({'status': 'TERMINATED', 'reason': 'enough', 'output': {'n': $i}}) %}"}
        }
    });
    let task_map = TaskMap {
        workflow_name: "billing".into(),
        workflow_version: 3,
        states: BTreeMap::from([
            ("charge".to_owned(), task("charge_ref", "HTTP", None, &[])),
            (
                "count".to_owned(),
                task(
                    "count_ref",
                    "SET_VARIABLE",
                    Some("count_ref"),
                    &["loop_ref"],
                ),
            ),
            ("stop".to_owned(), task("stop_ref", "TERMINATE", None, &[])),
        ]),
    };
    h.engine
        .register(
            "billing",
            MachineDefinition::from_json(&asl)
                .unwrap()
                .with_task_map(task_map),
        )
        .unwrap();
    let options = StartOptions {
        name: Some("wf-1".into()),
        correlation_id: Some("order-9".into()),
        parent: None,
    };
    h.engine
        .run("billing", json!({"amount": 5}), options)
        .await
        .unwrap();
    let workflow = h.engine.conductor_workflow("wf-1").unwrap();
    assert_eq!(workflow.status, "TERMINATED");
    assert_eq!(workflow.reason_for_incompletion.as_deref(), Some("enough"));
    assert_eq!(workflow.output, json!({"n": 2}));
    assert_eq!(workflow.workflow_name, "billing");
    assert_eq!(workflow.workflow_version, 3);
    assert_eq!(workflow.correlation_id.as_deref(), Some("order-9"));
    let summary: Vec<(String, String, u32, u32)> = workflow
        .tasks
        .iter()
        .map(|t| {
            (
                t.reference_task_name.clone(),
                t.status.clone(),
                t.retry_count,
                t.seq,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("charge_ref".into(), "FAILED".into(), 0, 1),
            ("charge_ref".into(), "COMPLETED".into(), 1, 2),
            ("count_ref__1".into(), "COMPLETED".into(), 0, 3),
            ("count_ref__2".into(), "COMPLETED".into(), 0, 4),
            ("stop_ref".into(), "COMPLETED".into(), 0, 5),
        ]
    );
    assert_eq!(workflow.tasks[0].input_data, json!({"amount": 5}));
    assert_eq!(
        workflow.tasks[0].reason_for_incompletion.as_deref(),
        Some("Ocf.Http5xx: 503")
    );
    assert_eq!(workflow.tasks[1].output_data, json!({"charged": 5}));
    assert_eq!(workflow.tasks[3].output_data, json!({"i": 2}));
    assert_eq!(workflow.tasks[3].iteration, 2);
    assert_eq!(workflow.tasks[1].start_time - workflow.start_time, 1_000);
    insta::assert_json_snapshot!(workflow);
}
