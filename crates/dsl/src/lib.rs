//! The Conductor workflow DSL: the serde [`model`] of definitions, the `${...}` parameter
//! language ([`params`]) and [`validate`]-ion with diagnostics that point into the input.
//!
//! ```
//! let text = r#"{"name": "greet", "tasks": [
//!     {"name": "hello", "taskReferenceName": "hello", "type": "SIMPLE",
//!      "inputParameters": {"who": "${workflow.input.name}"}}]}"#;
//! let def = ocflow_dsl::parse_workflow("greet.json", text).expect("parses");
//! assert_eq!(def.tasks[0].task_reference_name, "hello");
//! assert!(ocflow_dsl::validate(&def).is_empty());
//! ```

pub mod graph;
pub mod model;
pub mod params;
pub mod pointer;
pub mod validate;

mod diagnostic;
mod document;

pub use diagnostic::{Diagnostic, Severity};
pub use document::{
    Document, DocumentKind, MAX_DEPTH, check_document, parse_document, parse_workflow,
    parse_workflows,
};
pub use validate::{validate, validate_task_def};
