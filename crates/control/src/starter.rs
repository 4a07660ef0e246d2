//! Starts executions from queued start requests, idempotently.
//!
//! Each SQS message body is a Conductor `StartWorkflowRequest`-like object:
//! `{"name": .., "version"?: .., "input": {..}, "correlationId"?: .., "idempotencyKey"?: .., "priority"?: ..}`.
//! The execution name (the Conductor workflow id) is derived from the idempotency key, or else
//! from the SQS message id ([`execution_name`]), so a redelivered message starts nothing new.
//! `ExecutionAlreadyExists` counts as success; so a second request with the same idempotency key
//! but a different input is treated as "already started" and its input is dropped, as
//! Conductor's `RETURN_EXISTING` idempotency strategy does.
//!
//! Failures are reported per message ([`BatchResponse`]) so that only the failed ones are
//! delivered again; a malformed message fails every time, and the queue's redrive policy moves it
//! to the dead-letter queue after `maxReceiveCount` deliveries.
//!
//! Step Functions refuses a second execution of the same name only on Standard machines; for
//! Express machines the starter first looks the name up in the executions table. A start that
//! succeeded but could not be recorded (the table failed, the function stopped) is therefore
//! started again on redelivery: Express starts are at-least-once, Standard starts exactly-once.
//!
//! Every start is also recorded in the executions table with what only the request knows
//! (correlation id, version, priority): for Express machines, which send no status events, this
//! is the only record; for Standard ones the tracker fills in the status.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::directory::{MachineKind, ResolveError, StateMachineResolver};
use crate::execution::{Millis, Retention, StartRecord};
use crate::ports::{ExecutionTable, PortError, StartExecution, StartOutcome, StepFunctions};
use crate::sqs::{BatchItemFailure, BatchResponse, SqsEvent, SqsMessage};

/// The largest execution input Step Functions accepts, in bytes.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;

/// The longest execution name Step Functions accepts.
pub const MAX_NAME_CHARS: usize = 80;

/// Hex digits of the digest that end every derived execution name.
const DIGEST_CHARS: usize = 16;

/// A request to start a workflow (a subset of Conductor's `StartWorkflowRequest`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartRequest {
    /// The workflow name.
    pub name: String,
    /// The workflow version; the deployed one when absent.
    #[serde(default)]
    pub version: Option<u32>,
    /// The workflow input.
    #[serde(default = "empty_object")]
    pub input: Value,
    /// Conductor's correlation id, recorded for search.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Names the execution: two requests with the same key (for the same workflow) start one
    /// execution.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Conductor's priority (0–99); recorded only, Step Functions has no priorities.
    #[serde(default)]
    pub priority: Option<u8>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// What an execution name is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSource<'a> {
    /// The request's idempotency key.
    IdempotencyKey(&'a str),
    /// The id of the SQS message that carried the request.
    MessageId(&'a str),
}

/// The execution name for a start of `workflow`: the source text with characters outside
/// `0-9 A-Z a-z - _` replaced by `_`, cut to fit, then `-` and 16 hex digits of a SHA-256 over the
/// workflow name, the kind of source and the source text. Deterministic, at most 80 characters,
/// and distinct for distinct (workflow, source) pairs even when the readable part is cut or
/// rewritten.
pub fn execution_name(workflow: &str, source: NameSource<'_>) -> String {
    let (kind, text) = match source {
        NameSource::IdempotencyKey(key) => ("idempotencyKey", key),
        NameSource::MessageId(id) => ("messageId", id),
    };
    let mut hasher = Sha256::new();
    for part in [workflow, kind, text] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let readable: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME_CHARS - DIGEST_CHARS - 1)
        .collect();
    format!("{readable}-{}", &digest[..DIGEST_CHARS])
}

/// The ARN of the execution `name` of a state machine.
pub fn execution_arn(state_machine_arn: &str, kind: MachineKind, name: &str) -> String {
    let segment = match kind {
        MachineKind::Standard => ":execution:",
        MachineKind::Express => ":express:",
    };
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", segment, 1)
    )
}

/// Why a message did not start an execution.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not a start request.
    #[error("malformed start request: {0}")]
    Malformed(String),
    /// The workflow has no deployed state machine.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The input is above the Step Functions limit.
    #[error("execution input is {0} bytes, above the {MAX_INPUT_BYTES}-byte limit")]
    InputTooLarge(usize),
    /// Step Functions or the table failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

impl Error {
    /// Whether delivering the message again cannot help (it will end in the dead-letter queue).
    pub fn is_poison(&self) -> bool {
        !matches!(self, Error::Port(_))
    }
}

/// A started (or already running) execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The Conductor workflow id: the execution name.
    pub workflow_id: String,
    /// The execution's ARN.
    pub execution_arn: String,
    /// Whether the execution existed before this message.
    pub already_existed: bool,
}

/// Starts executions through the ports.
#[derive(Debug, Clone)]
pub struct Starter<R, S, T> {
    resolver: R,
    step_functions: S,
    table: T,
    retention: Retention,
}

