//! When the engine writes history: states that only compute are written together with the next
//! event that reaches outside the run, so that nothing the outside world has seen can be lost
//! in a crash, in as few store calls as that allows.

mod support;

use std::sync::{Arc, Mutex};

use ocflow_engine::history::{EventKind, HistoryEvent};
use ocflow_engine::store::{
    ExecutionEnd, ExecutionRecord, ExecutionReopen, ExecutionStatus, ExecutionStore, MemoryStore,
    PendingToken, StoreError, TokenIssue,
};
use ocflow_engine::{Engine, MachineDefinition, StartOptions, VirtualClock};
use serde_json::{Value, json};
use support::Script;

/// A memory store that remembers the size of every batch of events written, and the calls
/// that create executions or keep tokens.
#[derive(Default)]
struct Recording {
    inner: MemoryStore,
    batches: Mutex<Vec<usize>>,
    writes: Mutex<Vec<String>>,
}

impl Recording {
    fn batches(&self) -> Vec<usize> {
        self.batches.lock().unwrap().clone()
    }

    fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }
}

impl ExecutionStore for Recording {
    fn create_execution(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        self.inner.create_execution(record)
    }
    fn create_execution_with_events(
        &self,
        record: &ExecutionRecord,
        events: &[HistoryEvent],
    ) -> Result<(), StoreError> {
        let write = format!("create with {} events", events.len());
        self.writes.lock().unwrap().push(write);
        self.create_execution(record)?;
        self.append_events(&record.id, events)
    }
    fn issue_token(&self, issue: &TokenIssue<'_>) -> Result<bool, StoreError> {
        let creates = if issue.create.is_some() {
            "create, "
        } else {
            ""
        };
        let write = format!("token with {creates}{} events", issue.events.len());
        self.writes.lock().unwrap().push(write);
        if let Some(record) = issue.create {
            self.create_execution(record)?;
        }
        if !issue.events.is_empty() {
            self.append_events(issue.execution_id, issue.events)?;
        }
        self.put_token(issue.token)?;
        Ok(false)
    }
    fn append_events(&self, execution_id: &str, events: &[HistoryEvent]) -> Result<(), StoreError> {
        self.batches.lock().unwrap().push(events.len());
        self.inner.append_events(execution_id, events)
    }
    fn finish_execution(&self, execution_id: &str, end: &ExecutionEnd) -> Result<bool, StoreError> {
        self.inner.finish_execution(execution_id, end)
    }
    fn reopen_execution(
        &self,
        execution_id: &str,
        reopen: &ExecutionReopen,
        event: &HistoryEvent,
    ) -> Result<bool, StoreError> {
        self.inner.reopen_execution(execution_id, reopen, event)
    }
    fn execution(&self, execution_id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        self.inner.execution(execution_id)
    }
    fn history(&self, execution_id: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        self.inner.history(execution_id)
    }
    fn unfinished_executions(&self) -> Result<Vec<String>, StoreError> {
        self.inner.unfinished_executions()
    }
    fn put_token(&self, token: &PendingToken) -> Result<(), StoreError> {
        self.inner.put_token(token)
    }
    fn take_token(&self, token: &str) -> Result<Option<PendingToken>, StoreError> {
        self.inner.take_token(token)
    }
    fn pending_tokens(&self, execution_id: &str) -> Result<Vec<PendingToken>, StoreError> {
        self.inner.pending_tokens(execution_id)
    }
}

fn engine(store: &Arc<Recording>, script: &Script) -> Engine {
    Engine::builder()
        .store(store.clone() as Arc<dyn ExecutionStore>)
        .clock(Arc::new(VirtualClock::at_2026()))
        .invoker(Arc::new(script.clone()))
        .build()
}

fn register(engine: &Engine, asl: Value) {
    let definition = MachineDefinition::from_json(&asl).expect("valid ASL");
    engine.register("m", definition).expect("registers");
}

