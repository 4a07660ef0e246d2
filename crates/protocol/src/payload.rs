//! Payloads the compiled machine sends to the task functions.
//!
//! The HTTP function receives the Conductor HTTP task input unchanged (`http_request` or flat
//! keys), so it needs no type here. The script function serves several kinds of work and
//! receives a [`ScriptRequest`].

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
}