impl<R, S, T> Starter<R, S, T>
where
    R: StateMachineResolver,
    S: StepFunctions,
    T: ExecutionTable,
{
    /// A starter over a resolver, Step Functions and the executions table.
    pub fn new(resolver: R, step_functions: S, table: T, retention: Retention) -> Self {
        Self {
            resolver,
            step_functions,
            table,
            retention,
        }
    }

    /// Handles an SQS batch: starts every message's execution and reports the failed messages.
    pub async fn handle(&self, event: SqsEvent) -> BatchResponse {
        let mut response = BatchResponse::default();
        for message in &event.records {
            match self.start(message).await {
                Ok(started) => tracing::info!(
                    message_id = %message.message_id,
                    workflow_id = %started.workflow_id,
                    already_existed = started.already_existed,
                    "execution started"
                ),
                Err(error) => {
                    tracing::error!(
                        message_id = %message.message_id,
                        poison = error.is_poison(),
                        error = %error,
                        "start failed"
                    );
                    response.batch_item_failures.push(BatchItemFailure {
                        item_identifier: message.message_id.clone(),
                    });
                }
            }
        }
        response
    }

    /// Starts the execution one message asks for.
    pub async fn start(&self, message: &SqsMessage) -> Result<Started, Error> {
        let request: StartRequest =
            serde_json::from_str(&message.body).map_err(|e| Error::Malformed(e.to_string()))?;
        if request.name.is_empty() {
            return Err(Error::Malformed("`name` is empty".into()));
        }
        let target = self.resolver.resolve(&request.name, request.version)?;
        let input = request.input.to_string();
        if input.len() > MAX_INPUT_BYTES {
            return Err(Error::InputTooLarge(input.len()));
        }
        let source = match request.idempotency_key.as_deref() {
            Some(key) if !key.is_empty() => NameSource::IdempotencyKey(key),
            _ => NameSource::MessageId(&message.message_id),
        };
        let name = execution_name(&request.name, source);
        // Express machines do not refuse a second execution of the same name: the table does.
        if target.kind == MachineKind::Express
            && let Some(execution_arn) = self.table.recorded_start(&name).await?
        {
            return Ok(Started {
                workflow_id: name,
                execution_arn,
                already_existed: true,
            });
        }
        let outcome = self
            .step_functions
            .start_execution(StartExecution {
                state_machine_arn: target.state_machine_arn.clone(),
                name: name.clone(),
                input,
            })
            .await?;
        let sent_time = sent_timestamp(message);
        let (execution_arn, start_time, already_existed) = match outcome {
            StartOutcome::Started {
                execution_arn,
                start_time,
            } => (execution_arn, start_time, false),
            StartOutcome::AlreadyExists => (
                execution_arn(&target.state_machine_arn, target.kind, &name),
                sent_time,
                true,
            ),
        };
        let expires_at =
            (target.kind == MachineKind::Express).then(|| self.retention.expires_at(start_time));
        self.table
            .record_start(&StartRecord {
                workflow_id: name.clone(),
                execution_arn: execution_arn.clone(),
                state_machine_arn: target.state_machine_arn,
                workflow_name: request.name,
                workflow_version: request.version,
                correlation_id: request.correlation_id,
                priority: request.priority,
                start_time,
                idempotency_key: request.idempotency_key,
                expires_at,
                reconcilable: target.kind == MachineKind::Standard,
            })
            .await?;
        Ok(Started {
            workflow_id: name,
            execution_arn,
            already_existed,
        })
    }
}