/// `kind state` for each event, as in the history's JSON.
fn kinds(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .map(|event| {
            let value = serde_json::to_value(&event.kind).unwrap();
            match event.kind.state() {
                Some(state) => format!("{} {state}", value["type"].as_str().unwrap()),
                None => value["type"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_task_is_invoked_only_once_every_state_before_it_is_written() {
    let store = Arc::new(Recording::default());
    let script = Script::default();
    let seen_by_task = Arc::new(Mutex::new(Vec::new()));
    script.on("Call", {
        let store = store.clone();
        let seen = seen_by_task.clone();
        move |invocation| {
            *seen.lock().unwrap() = kinds(&store.history(&invocation.execution_id).unwrap());
            Ok(json!({"n": 2}))
        }
    });
    let engine = engine(&store, &script);
    register(
        &engine,
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
                "B": {"Type": "Choice", "Choices": [{"Condition": "{% $x = 1 %}", "Next": "Call"}]},
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "f", "Payload": {}},
                    "Next": "C"
                },
                "C": {"Type": "Pass", "End": true}
            }
        }),
    );
    let record = engine
        .run("m", json!({}), StartOptions::named("e"))
        .await
        .unwrap();
    assert_eq!(record.status, ExecutionStatus::Succeeded);
    assert_eq!(
        *seen_by_task.lock().unwrap(),
        [
            "ExecutionStarted",
            "StateEntered A",
            "StateExited A",
            "StateEntered B",
            "StateExited B",
            "StateEntered Call",
            "TaskScheduled Call",
        ],
        "the invoked task finds every earlier transition in the store"
    );
    assert_eq!(
        kinds(&store.history("e").unwrap()),
        [
            "ExecutionStarted",
            "StateEntered A",
            "StateExited A",
            "StateEntered B",
            "StateExited B",
            "StateEntered Call",
            "TaskScheduled Call",
            "TaskSucceeded Call",
            "StateExited Call",
            "StateEntered C",
            "StateExited C",
            "ExecutionSucceeded",
        ]
    );
    // The start, the task's schedule with the states before it, its result, then the rest with
    // the end.
    assert_eq!(store.batches(), [1, 6, 1, 4]);
}

#[tokio::test(start_paused = true)]
async fn a_long_loop_of_computing_states_is_written_as_it_goes() {
    let store = Arc::new(Recording::default());
    let script = Script::default();
    let engine = engine(&store, &script);
    register(
        &engine,
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Count",
            "States": {
                "Count": {"Type": "Pass", "Assign": {"i": "{% $states.input.i + 1 %}"},
                          "Output": {"i": "{% $states.input.i + 1 %}"}, "Next": "More"},
                "More": {"Type": "Choice",
                         "Choices": [{"Condition": "{% $i < 100 %}", "Next": "Count"}],
                         "Default": "Done"},
                "Done": {"Type": "Succeed"}
            }
        }),
    );
    let record = engine
        .run("m", json!({"i": 0}), StartOptions::named("loop"))
        .await
        .unwrap();
    assert_eq!(record.status, ExecutionStatus::Succeeded);
    assert_eq!(record.output, Some(json!({"i": 100})));
    let history = store.history("loop").unwrap();
    // Started, 100 × (Count, More) entered and exited, Done entered and exited, Succeeded.
    assert_eq!(history.len(), 1 + 400 + 2 + 1);
    assert!(matches!(
        history.last().unwrap().kind,
        EventKind::ExecutionSucceeded { .. }
    ));
    let batches = store.batches();
    assert_eq!(batches.iter().sum::<usize>(), history.len());
    assert!(
        batches.iter().all(|&n| n <= 64),
        "at most 64 events wait: {batches:?}"
    );
    assert_eq!(batches.len(), 1 + 7, "{batches:?}");
}

