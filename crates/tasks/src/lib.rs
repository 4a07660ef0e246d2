//! Task handlers shared by the local engine and the Lambda functions: HTTP/OCF, JavaScript, jq.
//!
//! Each kind of work has one entry point over `serde_json::Value` that either returns the task
//! output or a [`TaskFailure`] whose `error` is one of the names in [`ocflow_protocol::errors`]:
//!
//! | module | entry point | Conductor task |
//! |---|---|---|
//! | [`http`] | [`http::handle`] (async) | `HTTP`, including `ocf://service/path` URIs resolved by [`registry`] |
//! | [`script`] | [`script::handle`] | `INLINE` (javascript/graaljs), legacy `LAMBDA`, JavaScript conditions, `JSON_JQ_TRANSFORM` |
//! | [`jq`] | [`jq::transform`] | `JSON_JQ_TRANSFORM` (also reached through [`script::handle`]) |
//!
//! The Lambda binaries in `functions/` wrap these functions and nothing else, so a workflow runs the
//! same on the local engine and on Step Functions.
//!
//! ```
//! use ocflow_protocol::payload::{ScriptKind, ScriptRequest};
//! use ocflow_tasks::script::{self, ScriptContext};
//! use serde_json::json;
//!
//! let context = ScriptContext::default();
//! let request = ScriptRequest {
//!     kind: ScriptKind::Javascript,
//!     expression: "(function () { return $.value1 + $.value2; })();".into(),
//!     input: json!({"value1": 1, "value2": 2}),
//! };
//! assert_eq!(script::handle(&context, request).unwrap(), json!({"result": 3}));
//! ```

pub mod http;
pub mod jq;
pub mod net;
pub mod registry;
pub mod script;

pub use ocflow_protocol::payload::TaskFailure;

/// Builds a [`TaskFailure`] from an error name of [`ocflow_protocol::errors`] and a cause.
pub fn failure(error: &str, cause: impl Into<String>) -> TaskFailure {
    TaskFailure {
        error: error.to_owned(),
        cause: cause.into(),
    }
}