/// The message's `SentTimestamp` attribute (epoch milliseconds), or 0.
fn sent_timestamp(message: &SqsMessage) -> Millis {
    message
        .attributes
        .get("SentTimestamp")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExecutionStatus;
    use crate::directory::Directory;
    use crate::fakes::{FakeStepFunctions, MemoryTable};
    use serde_json::json;

    const MACHINE: &str = "arn:aws:states:eu-west-1:1:stateMachine:ocflow-orders";
    const QUICK: &str = "arn:aws:states:eu-west-1:1:stateMachine:ocflow-quick";

    fn starter() -> Starter<Directory, FakeStepFunctions, MemoryTable> {
        let directory = Directory::new()
            .with_machine("orders", MACHINE, MachineKind::Standard, None)
            .with_machine("quick", QUICK, MachineKind::Express, None);
        Starter::new(
            directory,
            FakeStepFunctions::default().with_express(QUICK),
            MemoryTable::default(),
            Retention { days: 1 },
        )
    }

    fn message(id: &str, body: Value) -> SqsMessage {
        SqsMessage {
            message_id: id.into(),
            body: body.to_string(),
            attributes: [("SentTimestamp".to_owned(), "1700000000000".to_owned())].into(),
        }
    }

    #[test]
    fn names_are_valid_stable_and_distinct() {
        let long = "k".repeat(200);
        let odd = "order #42 / retry ü";
        for (workflow, source) in [
            ("orders", NameSource::IdempotencyKey(long.as_str())),
            ("orders", NameSource::IdempotencyKey(odd)),
            (
                "orders",
                NameSource::MessageId("059f36b4-87a3-44ab-83d2-661975830a7d"),
            ),
        ] {
            let name = execution_name(workflow, source);
            assert!(name.len() <= MAX_NAME_CHARS, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{name}"
            );
            assert_eq!(name, execution_name(workflow, source));
        }
        assert!(execution_name("orders", NameSource::IdempotencyKey(odd)).starts_with("order__42"));
        assert_ne!(
            execution_name("orders", NameSource::IdempotencyKey("a")),
            execution_name("billing", NameSource::IdempotencyKey("a"))
        );
        assert_ne!(
            execution_name("orders", NameSource::IdempotencyKey("a b")),
            execution_name("orders", NameSource::IdempotencyKey("a_b"))
        );
        assert_ne!(
            execution_name("orders", NameSource::IdempotencyKey("m1")),
            execution_name("orders", NameSource::MessageId("m1"))
        );
    }

    #[test]
    fn execution_arns_follow_the_machine_kind() {
        assert_eq!(
            execution_arn(MACHINE, MachineKind::Standard, "n"),
            "arn:aws:states:eu-west-1:1:execution:ocflow-orders:n"
        );
        assert_eq!(
            execution_arn(MACHINE, MachineKind::Express, "n"),
            "arn:aws:states:eu-west-1:1:express:ocflow-orders:n"
        );
    }

    #[tokio::test]
    async fn a_redelivered_message_starts_one_execution() {
        let starter = starter();
        let body = json!({"name": "orders", "input": {"id": 42}, "correlationId": "c-1"});
        for _ in 0..3 {
            let response = starter
                .handle(SqsEvent {
                    records: vec![message("m-1", body.clone())],
                })
                .await;
            assert!(response.batch_item_failures.is_empty());
        }
        let started = starter.step_functions.executions();
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].input, r#"{"id":42}"#);
        let row = starter.table.row(&started[0].name).unwrap();
        assert_eq!(row.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(row.status, ExecutionStatus::Running);
        assert_eq!(row.expires_at, None);
    }

    #[tokio::test]
    async fn the_idempotency_key_names_the_execution() {
        let starter = starter();
        let body = |input: i64| json!({"name": "orders", "input": {"n": input}, "idempotencyKey": "order-42"});
        let first = starter.start(&message("m-1", body(1))).await.unwrap();
        let second = starter.start(&message("m-2", body(2))).await.unwrap();
        assert_eq!(first.workflow_id, second.workflow_id);
        assert!(!first.already_existed);
        assert!(second.already_existed);
        assert_eq!(first.execution_arn, second.execution_arn);
        assert_eq!(starter.step_functions.executions().len(), 1);
    }

    #[tokio::test]
    async fn express_redeliveries_are_caught_by_the_table() {
        let starter = starter();
        let body = json!({"name": "quick", "input": {}});
        let first = starter.start(&message("m-1", body.clone())).await.unwrap();
        let again = starter.start(&message("m-1", body)).await.unwrap();
        assert!(again.already_existed);
        assert_eq!(again.execution_arn, first.execution_arn);
        assert_eq!(starter.step_functions.executions().len(), 1);
    }

    #[tokio::test]
    async fn poison_messages_fail_alone() {
        let starter = starter();
        let event = SqsEvent {
            records: vec![
                message("good-1", json!({"name": "orders"})),
                SqsMessage {
                    message_id: "not-json".into(),
                    body: "{".into(),
                    ..SqsMessage::default()
                },
                message("unknown", json!({"name": "nope"})),
                message("no-name", json!({"input": {}})),
                message("good-2", json!({"name": "quick", "version": 3})),
            ],
        };
        let response = starter.handle(event).await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["not-json", "unknown", "no-name"]);
        assert_eq!(starter.step_functions.executions().len(), 2);
    }

    #[tokio::test]
    async fn express_starts_expire_and_oversized_inputs_are_poison() {
        let starter = starter();
        let started = starter
            .start(&message("m-1", json!({"name": "quick", "input": {}})))
            .await
            .unwrap();
        let row = starter.table.row(&started.workflow_id).unwrap();
        assert_eq!(row.workflow_version, None);
        assert_eq!(
            row.expires_at,
            Some(FakeStepFunctions::START_TIME / 1000 + 86_400)
        );
        assert!(
            !row.reconcilable,
            "Express rows are never listed for reconciliation"
        );

        let big = json!({"name": "orders", "input": {"blob": "x".repeat(MAX_INPUT_BYTES)}});
        let error = starter.start(&message("m-2", big)).await.unwrap_err();
        assert!(matches!(error, Error::InputTooLarge(_)) && error.is_poison());
    }

    #[tokio::test]
    async fn port_failures_are_retried_not_poison() {
        let starter = starter();
        starter.step_functions.fail_next_start();
        let response = starter
            .handle(SqsEvent {
                records: vec![message("m-1", json!({"name": "orders"}))],
            })
            .await;
        assert_eq!(response.batch_item_failures.len(), 1);
        let error = starter
            .start(&message("m-2", json!({"name": "orders"})))
            .await;
        assert!(error.is_ok());
    }
}
