//! The port through which Task states reach the world, and an adapter for `lambda:invoke`.
//!
//! The engine itself handles `states:startExecution` (child executions) and the callback
//! pattern (`.waitForTaskToken`: it mints the token, calls the invoker to deliver it, then waits
//! for `send_task_success`/`failure`). Everything else (`lambda:invoke`, `sqs:sendMessage`,
//! `sns:publish`, ...) goes to a [`ResourceInvoker`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::clock::BoxFuture;
use crate::error::Failure;

/// One call of a Task state's resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The resource, placeholders substituted (`arn:aws:states:::lambda:invoke`, ...).
    pub resource: String,
    /// The evaluated `Arguments` (`null` when the state has none).
    pub arguments: Value,
    /// The calling execution's id.
    pub execution_id: String,
    /// The Task state's name.
    pub state: String,
    /// The attempt, from 0.
    pub attempt: u32,
    /// The task token, for `.waitForTaskToken` resources (also in `$states.context.Task.Token`).
    pub task_token: Option<String>,
}

/// Calls resources. For a `.waitForTaskToken` resource the returned value is ignored (the
/// result comes with the token), but an error fails the attempt.
pub trait ResourceInvoker: Send + Sync {
    /// Runs one invocation: the resource's result (`$states.result`), or `{error, cause}`.
    fn invoke(&self, invocation: Invocation) -> BoxFuture<'static, Result<Value, Failure>>;
}

/// An invoker that knows no resource: every call fails with `States.Runtime`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResources;

impl ResourceInvoker for NoResources {
    fn invoke(&self, invocation: Invocation) -> BoxFuture<'static, Result<Value, Failure>> {
        Box::pin(async move {
            Err(Failure::runtime(format!(
                "no handler for resource '{}'",
                invocation.resource
            )))
        })
    }
}

type Function = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<Value, Failure>> + Send + Sync>;

/// Maps `lambda:invoke` calls to registered async functions, as Step Functions' Lambda
/// integration does: the function receives `Arguments.Payload` and the result is
/// `{"Payload": <its output>, "StatusCode": 200, "ExecutedVersion": "$LATEST"}`. A Task whose
/// `Resource` is a function ARN itself gets the bare output. Other resources go to the fallback.
///
/// ```
/// use ocflow_engine::{Failure, Invocation, LambdaInvoker, ResourceInvoker};
/// use serde_json::json;
///
/// let invoker = LambdaInvoker::new().function("double", |payload| async move {
///     Ok::<_, Failure>(json!(payload["n"].as_i64().unwrap_or(0) * 2))
/// });
/// let call = Invocation {
///     resource: "arn:aws:states:::lambda:invoke".into(),
///     arguments: json!({"FunctionName": "arn:aws:lambda:eu-west-1:1:function:double", "Payload": {"n": 21}}),
///     execution_id: "e".into(), state: "S".into(), attempt: 0, task_token: None,
/// };
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let result = rt.block_on(invoker.invoke(call)).unwrap();
/// assert_eq!(result["Payload"], json!(42));
/// assert_eq!(result["StatusCode"], json!(200));
/// ```
#[derive(Clone, Default)]
pub struct LambdaInvoker {
    functions: HashMap<String, Function>,
    fallback: Option<Arc<dyn ResourceInvoker>>,
}

impl std::fmt::Debug for LambdaInvoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.functions.keys().collect();
        names.sort();
        f.debug_struct("LambdaInvoker")
            .field("functions", &names)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl LambdaInvoker {
    /// No functions, no fallback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` as the function `name` (a name, an ARN, or a substitution value:
    /// calls match the exact text first, then the function name inside an ARN).
    pub fn function<F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, Failure>> + Send + 'static,
    {
        let handler: Function = Arc::new(move |payload| Box::pin(handler(payload)));
        self.functions.insert(name.into(), handler);
        self
    }

    /// Sends every resource that is not a Lambda call to `fallback`.
    pub fn with_fallback(mut self, fallback: Arc<dyn ResourceInvoker>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    fn lookup(&self, name: &str) -> Option<&Function> {
        self.functions
            .get(name)
            .or_else(|| self.functions.get(function_name(name)))
    }
}

/// The function name in `arn:aws:lambda:region:account:function:name[:qualifier]`, or the
/// text itself.
fn function_name(text: &str) -> &str {
    match text.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => text,
    }
}

impl ResourceInvoker for LambdaInvoker {
    fn invoke(&self, invocation: Invocation) -> BoxFuture<'static, Result<Value, Failure>> {
        let resource = invocation.resource.as_str();
        let integration = resource.starts_with("arn:aws:states:::lambda:invoke");
        let direct = resource.starts_with("arn:aws:lambda:");
        if !integration && !direct {
            return match &self.fallback {
                Some(fallback) => fallback.invoke(invocation),
                None => NoResources.invoke(invocation),
            };
        }
        let (name, payload) = if integration {
            let name = invocation.arguments["FunctionName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let payload = invocation
                .arguments
                .get("Payload")
                .cloned()
                .unwrap_or(Value::Null);
            (name, payload)
        } else {
            (invocation.resource.clone(), invocation.arguments.clone())
        };
        let Some(function) = self.lookup(&name).cloned() else {
            return Box::pin(async move {
                Err(Failure::new(
                    "Lambda.ResourceNotFoundException",
                    format!("Function not found: {name}"),
                ))
            });
        };
        Box::pin(async move {
            let output = function(payload).await?;
            Ok(if integration {
                json!({"ExecutedVersion": "$LATEST", "Payload": output, "StatusCode": 200})
            } else {
                output
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(resource: &str, arguments: Value) -> Invocation {
        Invocation {
            resource: resource.into(),
            arguments,
            execution_id: "e".into(),
            state: "S".into(),
            attempt: 0,
            task_token: None,
        }
    }

    #[tokio::test]
    async fn errors_and_unknown_functions_come_back_as_failures() {
        let invoker = LambdaInvoker::new().function("boom", |_| async {
            Err(Failure::new("Ocf.Http5xx", "503"))
        });
        let err = invoker
            .invoke(call(
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": "boom"}),
            ))
            .await
            .unwrap_err();
        assert_eq!(err, Failure::new("Ocf.Http5xx", "503"));
        let err = invoker
            .invoke(call(
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": "nope"}),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.error, "Lambda.ResourceNotFoundException");
        let err = invoker
            .invoke(call("arn:aws:states:::sns:publish", json!({})))
            .await
            .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[tokio::test]
    async fn a_function_arn_resource_returns_the_bare_output() {
        let invoker = LambdaInvoker::new().function("echo", |p| async move { Ok(p) });
        let out = invoker
            .invoke(call(
                "arn:aws:lambda:us-east-1:123:function:echo:live",
                json!({"a": 1}),
            ))
            .await;
        assert_eq!(out, Ok(json!({"a": 1})));
    }
}
