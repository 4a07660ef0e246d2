//! Differential test: every machine in `e2e/differential/` runs on the local engine (SQLite
//! store) and on moto's Step Functions (started here through `tests/moto/launch.py`), and the
//! two must agree on status, output, error and cause.
//!
//! Task steps are `sqs:sendMessage.waitForTaskToken`, answered by the same test worker on both
//! sides: locally the engine's invoker hands the message to an in-process queue; on moto the
//! worker long-polls the SQS queue with aws-sdk-sqs. Either way it answers with
//! SendTaskSuccess/SendTaskFailure computed from the message ([`answer`]).
//!
//! A machine on which moto itself is wrong gets a `<name>.moto-differs.md` note beside it;
//! its first line is printed as the reason and it does not count towards the agreeing ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ocflow_aws::aws_sdk_sfn::types::{ExecutionStatus as SfnStatus, StateMachineType};
use ocflow_aws::{aws_sdk_sfn, aws_sdk_sqs};
use ocflow_engine::clock::BoxFuture;
use ocflow_engine::{
    Engine, Failure, Invocation, MachineDefinition, ResourceInvoker, StartOptions,
};
use ocflow_store::SqliteStore;
use ocflow_tests::moto::Moto;
use ocflow_tests::workspace_root;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The queue every fixture's task steps send to (moto resolves queues by the URL's last segment).
const QUEUE_NAME: &str = "ocflow-differential";
/// The fewest machines on which both sides must agree.
const MIN_AGREEING: usize = 10;
/// How long one side may take for all machines together.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// One fixture: `<name>.asl.json` and `<name>.input.json`.
struct Fixture {
    name: String,
    definition: Value,
    input: Value,
    /// Why moto's result is not to be trusted, from `<name>.moto-differs.md`.
    moto_differs: Option<String>,
}

/// How an execution ended, as both sides report it.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    status: String,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
}

fn fixtures_dir() -> PathBuf {
    workspace_root().join("tests/e2e/differential")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} is unreadable: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} is unreadable: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".asl.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let note = dir.join(format!("{name}.moto-differs.md"));
            Fixture {
                definition: read_json(&dir.join(format!("{name}.asl.json"))),
                input: read_json(&dir.join(format!("{name}.input.json"))),
                moto_differs: std::fs::read_to_string(note)
                    .ok()
                    .map(|text| text.lines().next().unwrap_or_default().to_owned()),
                name,
            }
        })
        .collect()
}

/// The test worker: the answer to one task message, or the `(error, cause)` it fails with.
///
/// - `price`: `{sku, qty, unitPrice}` → `{sku, amount: qty × unitPrice}`;
/// - `flaky`: fails with `Worker.Busy` the first time a `key` is seen, then `{attempts}`;
/// - `reject`: always fails with `Worker.Rejected`.
fn answer(body: &Value, attempts: &Mutex<HashMap<String, u64>>) -> Result<Value, (String, String)> {
    match body["task"].as_str() {
        Some("price") => {
            let qty = body["qty"].as_f64().unwrap_or_default();
            let unit = body["unitPrice"].as_f64().unwrap_or_default();
            Ok(json!({"sku": body["sku"], "amount": qty * unit}))
        }
        Some("flaky") => {
            let key = body["key"].as_str().unwrap_or_default().to_owned();
            let mut attempts = attempts.lock().unwrap_or_else(|p| p.into_inner());
            let count = attempts.entry(key).or_default();
            *count += 1;
            if *count == 1 {
                Err(("Worker.Busy".into(), "first attempt is refused".into()))
            } else {
                Ok(json!({"attempts": *count}))
            }
        }
        Some("reject") => Err((
            "Worker.Rejected".into(),
            format!(
                "sku {} is discontinued",
                body["sku"].as_str().unwrap_or("?")
            ),
        )),
        other => Err(("Worker.Unknown".into(), format!("no task {other:?}"))),
    }
}

/// Numbers compared by value (`42` and `42.0` are the same JSON number to both services).
fn normalise(value: &Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            Some(f) => json!(f),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}

impl Outcome {
    fn normalised(mut self) -> Outcome {
        self.output = self.output.as_ref().map(normalise);
        self
    }
}

/// The local side's queue: `sqs:sendMessage` calls land in a channel the worker reads.
struct LocalQueue {
    messages: mpsc::UnboundedSender<(String, Value)>,
}

