//! Worker tasks: the messages compiled worker states send (`sqs:sendMessage.waitForTaskToken`)
//! seen as Conductor tasks, and Conductor task results turned into task-token answers.
//!
//! | Conductor `TaskResult.status` | answer |
//! |---|---|
//! | `COMPLETED` | SendTaskSuccess with `outputData` |
//! | `FAILED` | SendTaskFailure, error `Worker.Failed` (retried per the task definition), cause `reasonForIncompletion` |
//! | `FAILED_WITH_TERMINAL_ERROR` | SendTaskFailure, error `Worker.TerminalError` (never retried) |
//! | `IN_PROGRESS` | SendTaskHeartbeat, and the message stays hidden for `callbackAfterSeconds` |

use ocflow_protocol::errors;
use ocflow_protocol::payload::WorkerMessage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::execution::Millis;

/// The largest output SendTaskSuccess accepts, in bytes.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// The longest cause SendTaskFailure accepts, in characters.
pub const MAX_CAUSE_CHARS: usize = 32_768;
/// The longest visibility timeout SQS accepts (12 hours), in seconds.
pub const MAX_VISIBILITY_SECONDS: u64 = 43_200;

/// How a worker message was delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// How many times the message has been received (SQS `ApproximateReceiveCount`).
    pub poll_count: u32,
    /// When the message was sent (SQS `SentTimestamp`): the task's scheduled time.
    pub sent_at: Millis,
    /// When the worker received it: the task's start time.
    pub received_at: Millis,
    /// The polling worker's id, if it gave one.
    pub worker_id: Option<String>,
}

/// The Conductor `Task` JSON a worker sees for a message, status `IN_PROGRESS`.
pub fn conductor_task(message: &WorkerMessage, delivery: &Delivery) -> Value {
    json!({
        "taskId": message.task_id,
        "taskType": message.task_type,
        "taskDefName": if message.task_def_name.is_empty() { &message.task_type } else { &message.task_def_name },
        "referenceTaskName": message.reference_task_name,
        "workflowInstanceId": message.workflow_id,
        "workflowType": message.workflow_type,
        "status": "IN_PROGRESS",
        "inputData": message.input_data,
        "outputData": {},
        "retryCount": message.retry_count,
        "pollCount": delivery.poll_count,
        "scheduledTime": delivery.sent_at,
        "startTime": delivery.received_at,
        "updateTime": delivery.received_at,
        "endTime": 0,
        "queueWaitTime": (delivery.received_at - delivery.sent_at).max(0),
        "callbackAfterSeconds": 0,
        "workerId": delivery.worker_id,
    })
}

/// The status a worker reports (Conductor's `TaskResult.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResultStatus {
    /// Still working: extend the lease.
    InProgress,
    /// Failed; may be retried.
    Failed,
    /// Failed; must not be retried.
    FailedWithTerminalError,
    /// Done.
    Completed,
}

/// What a worker reports (the fields of Conductor's `TaskResult` that matter here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    /// The outcome.
    pub status: ResultStatus,
    /// The task output.
    #[serde(default)]
    pub output_data: Map<String, Value>,
    /// Why the task failed.
    #[serde(default)]
    pub reason_for_incompletion: Option<String>,
    /// For `IN_PROGRESS`: when to hand the task out again.
    #[serde(default)]
    pub callback_after_seconds: u64,
}

/// How to answer a task token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// SendTaskSuccess with this output (JSON text).
    Success {
        /// The output, as JSON text.
        output: String,
    },
    /// SendTaskFailure.
    Failure {
        /// The error name (one of [`ocflow_protocol::errors`]).
        error: &'static str,
        /// The cause.
        cause: String,
    },
    /// SendTaskHeartbeat, and hide the message for this long.
    Heartbeat {
        /// Seconds until the task is handed out again.
        visibility_seconds: u64,
    },
}

