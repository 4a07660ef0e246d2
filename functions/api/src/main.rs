//! Lambda function serving the Conductor-compatible REST API (`ocflow_api::router`) over
//! [`ocflow_aws::AwsWorkflowService`], behind a function URL with IAM authentication.
//!
//! Environment (see `ocflow_aws::service::ApiSettings`): `OCFLOW_EXECUTIONS_TABLE`,
//! `OCFLOW_EXECUTION_TTL_DAYS`, the state machines (`OCFLOW_STATE_MACHINE_ARN_PREFIX`,
//! `OCFLOW_EXPRESS_WORKFLOWS`), `OCFLOW_WORKER_QUEUE_PREFIX`, and, when workflows may be
//! registered through the API, `OCFLOW_STATE_MACHINE_ROLE_ARN` with the task function ARNs and
//! the external-task queue URL.

use std::sync::Arc;

use ocflow_aws::{ApiSettings, AwsWorkflowService, config};
use tracing_subscriber::EnvFilter;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(false)
        .without_time()
        .init();
    let settings = ApiSettings::from_env(|name| std::env::var(name).ok())?;
    let sdk = config::load().await;
    let app = ocflow_api::router(Arc::new(AwsWorkflowService::new(&sdk, settings)));
    lambda_http::run(app).await
}
