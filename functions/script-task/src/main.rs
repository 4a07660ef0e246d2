//! Lambda function running INLINE JavaScript, JavaScript conditions and JSON_JQ_TRANSFORM with
//! [`ocflow_tasks::script`]. The payload is an [`ocflow_protocol::payload::ScriptRequest`].

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use ocflow_protocol::{errors, payload::ScriptRequest};
use ocflow_tasks::script::{self, ScriptContext};
use ocflow_tasks::{TaskFailure, failure};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

/// A task failure as Lambda reports it: `errorType` is the Step Functions error name.
#[derive(Debug)]
struct Failed(TaskFailure);

impl From<Failed> for Diagnostic {
    fn from(Failed(failure): Failed) -> Self {
        Diagnostic {
            error_type: failure.error,
            error_message: failure.cause,
        }
    }
}

fn run(context: &ScriptContext, payload: Value) -> Result<Value, TaskFailure> {
    let request: ScriptRequest = serde_json::from_value(payload)
        .map_err(|e| failure(errors::BAD_INPUT, format!("invalid script request: {e}")))?;
    script::handle(context, request)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(false)
        .without_time()
        .init();
    let context = &ScriptContext::default();
    // One invocation at a time per sandbox: evaluating on the runtime's thread blocks nothing.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        run(context, event.payload).map_err(Failed)
    }))
    .await
}
