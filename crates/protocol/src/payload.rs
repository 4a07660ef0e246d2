//! Payloads the compiled machine sends to the task functions.
//!
//! The HTTP function receives the Conductor HTTP task input unchanged (`http_request` or flat
//! keys), so it needs no type here. The script function serves several kinds of work and
//! receives a [`ScriptRequest`]. Worker tasks receive a [`WorkerMessage`] through their queue.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the script function should evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptRequest {
    /// The language and purpose of `expression`.
    pub kind: ScriptKind,
    /// The script text: a JavaScript program/expression or a jq filter.
    pub expression: String,
    /// The task input: bound to `$` in JavaScript, the input document of jq.
    #[serde(default)]
    pub input: Value,
}

/// The kinds of script the script function evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScriptKind {
    /// INLINE (and legacy LAMBDA) tasks: output `{ "result": <value> }`.
    Javascript,
    /// JSON_JQ_TRANSFORM tasks: output `{ "result": <first>, "resultList": [<all>] }`.
    Jq,
    /// A SWITCH/DO_WHILE condition the compiler could not translate to JSONata:
    /// output `{ "result": <value> }`.
    Condition,
}

/// The error object a task function reports; Step Functions shows it as `Error` and `Cause`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFailure {
    /// One of the names in [`crate::errors`].
    pub error: String,
    /// A JSON document (as text) or plain text explaining the failure.
    pub cause: String,
}

/// The body of the SQS message a worker task state sends to its task type's queue
/// (`sqs:sendMessage.waitForTaskToken`), as the compiler writes it. Workers answer through
/// `taskToken` (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerMessage {
    /// The Step Functions task token that completes the waiting state.
    pub task_token: String,
    /// The Conductor task id: `<execution name>/<state name>`.
    pub task_id: String,
    /// The Conductor workflow id: the execution name.
    pub workflow_id: String,
    /// The Conductor workflow name.
    #[serde(default)]
    pub workflow_type: String,
    /// The worker task type (the queue's task type).
    pub task_type: String,
    /// The task's `name` in the workflow definition.
    #[serde(default)]
    pub task_def_name: String,
    /// The task's `taskReferenceName`.
    #[serde(default)]
    pub reference_task_name: String,
    /// How many times Step Functions has retried this state (`$states.context.State.RetryCount`).
    #[serde(default)]
    pub retry_count: u32,
    /// The task's resolved `inputParameters`.
    #[serde(default)]
    pub input_data: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn script_request_wire_shape() {
        let request: ScriptRequest = serde_json::from_value(json!({
            "kind": "jq", "expression": ".a", "input": {"a": 1}
        }))
        .unwrap();
        assert_eq!(request.kind, ScriptKind::Jq);
        assert_eq!(serde_json::to_value(&request).unwrap()["kind"], "jq");
    }

    #[test]
    fn worker_message_reads_the_compiled_body() {
        let message: WorkerMessage = serde_json::from_value(json!({
            "taskToken": "tok", "taskId": "wf-1/encode", "workflowId": "wf-1",
            "workflowType": "media", "taskType": "encode", "taskDefName": "encode",
            "referenceTaskName": "encode_ref", "retryCount": 2, "inputData": {"file": "a.mp4"}
        }))
        .unwrap();
        assert_eq!(message.task_token, "tok");
        assert_eq!(message.retry_count, 2);
        assert_eq!(message.input_data["file"], "a.mp4");
    }
}
