//! Resume by replay: an engine is dropped mid-run (a crash), a new engine on the same store
//! resumes the execution from its history without running recorded work again.

mod support;

use std::sync::Arc;

use ocflow_engine::history::EventKind;
use ocflow_engine::store::{ExecutionStatus, ExecutionStore, MemoryStore};
use ocflow_engine::{Error, Failure, StartOptions};
use serde_json::json;
use support::{Script, harness_on};

fn machine() -> serde_json::Value {
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Fetch",
        "States": {
            "Fetch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "fetch", "Payload": "{% $states.input %}"},
                "Retry": [{"ErrorEquals": ["Ocf.Http5xx"], "IntervalSeconds": 5, "JitterStrategy": "FULL"}],
                "Assign": {"fetched": "{% $states.result.Payload %}"},
                "Next": "Cool"
            },
            "Cool": {"Type": "Wait", "Seconds": 60, "Next": "Approve"},
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Arguments": {"QueueUrl": "q", "MessageBody": {"token": "{% $states.context.Task.Token %}"}},
                "HeartbeatSeconds": 3600,
                "Next": "Done"
            },
            "Done": {"Type": "Pass", "Output": {"fetched": "{% $fetched %}", "approval": "{% $states.input %}"}, "End": true}
        }
    })
}

fn fetching_script() -> Script {
    let script = Script::default();
    let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    script.on("Fetch", move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Err(Failure::new("Ocf.Http5xx", "busy"))
        } else {
            Ok(json!({"Payload": {"rows": 3}, "StatusCode": 200}))
        }
    });
    script
}

#[tokio::test(start_paused = true)]
async fn a_resumed_execution_replays_results_timers_retries_and_tokens() {
    let store = Arc::new(MemoryStore::new());
    let first = harness_on(store.clone(), fetching_script());
    let mut tokens = first.script.token_calls();
    first.register("flow", machine());
    let id = first
        .engine
        .start("flow", json!({"q": 1}), StartOptions::named("crashy"))
        .unwrap();
    let token = tokens.recv().await.unwrap().task_token.unwrap();
    assert_eq!(
        first.script.calls().len(),
        3,
        "fetch twice, then the token message"
    );
    let before = first.engine.history(&id).unwrap();
    drop(first);

    // The crashed engine's execution is still running in the store, waiting on its token.
    assert_eq!(
        store.execution(&id).unwrap().unwrap().status,
        ExecutionStatus::Running
    );
    let second = harness_on(store.clone(), Script::default());
    assert_eq!(
        second.engine.resume_all().unwrap().resumed,
        vec![id.clone()]
    );
    // The resumed run re-arms its token wait; answer once it does.
    loop {
        match second.engine.send_task_success(&token, json!({"ok": true})) {
            Ok(()) => break,
            Err(Error::NotRunning(_)) => tokio::task::yield_now().await,
            Err(other) => panic!("{other}"),
        }
    }
    let done = second.engine.wait(&id).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"fetched": {"rows": 3}, "approval": {"ok": true}}))
    );
    assert!(
        second.script.calls().is_empty(),
        "nothing recorded ran again: {:?}",
        second.script.calls()
    );
    let after = second.engine.history(&id).unwrap();
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "the history only grows"
    );
    let ids: Vec<u64> = after.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=after.len() as u64).collect::<Vec<_>>());
    let scheduled = after
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskScheduled { .. }))
        .count();
    assert_eq!(scheduled, 3);
    // The retry delay was jittered before the crash; the events after it are the new ones.
    let rendered: Vec<String> = support::render(&after)
        .lines()
        .skip(before.len())
        .map(|line| {
            line.split_once("ms ")
                .map_or(line, |(_, rest)| rest)
                .to_owned()
        })
        .collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

