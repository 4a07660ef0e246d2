//! Worker tasks over SQS task tokens.
//!
//! A compiled worker state sends a [`WorkerMessage`] to its task type's queue
//! (`sqs:sendMessage.waitForTaskToken`) and waits. [`WorkerClient`] receives those messages,
//! shows each as a Conductor `Task` (see [`ocflow_control::worker::conductor_task`]) and answers
//! the task token the way a Conductor worker's `TaskResult` asks:
//!
//! - `COMPLETED`: SendTaskSuccess, then the message is deleted;
//! - `FAILED` / `FAILED_WITH_TERMINAL_ERROR`: SendTaskFailure (`Worker.Failed` /
//!   `Worker.TerminalError`), then the message is deleted;
//! - `IN_PROGRESS`: SendTaskHeartbeat, and the message stays hidden for `callbackAfterSeconds`
//!   (ChangeMessageVisibility), after which it is handed out again with a higher `pollCount`.
//!
//! A message that is not a worker message is left alone: it is received again until the queue's
//! redrive policy moves it to the dead-letter queue.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use ocflow_control::worker::{self, Answer, Delivery, TaskResult};
use ocflow_protocol::payload::WorkerMessage;
use serde_json::Value;

use crate::error::Error;

/// A task received from a worker queue.
#[derive(Debug, Clone, PartialEq)]
pub struct PolledTask {
    /// The Conductor `Task` JSON the worker works on.
    pub task: Value,
    /// The message as the compiled state sent it (with its task token).
    pub message: WorkerMessage,
    /// The SQS receipt handle, to delete or hide the message.
    pub receipt_handle: String,
}

impl PolledTask {
    /// The Conductor task id.
    pub fn task_id(&self) -> &str {
        &self.message.task_id
    }
}

/// Receives and answers the worker tasks of one task type's queue.
#[derive(Debug, Clone)]
pub struct WorkerClient {
    sqs: aws_sdk_sqs::Client,
    sfn: aws_sdk_sfn::Client,
    queue_url: String,
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether Step Functions refuses an answer because the task no longer waits for one.
fn gone(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken")
    )
}

impl WorkerClient {
    /// A client for the queue at `queue_url`.
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        sfn: aws_sdk_sfn::Client,
        queue_url: impl Into<String>,
    ) -> Self {
        Self {
            sqs,
            sfn,
            queue_url: queue_url.into(),
        }
    }

    /// Receives up to `max_tasks` (1–10) tasks, waiting up to `wait` (at most 20 s) for the
    /// first. `worker_id` is shown in the tasks' `workerId`.
    pub async fn poll(
        &self,
        max_tasks: u8,
        wait: Duration,
        worker_id: Option<&str>,
    ) -> Result<Vec<PolledTask>, Error> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::from(max_tasks.clamp(1, 10)))
            .wait_time_seconds(i32::try_from(wait.as_secs().min(20)).unwrap_or(20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| Error::service("ReceiveMessage", e))?;
        let received_at = now_millis();
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|message| self.task(message, received_at, worker_id))
            .collect())
    }

    fn task(
        &self,
        message: Message,
        received_at: i64,
        worker_id: Option<&str>,
    ) -> Option<PolledTask> {
        let attribute = |name: MessageSystemAttributeName| {
            message
                .attributes
                .as_ref()?
                .get(&name)
                .and_then(|v| v.parse::<i64>().ok())
        };
        let delivery = Delivery {
            poll_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount)
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(1),
            sent_at: attribute(MessageSystemAttributeName::SentTimestamp).unwrap_or(received_at),
            received_at,
            worker_id: worker_id.map(str::to_owned),
        };
        let parsed = message
            .body
            .as_deref()
            .map(serde_json::from_str::<WorkerMessage>);
        match (parsed, message.receipt_handle) {
            (Some(Ok(worker_message)), Some(receipt_handle)) => Some(PolledTask {
                task: worker::conductor_task(&worker_message, &delivery),
                message: worker_message,
                receipt_handle,
            }),
            (parsed, _) => {
                let reason = match parsed {
                    Some(Err(error)) => error.to_string(),
                    _ => "no body or receipt handle".to_owned(),
                };
                tracing::warn!(
                    queue = %self.queue_url,
                    message_id = message.message_id.as_deref().unwrap_or(""),
                    %reason,
                    "not a worker message"
                );
                None
            }
        }
    }

    /// Answers a task with a Conductor task result.
    pub async fn update(&self, task: &PolledTask, result: &TaskResult) -> Result<(), Error> {
        self.answer(task, &Answer::from_result(result)?).await
    }

    /// Answers a task: success or failure end it (and delete its message); a heartbeat keeps it.
    pub async fn answer(&self, task: &PolledTask, answer: &Answer) -> Result<(), Error> {
        let token = &task.message.task_token;
        let sent = match answer {
            Answer::Success { output } => self
                .sfn
                .send_task_success()
                .task_token(token)
                .output(output)
                .send()
                .await
                .map(drop)
                .map_err(|e| (gone(e.code()), Error::service("SendTaskSuccess", e))),
            Answer::Failure { error, cause } => self
                .sfn
                .send_task_failure()
                .task_token(token)
                .error(*error)
                .cause(cause)
                .send()
                .await
                .map(drop)
                .map_err(|e| (gone(e.code()), Error::service("SendTaskFailure", e))),
            Answer::Heartbeat { visibility_seconds } => {
                return self.heartbeat(task, *visibility_seconds).await;
            }
        };
        match sent {
            Ok(()) => self.delete(task).await,
            Err((true, error)) => {
                self.delete(task).await?;
                Err(Error::TaskGone {
                    task_id: task.task_id().to_owned(),
                    message: error.to_string(),
                })
            }
            Err((false, error)) => Err(error),
        }
    }

    async fn heartbeat(&self, task: &PolledTask, visibility_seconds: u64) -> Result<(), Error> {
        if let Err(e) = self
            .sfn
            .send_task_heartbeat()
            .task_token(&task.message.task_token)
            .send()
            .await
        {
            if gone(e.code()) {
                self.delete(task).await?;
                return Err(Error::TaskGone {
                    task_id: task.task_id().to_owned(),
                    message: Error::service("SendTaskHeartbeat", e).to_string(),
                });
            }
            return Err(Error::service("SendTaskHeartbeat", e));
        }
        self.sqs
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&task.receipt_handle)
            .visibility_timeout(i32::try_from(visibility_seconds).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| Error::service("ChangeMessageVisibility", e))?;
        Ok(())
    }

    async fn delete(&self, task: &PolledTask) -> Result<(), Error> {
        self.sqs
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&task.receipt_handle)
            .send()
            .await
            .map_err(|e| Error::service("DeleteMessage", e))?;
        Ok(())
    }
}
