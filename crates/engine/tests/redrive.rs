//! Redrive (Step Functions' `RedriveExecution`, Conductor's retry) and restart: an ended
//! execution runs again under the same id, from what failed or from the beginning.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ocflow_engine::history::EventKind;
use ocflow_engine::store::{ExecutionStatus, MemoryStore};
use ocflow_engine::{Error, Failure, MachineDefinition, StartOptions};
use ocflow_protocol::task_map::{StateTask, TaskMap};
use serde_json::{Value, json};
use support::{Harness, Script, harness, harness_on};

fn lambda(next: Option<&str>) -> Value {
    let mut state = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
        "Output": "{% $states.result.Payload %}"
    });
    match next {
        Some(next) => state["Next"] = json!(next),
        None => state["End"] = json!(true),
    }
    state
}

/// Three steps; `Two` retries once on `Flaky` and then fails the execution.
fn three_steps() -> Value {
    let mut two = lambda(Some("Three"));
    two["Retry"] = json!([{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}]);
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "One",
        "States": {"One": lambda(Some("Two")), "Two": two, "Three": lambda(None)}
    })
}

fn task(reference: &str) -> StateTask {
    StateTask {
        reference_task_name: reference.into(),
        task_type: "HTTP".into(),
        task_name: reference.into(),
        variable: None,
        loops: vec![],
        dynamic: false,
        join: None,
    }
}

/// A script whose `Two` fails with `Flaky` until `fixed` is set; each step adds its name to
/// the `steps` list it passes on.
fn switchable(fixed: Arc<AtomicBool>) -> Script {
    let script = Script::default();
    for state in ["One", "Two", "Three"] {
        let fixed = fixed.clone();
        script.on(state, move |call| {
            if state == "Two" && !fixed.load(Ordering::SeqCst) {
                return Err(Failure::new("Flaky", "the service is down"));
            }
            let mut payload = call.arguments["Payload"].clone();
            let mut steps = payload["steps"].as_array().cloned().unwrap_or_default();
            steps.push(json!(state));
            payload["steps"] = json!(steps);
            Ok(json!({"Payload": payload, "StatusCode": 200}))
        });
    }
    script
}

fn calls_of(h: &Harness, state: &str) -> Vec<u32> {
    h.script
        .calls()
        .iter()
        .filter(|c| c.state == state)
        .map(|c| c.attempt)
        .collect()
}

/// Registers the three steps with a task map, so that Conductor records list their tasks.
fn register_steps(h: &Harness) {
    let task_map = TaskMap {
        workflow_name: "steps".into(),
        workflow_version: 1,
        states: BTreeMap::from([
            ("One".to_owned(), task("one")),
            ("Two".to_owned(), task("two")),
            ("Three".to_owned(), task("three")),
        ]),
    };
    let definition = MachineDefinition::from_json(&three_steps())
        .unwrap()
        .with_task_map(task_map);
    h.engine.register("steps", definition).unwrap();
}

async fn failed_run(h: &Harness, id: &str) {
    register_steps(h);
    let failed = h
        .engine
        .run("steps", json!({"order": 7}), StartOptions::named(id))
        .await
        .unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("Flaky"));
}

#[tokio::test(start_paused = true)]
async fn a_redrive_reruns_the_failed_step_with_fresh_retries_and_keeps_what_succeeded() {
    let fixed = Arc::new(AtomicBool::new(false));
    let h = harness_on(Arc::new(MemoryStore::new()), switchable(fixed.clone()));
    failed_run(&h, "wf-1").await;
    assert_eq!(calls_of(&h, "Two"), [0, 1], "one try and one retry");

    fixed.store(true, Ordering::SeqCst);
    assert_eq!(h.engine.redrive("wf-1").unwrap(), 1);
    let done = h.engine.wait("wf-1").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"order": 7, "steps": ["One", "Two", "Three"]})),
        "Two got One's output again"
    );
    assert_eq!(calls_of(&h, "One"), [0], "One is not run again");
    assert_eq!(
        calls_of(&h, "Two"),
        [0, 1, 0],
        "the redriven Two starts its retries afresh"
    );
    assert_eq!(calls_of(&h, "Three"), [0]);
    assert_eq!(done.error, None);
    assert!(done.end_time.is_some());

    let history = h.engine.history("wf-1").unwrap();
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=history.len() as u64).collect::<Vec<_>>());
    let redriven = history
        .iter()
        .position(|e| matches!(e.kind, EventKind::ExecutionRedriven { redrive_count: 1 }))
        .expect("the redrive is in the history");
    assert!(matches!(
        history[redriven - 1].kind,
        EventKind::ExecutionFailed { .. }
    ));
    assert!(matches!(
        &history[redriven + 1].kind,
        EventKind::StateEntered { state, input } if state == "Two" && input["steps"] == json!(["One"])
    ));

    // Conductor's retry: the failed attempts stay, a new attempt of `two` completes.
    let workflow = h.engine.conductor_workflow("wf-1").unwrap();
    assert_eq!(workflow.status, "COMPLETED");
    let two: Vec<(&str, u32)> = workflow
        .tasks
        .iter()
        .filter(|t| t.reference_task_name == "two")
        .map(|t| (t.status.as_str(), t.retry_count))
        .collect();
    assert_eq!(two, [("FAILED", 0), ("FAILED", 1), ("COMPLETED", 2)]);
    let references: Vec<&str> = workflow
        .tasks
        .iter()
        .map(|t| t.reference_task_name.as_str())
        .collect();
    assert_eq!(references, ["one", "two", "two", "two", "three"]);
}

