//! AWS adapters for the ports of `ocflow-control`, and the only ocflow crate that links
//! aws-sdk-*:
//!
//! - [`config`]: one SDK configuration over a single HTTP/TLS stack (hyper 1, rustls on ring);
//! - [`settings`]: the environment variables the functions read;
//! - [`sfn`]: [`StepFunctionsClient`], the Step Functions port;
//! - [`table`]: the executions table's schema (attributes, indexes, TTL) and
//!   [`DynamoExecutionTable`], the table port;
//! - [`worker`]: [`WorkerClient`], which serves worker tasks from their SQS queue as Conductor
//!   tasks and answers their task tokens;
//! - [`service`] (feature `api`): [`AwsWorkflowService`], the Conductor REST API's service on
//!   AWS, served by `functions/api`.
//!
//! ```no_run
//! # async fn example() {
//! use ocflow_aws::{config, StepFunctionsClient, DynamoExecutionTable};
//! let sdk = config::load().await;
//! let step_functions = StepFunctionsClient::new(aws_sdk_sfn::Client::new(&sdk));
//! let table = DynamoExecutionTable::new(aws_sdk_dynamodb::Client::new(&sdk), "ocflow-executions");
//! # let _ = (step_functions, table);
//! # }
//! ```

pub mod config;
mod error;
#[cfg(feature = "api")]
pub mod service;
pub mod settings;
pub mod sfn;
pub mod table;
pub mod worker;

pub use error::Error;
#[cfg(feature = "api")]
pub use service::{ApiSettings, AwsWorkflowService};
pub use sfn::StepFunctionsClient;
pub use table::DynamoExecutionTable;
pub use worker::WorkerClient;

// The SDK crates, for callers building clients from [`config::load`].
pub use aws_config;
pub use aws_sdk_dynamodb;
pub use aws_sdk_sfn;
pub use aws_sdk_sqs;