#[tokio::test(start_paused = true)]
async fn a_callback_token_reaches_the_worker_only_once_written_with_its_task() {
    let store = Arc::new(Recording::default());
    let script = Script::default();
    let mut tokens = script.token_calls();
    let engine = engine(&store, &script);
    register(
        &engine,
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Arguments": {"QueueUrl": "q", "MessageBody": {"token": "{% $states.context.Task.Token %}"}},
                    "End": true
                }
            }
        }),
    );
    let id = engine
        .start("m", json!({}), StartOptions::named("ask"))
        .unwrap();
    let call = tokens.recv().await.unwrap();
    let token = call.task_token.unwrap();
    assert_eq!(
        kinds(&store.history(&id).unwrap()),
        [
            "ExecutionStarted",
            "StateEntered Ask",
            "TaskScheduled Ask",
            "TaskTokenIssued Ask"
        ]
    );
    assert_eq!(store.batches(), [1, 3], "the schedule waits for the token");
    assert_eq!(store.pending_tokens(&id).unwrap()[0].token, token);
    engine
        .send_task_success(&token, json!({"ok": true}))
        .unwrap();
    let record = engine.wait(&id).await.unwrap();
    assert_eq!(record.output, Some(json!({"ok": true})));
}

fn ask_machine() -> Value {
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Output": {"n": "{% $states.input.n + 1 %}"}, "Next": "Ask"},
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Arguments": {"QueueUrl": "q", "MessageBody": {"n": "{% $states.input.n %}"}},
                "End": true
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_launched_execution_is_written_with_its_first_token_in_one_write() {
    let store = Arc::new(Recording::default());
    let script = Script::default();
    let mut tokens = script.token_calls();
    let engine = engine(&store, &script);
    register(&engine, ask_machine());
    let id = engine
        .launch("m", json!({"n": 1}), StartOptions::named("ask"))
        .await
        .unwrap();
    // Once launched, it is stored, waiting on its token: all of it in one write.
    assert_eq!(store.writes(), ["token with create, 6 events"]);
    let record = engine.describe(&id).unwrap();
    assert_eq!(record.status, ExecutionStatus::Running);
    assert_eq!(record.input, json!({"n": 1}));
    assert_eq!(
        kinds(&store.history(&id).unwrap()),
        [
            "ExecutionStarted",
            "StateEntered Prepare",
            "StateExited Prepare",
            "StateEntered Ask",
            "TaskScheduled Ask",
            "TaskTokenIssued Ask"
        ]
    );
    let call = tokens.recv().await.unwrap();
    assert_eq!(call.arguments["MessageBody"], json!({"n": 2}));
    // The same name again is refused while it runs, without touching it.
    let running = engine
        .launch("m", json!({"n": 7}), StartOptions::named("ask"))
        .await
        .unwrap_err();
    assert!(
        matches!(&running, ocflow_engine::Error::Store(StoreError::AlreadyExists(n)) if n == "ask"),
        "{running}"
    );
    engine
        .send_task_success(&call.task_token.unwrap(), json!({"ok": true}))
        .unwrap();
    let done = engine.wait(&id).await.unwrap();
    assert_eq!(done.output, Some(json!({"ok": true})));
    let history = store.history(&id).unwrap();

    // And after it ended: the store refuses it at the first write, and nothing of the refused
    // run reaches the ended execution.
    let ended = engine
        .launch("m", json!({"n": 7}), StartOptions::named("ask"))
        .await
        .unwrap_err();
    assert!(
        matches!(&ended, ocflow_engine::Error::Store(StoreError::AlreadyExists(n)) if n == "ask"),
        "{ended}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(store.history(&id).unwrap(), history);
    assert_eq!(engine.describe(&id).unwrap(), done);
    assert!(store.pending_tokens(&id).unwrap().is_empty());
    assert!(!engine.is_running_here(&id));
}

#[tokio::test(start_paused = true)]
async fn a_launched_execution_that_only_computes_is_written_when_it_ends() {
    let store = Arc::new(Recording::default());
    let script = Script::default();
    let engine = engine(&store, &script);
    register(
        &engine,
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Output": {"n": "{% $states.input.n * 2 %}"}, "Next": "B"},
                "B": {"Type": "Pass", "End": true}
            }
        }),
    );
    let id = engine
        .launch("m", json!({"n": 21}), StartOptions::default())
        .await
        .unwrap();
    let record = engine.wait(&id).await.unwrap();
    assert_eq!(record.status, ExecutionStatus::Succeeded);
    assert_eq!(record.output, Some(json!({"n": 42})));
    assert_eq!(store.writes(), ["create with 6 events"]);
}