#[tokio::test(start_paused = true)]
async fn only_running_and_succeeded_executions_are_refused() {
    let fixed = Arc::new(AtomicBool::new(false));
    let h = harness_on(Arc::new(MemoryStore::new()), switchable(fixed.clone()));
    failed_run(&h, "wf-1").await;
    assert!(matches!(
        h.engine.redrive("nope"),
        Err(Error::UnknownExecution(_))
    ));
    fixed.store(true, Ordering::SeqCst);
    h.engine.redrive("wf-1").unwrap();
    assert!(
        matches!(h.engine.redrive("wf-1"), Err(Error::StillRunning(_))),
        "a redriven execution runs"
    );
    assert!(matches!(
        h.engine.restart("wf-1", false),
        Err(Error::StillRunning(_))
    ));
    h.engine.wait("wf-1").await.unwrap();
    assert!(matches!(
        h.engine.redrive("wf-1"),
        Err(Error::NotRedrivable { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn an_aborted_execution_redrives_from_the_task_it_was_waiting_on() {
    let h = harness();
    let mut tokens = h.script.token_calls();
    h.register(
        "approve",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Prepare",
            "States": {
                "Prepare": lambda(Some("Ask")),
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Arguments": {"QueueUrl": "q", "MessageBody": {"token": "{% $states.context.Task.Token %}"}},
                    "End": true
                }
            }
        }),
    );
    h.script
        .on("Prepare", |_| Ok(json!({"Payload": {"ready": true}})));
    h.engine
        .start("approve", json!({}), StartOptions::named("wf-2"))
        .unwrap();
    let first = tokens.recv().await.unwrap().task_token.unwrap();
    let stopped = h.engine.stop("wf-2", "by hand").await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);

    h.engine.redrive("wf-2").unwrap();
    let second = tokens.recv().await.unwrap().task_token.unwrap();
    assert_ne!(first, second, "the task runs again with a new token");
    assert!(matches!(
        h.engine.send_task_success(&first, json!({})),
        Err(Error::UnknownToken)
    ));
    h.engine
        .send_task_success(&second, json!({"approved": true}))
        .unwrap();
    let done = h.engine.wait("wf-2").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output, Some(json!({"approved": true})));
    let prepared = h
        .script
        .calls()
        .iter()
        .filter(|c| c.state == "Prepare")
        .count();
    assert_eq!(prepared, 1);
}