impl ResourceInvoker for LocalQueue {
    fn invoke(&self, invocation: Invocation) -> BoxFuture<'static, Result<Value, Failure>> {
        let sent = match (invocation.resource.as_str(), &invocation.task_token) {
            ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", Some(token)) => {
                let body = invocation.arguments["MessageBody"].clone();
                self.messages
                    .send((token.clone(), body))
                    .map(|()| json!({"MessageId": format!("{}-{}", invocation.execution_id, invocation.state)}))
                    .map_err(|_| Failure::new("States.Runtime", "the test worker has stopped"))
            }
            (resource, _) => Err(Failure::new(
                "States.Runtime",
                format!("no handler for {resource}"),
            )),
        };
        Box::pin(async move { sent })
    }
}

async fn run_local(fixtures: &[Fixture]) -> Vec<Outcome> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let store = SqliteStore::in_memory().expect("an in-memory store");
    let engine = Arc::new(
        Engine::builder()
            .store(Arc::new(store))
            .invoker(Arc::new(LocalQueue { messages: tx }))
            .build(),
    );
    let worker_engine = Arc::clone(&engine);
    let worker = tokio::spawn(async move {
        let attempts = Mutex::new(HashMap::new());
        while let Some((token, body)) = rx.recv().await {
            let sent = match answer(&body, &attempts) {
                Ok(output) => worker_engine.send_task_success(&token, output),
                Err((error, cause)) => worker_engine.send_task_failure(&token, &error, &cause),
            };
            sent.expect("the engine accepts the worker's answer");
        }
    });
    let mut ids = Vec::new();
    for fixture in fixtures {
        let definition = MachineDefinition::from_json(&fixture.definition)
            .unwrap_or_else(|e| panic!("{} is not ASL: {e}", fixture.name));
        engine
            .register(&fixture.name, definition)
            .unwrap_or_else(|e| panic!("{} is refused: {e}", fixture.name));
        let id = engine
            .start(
                &fixture.name,
                fixture.input.clone(),
                StartOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{} does not start: {e}", fixture.name));
        ids.push(id);
    }
    let mut outcomes = Vec::new();
    for id in ids {
        let record = tokio::time::timeout(RUN_TIMEOUT, engine.wait(&id))
            .await
            .unwrap_or_else(|_| panic!("{id} still running locally"))
            .expect("the execution is recorded");
        outcomes.push(
            Outcome {
                status: record.status.as_str().to_owned(),
                output: record.output,
                error: record.error,
                cause: record.cause,
            }
            .normalised(),
        );
    }
    worker.abort();
    outcomes
}

/// Long-polls the queue and answers every task message until aborted.
///
/// SQS delivers at least once (and moto's own integration client may send a message twice when a
/// call of it is retried), so the worker answers each task token once, as a real worker must:
/// a second copy is deleted unanswered instead of counting as another attempt.
async fn moto_worker(sqs: aws_sdk_sqs::Client, sfn: aws_sdk_sfn::Client, queue_url: String) {
    let attempts = Mutex::new(HashMap::new());
    let mut answered = std::collections::HashSet::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("the queue is polled");
        for message in received.messages() {
            let body: Value = serde_json::from_str(message.body().unwrap_or("null"))
                .expect("task messages are JSON");
            let token = body["taskToken"].as_str().expect("a task token").to_owned();
            let first_copy = answered.insert(token.clone());
            let answered_now = if !first_copy {
                Ok(())
            } else {
                match answer(&body, &attempts) {
                    Ok(output) => sfn
                        .send_task_success()
                        .task_token(token)
                        .output(output.to_string())
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| format!("{e:?}")),
                    Err((error, cause)) => sfn
                        .send_task_failure()
                        .task_token(token)
                        .error(error)
                        .cause(cause)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| format!("{e:?}")),
                }
            };
            answered_now.expect("moto accepts the worker's answer");
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("the message is deleted");
            }
        }
    }
}

