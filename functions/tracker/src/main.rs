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
use ocflow_control::tracker::TrackerHandler;
use serde_json::Value;
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
    let (stale_after, batch) = settings::reconcile(var)?;
    let sdk = config::load().await;
    let handler = &TrackerHandler::new(
        directory,
        StepFunctionsClient::new(aws_sdk_sfn::Client::new(&sdk)),
        DynamoExecutionTable::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            settings::executions_table(var)?,
        ),
        settings::retention(var)?,
        stale_after,
        batch,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        handler
            .handle(event.payload, now_millis())
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
