//! JSONata evaluation for the local engine, faithful to what AWS Step Functions runs
//! (JSONata 2.0.6 plus `$partition`, `$range`, `$hash`, `$random`, `$uuid` and `$parse`).
//!
//! - [`Expression`]: one expression, parsed once, evaluated many times; `None` is undefined.
//! - [`Template`]: a JSON value whose `"{% expr %}"` strings are expressions, as in the
//!   `Arguments`, `Output` and `Assign` fields of a JSONata state.
//! - [`Error`]: [`Error::is_query_evaluation_error`] tells what AWS reports as
//!   `States.QueryEvaluationError`.
//!
//! ```
//! use ocflow_jsonata::{Bindings, Template};
//! use serde_json::json;
//!
//! let arguments = Template::compile(&json!({
//!     "orderId": "{% $states.input.id %}",
//!     "total": "{% $sum($states.input.lines.(qty * price)) %}",
//!     "chunks": "{% $partition($states.input.lines.sku, 2) %}",
//!     "source": "web"
//! }))?;
//! let bindings = Bindings::with_states(json!({"input": {
//!     "id": "o-1",
//!     "lines": [{"sku": "a", "qty": 2, "price": 1.5}, {"sku": "b", "qty": 1, "price": 7}, {"sku": "c", "qty": 1, "price": 0}]
//! }}));
//! assert_eq!(arguments.evaluate(&bindings)?, json!({
//!     "orderId": "o-1",
//!     "total": 10,
//!     "chunks": [["a", "b"], ["c"]],
//!     "source": "web"
//! }));
//! # Ok::<(), ocflow_jsonata::Error>(())
//! ```

mod error;
mod expression;
pub mod functions;
mod template;
mod value;

pub use error::Error;
pub use expression::{Bindings, Expression, Limits};
pub use template::{Template, is_jsonata};