async fn run_moto(moto: &Moto, fixtures: &[Fixture]) -> Vec<Outcome> {
    let config = moto.sdk_config().await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url = sqs
        .create_queue()
        .queue_name(QUEUE_NAME)
        .send()
        .await
        .expect("the queue is created")
        .queue_url
        .expect("a queue URL");
    let worker = tokio::spawn(moto_worker(sqs, sfn.clone(), queue_url));
    let mut arns = Vec::new();
    for fixture in fixtures {
        let machine = sfn
            .create_state_machine()
            .name(&fixture.name)
            .definition(fixture.definition.to_string())
            .role_arn("arn:aws:iam::123456789012:role/ocflow-differential")
            .r#type(StateMachineType::Standard)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: moto refuses the machine: {e:?}", fixture.name));
        let started = sfn
            .start_execution()
            .state_machine_arn(machine.state_machine_arn)
            .name(format!("{}-run", fixture.name))
            .input(fixture.input.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: moto does not start it: {e:?}", fixture.name));
        arns.push(started.execution_arn);
    }
    let deadline = Instant::now() + RUN_TIMEOUT;
    let mut outcomes = Vec::new();
    for arn in arns {
        let described = loop {
            let described = sfn
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await
                .expect("the execution is described");
            if described.status != SfnStatus::Running {
                break described;
            }
            assert!(Instant::now() < deadline, "{arn} still running on moto");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        outcomes.push(
            Outcome {
                status: described.status.as_str().to_owned(),
                output: described
                    .output
                    .as_deref()
                    .map(|text| serde_json::from_str(text).expect("moto's output is JSON")),
                error: described.error,
                cause: described.cause,
            }
            .normalised(),
        );
    }
    worker.abort();
    outcomes
}

fn brief(outcome: &Outcome) -> String {
    match (&outcome.output, &outcome.error) {
        (Some(output), _) => {
            let text = output.to_string();
            if text.len() > 60 {
                format!("{}…", &text[..text.floor_char_boundary(60)])
            } else {
                text
            }
        }
        (None, Some(error)) => error.clone(),
        (None, None) => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_and_moto_agree_on_every_fixture() {
    let fixtures = fixtures();
    let moto = Moto::start().expect("moto starts");
    let started = Instant::now();
    let (local, remote) = tokio::join!(run_local(&fixtures), run_moto(&moto, &fixtures));
    println!(
        "{} machines on both sides in {:.1} s",
        fixtures.len(),
        started.elapsed().as_secs_f64()
    );

    println!(
        "{:<26} {:<10} {:<10} {:<7} local output / error",
        "machine", "local", "moto", "agree"
    );
    let mut agreeing = 0;
    let mut disagreeing = Vec::new();
    for ((fixture, local), remote) in fixtures.iter().zip(&local).zip(&remote) {
        let agree = local == remote;
        let verdict = match (&fixture.moto_differs, agree) {
            (Some(_), _) => "excl.",
            (None, true) => "yes",
            (None, false) => "NO",
        };
        println!(
            "{:<26} {:<10} {:<10} {:<7} {}",
            fixture.name,
            local.status,
            remote.status,
            verdict,
            brief(local)
        );
        match &fixture.moto_differs {
            Some(reason) => println!("{:<26} excluded: {reason}", ""),
            None if agree => agreeing += 1,
            None => disagreeing.push(format!(
                "{}:\n  local: {local:?}\n  moto:  {remote:?}",
                fixture.name
            )),
        }
    }
    assert!(
        disagreeing.is_empty(),
        "the engine and moto disagree:\n{}",
        disagreeing.join("\n")
    );
    assert!(
        agreeing >= MIN_AGREEING,
        "only {agreeing} machines agree; at least {MIN_AGREEING} must"
    );
}

#[test]
fn the_worker_fails_a_flaky_task_once_and_prices_lines() {
    let attempts = Mutex::new(HashMap::new());
    let flaky = json!({"task": "flaky", "key": "run/Reserve"});
    assert_eq!(
        answer(&flaky, &attempts),
        Err(("Worker.Busy".into(), "first attempt is refused".into()))
    );
    assert_eq!(answer(&flaky, &attempts), Ok(json!({"attempts": 2})));
    let price = json!({"task": "price", "sku": "A-1", "qty": 3, "unitPrice": 12.5});
    assert_eq!(
        answer(&price, &attempts),
        Ok(json!({"sku": "A-1", "amount": 37.5}))
    );
}

#[test]
fn numbers_compare_by_value() {
    assert_eq!(
        normalise(&json!({"a": [2.0, 1.5], "b": 3})),
        normalise(&json!({"b": 3.0, "a": [2, 1.5]}))
    );
    assert_ne!(normalise(&json!({"a": 2})), normalise(&json!({"a": "2"})));
}
