//! The contract between compiled state machines and the task functions.
//!
//! The compiler writes ASL that names resources through placeholders and catches errors by name;
//! the task handlers raise those very errors. Both sides import the names from here, so renaming
//! one cannot silently break a retry policy.
//!
//! ```
//! use ocflow_protocol::{errors, placeholders};
//! assert_eq!(errors::HTTP_5XX, "Ocf.Http5xx");
//! assert_eq!(placeholders::worker_queue_url("encode video"), "${WorkerQueueUrl_encode_video}");
//! ```

pub mod errors;
pub mod payload;
pub mod placeholders;
pub mod task_map;