#[tokio::test(start_paused = true)]
async fn parallel_branches_and_map_iterations_that_succeeded_are_not_run_again() {
    let fixed = Arc::new(AtomicBool::new(false));
    let h = harness();
    {
        let fixed = fixed.clone();
        h.script.on("Work", move |call| {
            let item = &call.arguments["Payload"];
            if item == &json!(2) && !fixed.load(Ordering::SeqCst) {
                return Err(Failure::new("Broken", "item 2"));
            }
            Ok(json!({"Payload": item}))
        });
    }
    h.script.on("Left", |_| Ok(json!({"Payload": "left"})));
    h.register(
        "fan",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "End": true,
                    "Branches": [
                        {"StartAt": "Left", "States": {"Left": lambda(None)}},
                        {"StartAt": "Items", "States": {"Items": {
                            "Type": "Map",
                            "Items": [1, 2, 3],
                            "ItemProcessor": {"StartAt": "Work", "States": {"Work": lambda(None)}},
                            "End": true
                        }}}
                    ]
                }
            }
        }),
    );
    let failed = h
        .engine
        .run("fan", json!({}), StartOptions::named("wf-3"))
        .await
        .unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    let before = h.script.calls().len();

    fixed.store(true, Ordering::SeqCst);
    h.engine.redrive("wf-3").unwrap();
    let done = h.engine.wait("wf-3").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output, Some(json!(["left", [1, 2, 3]])));
    assert!(
        h.script.calls()[before..]
            .iter()
            .any(|c| c.state == "Work" && c.arguments["Payload"] == json!(2)),
        "the failed iteration runs again"
    );
    // Whatever succeeded before the redrive (a branch or an iteration that finished before
    // item 2 failed) is replayed, not run again: each piece of work succeeds exactly once.
    let succeeded = |state: &str, payload: Value| {
        h.engine
            .history("wf-3")
            .unwrap()
            .iter()
            .filter(|e| {
                matches!(&e.kind, EventKind::TaskSucceeded { state: s, result }
                    if s == state && result["Payload"] == payload)
            })
            .count()
    };
    assert_eq!(succeeded("Left", json!("left")), 1);
    for item in [1, 2, 3] {
        assert_eq!(succeeded("Work", json!(item)), 1, "item {item}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_a_redrive_resumes_the_redriven_run() {
    let store = Arc::new(MemoryStore::new());
    let first = harness_on(store.clone(), Script::default());
    let mut tokens = first.script.token_calls();
    first.register(
        "ask",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Prepare",
            "States": {
                "Prepare": lambda(Some("Ask")),
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Arguments": {"QueueUrl": "q", "MessageBody": {"token": "{% $states.context.Task.Token %}"}},
                    "End": true
                }
            }
        }),
    );
    first
        .script
        .on("Prepare", |_| Ok(json!({"Payload": {"n": 1}})));
    first
        .engine
        .start("ask", json!({}), StartOptions::named("wf-5"))
        .unwrap();
    let token = tokens.recv().await.unwrap().task_token.unwrap();
    first
        .engine
        .send_task_failure(&token, "Rejected", "no")
        .unwrap();
    assert_eq!(
        first.engine.wait("wf-5").await.unwrap().status,
        ExecutionStatus::Failed
    );
    first.engine.redrive("wf-5").unwrap();
    let token = tokens.recv().await.unwrap().task_token.unwrap();
    drop(first);

    let second = harness_on(store.clone(), Script::default());
    assert_eq!(
        second.engine.resume_all().unwrap().resumed,
        vec!["wf-5".to_owned()]
    );
    loop {
        match second.engine.send_task_success(&token, json!({"ok": 1})) {
            Ok(()) => break,
            Err(Error::NotRunning(_)) => tokio::task::yield_now().await,
            Err(other) => panic!("{other}"),
        }
    }
    let done = second.engine.wait("wf-5").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output, Some(json!({"ok": 1})));
    assert!(second.script.calls().is_empty(), "nothing ran again");
}

#[tokio::test(start_paused = true)]
async fn a_restart_runs_everything_again_under_the_same_id() {
    let fixed = Arc::new(AtomicBool::new(true));
    let h = harness_on(Arc::new(MemoryStore::new()), switchable(fixed));
    succeeded_run(&h).await;
    h.engine.restart("wf-6", false).unwrap();
    let again = h.engine.wait("wf-6").await.unwrap();
    assert_eq!(again.status, ExecutionStatus::Succeeded);
    assert_eq!(
        again.output,
        Some(json!({"order": 7, "steps": ["One", "Two", "Three"]}))
    );
    assert_eq!(calls_of(&h, "One"), [0, 0], "One ran twice");
    let history = h.engine.history("wf-6").unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ExecutionSucceeded { .. }))
            .count(),
        2,
        "the first run stays in the history"
    );
    let workflow = h.engine.conductor_workflow("wf-6").unwrap();
    assert_eq!(
        workflow.tasks.len(),
        3,
        "only the new run's tasks are listed"
    );
    assert!(workflow.tasks.iter().all(|t| t.status == "COMPLETED"));

    // On the latest definition: a new machine under the same name.
    h.register(
        "steps",
        json!({"QueryLanguage": "JSONata", "StartAt": "Only",
               "States": {"Only": {"Type": "Pass", "Output": {"v": 2}, "End": true}}}),
    );
    h.engine.restart("wf-6", false).unwrap();
    let same = h.engine.wait("wf-6").await.unwrap();
    assert_eq!(
        same.output.as_ref().map(|o| &o["steps"]),
        Some(&json!(["One", "Two", "Three"]))
    );
    h.engine.restart("wf-6", true).unwrap();
    let latest = h.engine.wait("wf-6").await.unwrap();
    assert_eq!(latest.output, Some(json!({"v": 2})));
    assert_eq!(latest.definition["asl"]["StartAt"], "Only");
}

async fn succeeded_run(h: &Harness) {
    register_steps(h);
    let done = h
        .engine
        .run("steps", json!({"order": 7}), StartOptions::named("wf-6"))
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
}
