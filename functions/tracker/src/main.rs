//! Lambda function keeping the executions table in step with Step Functions, in two modes
//! chosen by the event's `detail-type`:
//!
//! - `Step Functions Execution Status Change` (an EventBridge rule on `aws.states`): applies the
//!   change with [`ocflow_control::tracker`]'s forward-only write;
//! - `Scheduled Event` (an EventBridge schedule, e.g. `rate(5 minutes)`): runs
//!   [`ocflow_control::reconcile`] over rows RUNNING for longer than
//!   `OCFLOW_RECONCILE_AFTER_MINUTES`.
//!
//! A malformed event is logged and dropped (retrying cannot help); a table or Step Functions
//! failure is returned, so that EventBridge retries. Environment: see `ocflow_aws::settings`.

use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use ocflow_aws::{DynamoExecutionTable, StepFunctionsClient, aws_sdk_dynamodb, aws_sdk_sfn};
use ocflow_aws::{config, settings};
use ocflow_control::directory::Directory;
use ocflow_control::reconcile::Reconciler;
use ocflow_control::tracker::{self, StatusChangeEvent, Tracker};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

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
    let var = |name: &str| std::env::var(name).ok();
    let directory = Directory::from_env(var)?;
    let retention = settings::retention(var)?;
    let (stale_after, batch) = settings::reconcile(var)?;
    let sdk = config::load().await;
    let table = DynamoExecutionTable::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        settings::executions_table(var)?,
    );
    let step_functions = StepFunctionsClient::new(aws_sdk_sfn::Client::new(&sdk));
    let tracker = &Tracker::new(directory.clone(), table.clone(), retention);
    let reconciler = &Reconciler::new(directory, step_functions, table, retention);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        match payload.get("detail-type").and_then(Value::as_str) {
            Some(tracker::DETAIL_TYPE) => {
                let change = match serde_json::from_value::<StatusChangeEvent>(payload) {
                    Ok(change) => change,
                    Err(error) => return Ok(dropped(error)),
                };
                match tracker.handle(&change).await {
                    Ok(applied) => Ok(json!({ "applied": applied })),
                    Err(tracker::Error::Malformed(reason)) => Ok(dropped(reason)),
                    Err(error) => Err(lambda_runtime::Error::from(error)),
                }
            }
            Some("Scheduled Event") => {
                let report = reconciler.run(now_millis(), stale_after, batch).await?;
                tracing::info!(?report, "reconciled");
                Ok(json!({ "reconciled": report }))
            }
            other => Ok(dropped(format!("unexpected detail-type {other:?}"))),
        }
    }))
    .await
}

fn dropped(reason: impl std::fmt::Display) -> Value {
    tracing::error!(%reason, "event dropped");
    json!({ "dropped": reason.to_string() })
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
