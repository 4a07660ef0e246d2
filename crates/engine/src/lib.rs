//! The local engine: runs compiled ASL state machines (JSONata mode) in-process, faithful to
//! AWS Step Functions.
//!
//! - [`Engine`]: register machines, [`Engine::start`] / [`Engine::wait`] executions, complete
//!   callbacks ([`Engine::send_task_success`], ...), [`Engine::stop`] and [`Engine::resume`].
//! - Ports: [`ResourceInvoker`] runs Task resources ([`LambdaInvoker`] adapts async functions to
//!   `lambda:invoke`), [`Clock`] tells time ([`VirtualClock`] makes runs deterministic), and
//!   [`store::ExecutionStore`] keeps executions and their [`history`].
//! - [`conductor`]: an execution presented as a Conductor workflow with its tasks.
//!
//! What runs: every state type; `$states` (input, result, errorOutput, context); `Arguments` →
//! invoke → `Output`/`Assign` with both seeing the variables as they were on entry; variables
//! scoped per Parallel branch and Map iteration (outer ones readable, inner ones never leave);
//! Retry (backoff, `MaxDelaySeconds`, full jitter) and Catch; Task `TimeoutSeconds` and
//! `HeartbeatSeconds`; the machine's `TimeoutSeconds`; `.waitForTaskToken`;
//! `states:startExecution[.sync[:2]]` children; 256 KiB payload limits. A distributed Map runs
//! like an inline one (its iterations are not child executions, and they cannot read outer
//! variables, as on AWS); `ItemReader` is refused with `States.ItemReaderFailed`.
//!
//! ```
//! use ocflow_engine::{Engine, MachineDefinition, StartOptions, store::ExecutionStatus};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = Engine::builder().build();
//! let asl = json!({
//!     "QueryLanguage": "JSONata",
//!     "StartAt": "Greet",
//!     "States": {
//!         "Greet": {"Type": "Pass", "Assign": {"name": "{% $states.input.name %}"},
//!                   "Output": {"greeting": "{% 'Hello, ' & $states.input.name %}"}, "Next": "Shout"},
//!         "Shout": {"Type": "Pass", "Output": "{% $uppercase($states.input.greeting) & ' (' & $name & ')' %}", "End": true}
//!     }
//! });
//! engine.register("hello", MachineDefinition::from_json(&asl)?)?;
//! let done = engine.run("hello", json!({"name": "Ada"}), StartOptions::default()).await?;
//! assert_eq!(done.status, ExecutionStatus::Succeeded);
//! assert_eq!(done.output, Some(json!("HELLO, ADA (Ada)")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

pub mod clock;
pub mod conductor;
mod engine;
mod error;
pub mod history;
mod invoker;
pub mod limits;
mod machine;
mod run;
pub mod store;
pub mod time;

pub use clock::{BoxFuture, Clock, SystemClock, VirtualClock};
pub use engine::{Engine, EngineBuilder, MachineDefinition, Resumed, StartOptions};
pub use error::{Error, Failure, error_matches, names};
pub use invoker::{Invocation, LambdaInvoker, NoResources, ResourceInvoker};
pub use run::{MAX_HISTORY_EVENTS, MAX_TOKEN_LEN, retry_delay_ms};