/// Why a result cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The output is above the Step Functions limit.
    #[error("task output is {0} bytes, above the {MAX_OUTPUT_BYTES}-byte limit")]
    OutputTooLarge(usize),
}

impl Answer {
    /// The answer for a Conductor task result.
    pub fn from_result(result: &TaskResult) -> Result<Answer, Error> {
        let reason = || {
            let reason = result
                .reason_for_incompletion
                .clone()
                .unwrap_or_else(|| "the worker reported the task failed".to_owned());
            reason.chars().take(MAX_CAUSE_CHARS).collect()
        };
        Ok(match result.status {
            ResultStatus::Completed => {
                let output = Value::Object(result.output_data.clone()).to_string();
                if output.len() > MAX_OUTPUT_BYTES {
                    return Err(Error::OutputTooLarge(output.len()));
                }
                Answer::Success { output }
            }
            ResultStatus::Failed => Answer::Failure {
                error: errors::WORKER_FAILED,
                cause: reason(),
            },
            ResultStatus::FailedWithTerminalError => Answer::Failure {
                error: errors::WORKER_TERMINAL,
                cause: reason(),
            },
            ResultStatus::InProgress => Answer::Heartbeat {
                visibility_seconds: result.callback_after_seconds.min(MAX_VISIBILITY_SECONDS),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> WorkerMessage {
        WorkerMessage {
            task_token: "token".into(),
            task_id: "wf-1/encode".into(),
            workflow_id: "wf-1".into(),
            workflow_type: "media".into(),
            task_type: "encode".into(),
            task_def_name: String::new(),
            reference_task_name: "encode_ref".into(),
            retry_count: 1,
            input_data: json!({"file": "a.mp4"}),
        }
    }

    #[test]
    fn messages_read_as_conductor_tasks() {
        let delivery = Delivery {
            poll_count: 2,
            sent_at: 1_000,
            received_at: 1_500,
            worker_id: Some("w-1".into()),
        };
        let task = conductor_task(&message(), &delivery);
        assert_eq!(task["taskId"], "wf-1/encode");
        assert_eq!(task["workflowInstanceId"], "wf-1");
        assert_eq!(task["taskDefName"], "encode");
        assert_eq!(task["referenceTaskName"], "encode_ref");
        assert_eq!(task["inputData"]["file"], "a.mp4");
        assert_eq!(task["pollCount"], 2);
        assert_eq!(task["retryCount"], 1);
        assert_eq!(task["queueWaitTime"], 500);
        assert!(task.get("taskToken").is_none());
    }

    fn result(value: Value) -> TaskResult {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn results_become_answers() {
        assert_eq!(
            Answer::from_result(&result(
                json!({"status": "COMPLETED", "outputData": {"size": 3}})
            )),
            Ok(Answer::Success {
                output: "{\"size\":3}".into()
            })
        );
        assert_eq!(
            Answer::from_result(&result(
                json!({"status": "FAILED", "reasonForIncompletion": "disk full"})
            )),
            Ok(Answer::Failure {
                error: errors::WORKER_FAILED,
                cause: "disk full".into()
            })
        );
        assert!(matches!(
            Answer::from_result(&result(json!({"status": "FAILED_WITH_TERMINAL_ERROR"}))),
            Ok(Answer::Failure {
                error: errors::WORKER_TERMINAL,
                ..
            })
        ));
        assert_eq!(
            Answer::from_result(&result(
                json!({"status": "IN_PROGRESS", "callbackAfterSeconds": 999_999})
            )),
            Ok(Answer::Heartbeat {
                visibility_seconds: MAX_VISIBILITY_SECONDS
            })
        );
    }

    #[test]
    fn oversized_output_fails_loudly() {
        let big = result(
            json!({"status": "COMPLETED", "outputData": {"x": "y".repeat(MAX_OUTPUT_BYTES)}}),
        );
        assert!(matches!(
            Answer::from_result(&big),
            Err(Error::OutputTooLarge(_))
        ));
    }
}
