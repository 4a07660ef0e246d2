//! Lambda function running Conductor HTTP tasks (and `ocf://` service calls) with
//! [`ocflow_tasks::http`]. Configuration comes from the environment: the service registry from
//! `OCFLOW_REGISTRY_FILE` or `OCFLOW_REGISTRY`, the host policy from `OCFLOW_HOST_POLICY`
//! (`lambda`, the default: strict and no loopback; `strict`: strict with loopback; `permissive`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use ocflow_tasks::http::{self, HttpContext};
use ocflow_tasks::net::HostPolicy;
use ocflow_tasks::registry::{ProcessEnv, Registry};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

/// A task failure as Lambda reports it: `errorType` is the Step Functions error name.
#[derive(Debug)]
struct Failed(ocflow_tasks::TaskFailure);

impl From<Failed> for Diagnostic {
    fn from(Failed(failure): Failed) -> Self {
        Diagnostic {
            error_type: failure.error,
            error_message: failure.cause,
        }
    }
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
    let policy = match std::env::var("OCFLOW_HOST_POLICY").as_deref() {
        Ok("permissive") => HostPolicy::PERMISSIVE,
        Ok("strict") => HostPolicy {
            strict_hosts: true,
            refuse_loopback: false,
        },
        _ => HostPolicy::LAMBDA,
    };
    let registry = Registry::from_env(&ProcessEnv)?;
    let context = &HttpContext::builder()
        .registry(registry)
        .policy(policy)
        .build();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        http::handle(context, event.payload).await.map_err(Failed)
    }))
    .await
}
