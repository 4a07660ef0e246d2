//! Lambda function starting workflows from the start queue with [`ocflow_control::starter`].
//!
//! Trigger: an SQS event source mapping with `FunctionResponseTypes: [ReportBatchItemFailures]`
//! and a redrive policy on the queue (malformed messages fail every time and end in its
//! dead-letter queue). Environment: `OCFLOW_EXECUTIONS_TABLE`, `OCFLOW_EXECUTION_TTL_DAYS`, and
//! the state machines (`OCFLOW_STATE_MACHINES` or `OCFLOW_STATE_MACHINE_ARN_PREFIX` with
//! `OCFLOW_EXPRESS_WORKFLOWS`); see `ocflow_aws::settings`.

use std::convert::Infallible;

use lambda_runtime::{LambdaEvent, service_fn};
use ocflow_aws::{DynamoExecutionTable, StepFunctionsClient, aws_sdk_dynamodb, aws_sdk_sfn};
use ocflow_aws::{config, settings};
use ocflow_control::directory::Directory;
use ocflow_control::sqs::SqsEvent;
use ocflow_control::starter::Starter;
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
    let table = settings::executions_table(var)?;
    let retention = settings::retention(var)?;
    let sdk = config::load().await;
    let starter = &Starter::new(
        directory,
        StepFunctionsClient::new(aws_sdk_sfn::Client::new(&sdk)),
        DynamoExecutionTable::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        retention,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Infallible>(starter.handle(event.payload).await)
    }))
    .await
}
