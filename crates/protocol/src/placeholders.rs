//! Resource placeholders in compiled ASL.
//!
//! Compiled machines never hold real ARNs or URLs. They hold `${Name}` placeholders in the form
//! SAM's `DefinitionSubstitutions` fills in; the local engine resolves the same names to
//! in-process handlers. One ASL document therefore serves both hosts.

/// Placeholder for the HTTP/OCF task function's ARN.
pub const HTTP_TASK_FUNCTION: &str = "${HttpTaskFunctionArn}";
/// Placeholder for the script task function's ARN (INLINE JavaScript, jq, JavaScript conditions).
pub const SCRIPT_TASK_FUNCTION: &str = "${ScriptTaskFunctionArn}";
/// Placeholder for the event sink function's ARN (EVENT tasks to SNS/EventBridge targets).
pub const EVENT_TASK_FUNCTION: &str = "${EventTaskFunctionArn}";
/// Placeholder for the URL of the queue that tracks tokens of tasks completed from outside
/// (WAIT without duration, HUMAN, async-complete tasks).
pub const EXTERNAL_TASK_QUEUE_URL: &str = "${ExternalTaskQueueUrl}";

/// The Step Functions resource for a synchronous Lambda invocation.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
/// The Step Functions resource for sending a message to SQS and waiting for the task token.
pub const SQS_SEND_WAIT_TOKEN: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
/// The Step Functions resource for sending a message to SQS without waiting.
pub const SQS_SEND: &str = "arn:aws:states:::sqs:sendMessage";
/// The Step Functions resource for starting a child execution and waiting for its output.
pub const START_EXECUTION_SYNC: &str = "arn:aws:states:::states:startExecution.sync:2";
/// The Step Functions resource for starting a child execution without waiting.
pub const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";
/// The Step Functions resource for publishing to SNS.
pub const SNS_PUBLISH: &str = "arn:aws:states:::sns:publish";
/// The Step Functions resource for putting events on EventBridge.
pub const EVENTBRIDGE_PUT_EVENTS: &str = "arn:aws:states:::events:putEvents";

/// Turns any name into the characters CloudFormation allows in a substitution key
/// (`A-Z a-z 0-9 _`), replacing every other character with `_`.
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Placeholder for the worker queue of a task type (SIMPLE tasks).
pub fn worker_queue_url(task_type: &str) -> String {
    format!("${{WorkerQueueUrl_{}}}", sanitize(task_type))
}

/// Placeholder for the ARN of a child workflow's state machine.
pub fn state_machine_arn(workflow_name: &str) -> String {
    format!("${{StateMachineArn_{}}}", sanitize(workflow_name))
}

/// Placeholder for the URL of the SQS queue an EVENT task's `sqs:<queue>` sink names.
pub fn event_queue_url(queue: &str) -> String {
    format!("${{EventQueueUrl_{}}}", sanitize(queue))
}

/// Placeholder for the ARN of the SNS topic an EVENT task's `sns:<topic>` sink names.
pub fn event_topic_arn(topic: &str) -> String {
    format!("${{EventTopicArn_{}}}", sanitize(topic))
}

/// Placeholder for the ARN of the EventBridge bus an EVENT task's `eventbridge:<bus>` sink names.
pub fn event_bus_arn(bus: &str) -> String {
    format!("${{EventBusArn_{}}}", sanitize(bus))
}

/// The substitution key inside a placeholder (`${Key}` → `Key`), if `text` is exactly one.
pub fn key(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("${")?.strip_suffix('}')?;
    let valid = !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_round_trip_through_key() {
        assert_eq!(key(HTTP_TASK_FUNCTION), Some("HttpTaskFunctionArn"));
        assert_eq!(
            key(&worker_queue_url("a.b-c")),
            Some("WorkerQueueUrl_a_b_c")
        );
        assert_eq!(
            key(&state_machine_arn("sub flow")),
            Some("StateMachineArn_sub_flow")
        );
        assert_eq!(
            key(&event_queue_url("orders.v1")),
            Some("EventQueueUrl_orders_v1")
        );
        assert_eq!(key(&event_topic_arn("t")), Some("EventTopicArn_t"));
        assert_eq!(key(&event_bus_arn("default")), Some("EventBusArn_default"));
        assert_eq!(key("${}"), None);
        assert_eq!(key("arn:aws:lambda"), None);
        assert_eq!(key("${a b}"), None);
    }
}