#[tokio::test(start_paused = true)]
async fn a_run_interrupted_in_a_wait_keeps_its_deadline() {
    let store = Arc::new(MemoryStore::new());
    let first = harness_on(store.clone(), Script::default());
    first.register(
        "nap",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Nap",
            "States": {
                "Nap": {"Type": "Wait", "Seconds": 300, "Next": "Up"},
                "Up": {"Type": "Pass", "Output": "{% $states.context.State.EnteredTime %}", "End": true}
            }
        }),
    );
    let id = first
        .engine
        .start("nap", json!({}), StartOptions::named("nap-1"))
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(100)).await;
    drop(first);
    let second = harness_on(store, Script::default());
    second.engine.resume(&id).unwrap();
    second.engine.resume(&id).unwrap();
    let done = second.engine.wait(&id).await.unwrap();
    // The timer fires at the recorded deadline, 300 s after the start.
    assert_eq!(done.output, Some(json!("2026-01-01T00:05:00.000Z")));
    assert!(matches!(
        second.engine.resume(&id),
        Err(Error::AlreadyEnded(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn parallel_branches_replay_each_from_their_own_scope() {
    let store = Arc::new(MemoryStore::new());
    let first = harness_on(store.clone(), Script::default());
    let mut tokens = first.script.token_calls();
    let branch = |name: &str| {
        json!({"StartAt": name, "States": {name: {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Output": {"from": name, "got": "{% $states.result %}", "random": "{% $random() %}"}, "End": true}}})
    };
    first.register(
        "fork",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Fork",
            "States": {"Fork": {"Type": "Parallel", "Branches": [branch("Left"), branch("Right")], "End": true}}
        }),
    );
    let id = first
        .engine
        .start("fork", json!({}), StartOptions::named("fork-1"))
        .unwrap();
    let mut calls = [tokens.recv().await.unwrap(), tokens.recv().await.unwrap()];
    calls.sort_by(|a, b| a.state.cmp(&b.state));
    let [left, right] = calls;
    first
        .engine
        .send_task_success(left.task_token.as_deref().unwrap(), json!(1))
        .unwrap();
    // Let the left branch finish before the crash.
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    let left_output = first
        .engine
        .history(&id)
        .unwrap()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::StateExited { state, output, .. } if state == "Left" => Some(output),
            _ => None,
        })
        .expect("left finished before the crash");
    drop(first);

    let second = harness_on(store, Script::default());
    second.engine.resume(&id).unwrap();
    loop {
        match second
            .engine
            .send_task_success(right.task_token.as_deref().unwrap(), json!(2))
        {
            Ok(()) => break,
            Err(Error::NotRunning(_)) => tokio::task::yield_now().await,
            Err(other) => panic!("{other}"),
        }
    }
    let done = second.engine.wait(&id).await.unwrap();
    let output = done.output.unwrap();
    assert_eq!(
        output[0], left_output,
        "the replayed branch keeps its recorded output"
    );
    assert_eq!(output[1]["got"], json!(2));
    assert!(second.script.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_parent_resumes_waiting_on_its_resumed_child() {
    let store = Arc::new(MemoryStore::new());
    let first = harness_on(store.clone(), Script::default());
    let mut tokens = first.script.token_calls();
    first.register(
        "child",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Ask",
            "States": {"Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                               "Output": {"answer": "{% $states.result %}"}, "End": true}}
        }),
    );
    first.register(
        "parent",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Sub",
            "States": {"Sub": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                               "Arguments": {"StateMachineArn": "child", "Input": {}},
                               "Output": "{% $states.result.Output %}", "End": true}}
        }),
    );
    let id = first
        .engine
        .start("parent", json!({}), StartOptions::named("parent-1"))
        .unwrap();
    let token = tokens.recv().await.unwrap().task_token.unwrap();
    drop(first);

    let second = harness_on(store, Script::default());
    second.register(
        "child",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Ask",
            "States": {"Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                               "Output": {"answer": "{% $states.result %}"}, "End": true}}
        }),
    );
    let resumed = second.engine.resume_all().unwrap().resumed;
    assert_eq!(resumed.len(), 2, "{resumed:?}");
    loop {
        match second.engine.send_task_success(&token, json!(42)) {
            Ok(()) => break,
            Err(Error::NotRunning(_)) => tokio::task::yield_now().await,
            Err(other) => panic!("{other}"),
        }
    }
    let done = second.engine.wait(&id).await.unwrap();
    assert_eq!(done.output, Some(json!({"answer": 42})));
    assert!(second.script.calls().is_empty());
}
