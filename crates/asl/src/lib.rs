//! Amazon States Language (JSONata mode): model, structural checks, graphs and path statistics.
//!
//! [`StateMachine`] and [`State`] are serde types for ASL as Step Functions reads it with
//! `"QueryLanguage": "JSONata"`. The compiler builds them; the local engine interprets them.
//! Unknown fields are kept, so a hand-written machine round-trips, and serialised keys come in a
//! stable, natural order (`Type` first, `Next`/`End` last).
//!
//! [`StateMachine::check`] returns every structural problem at once; [`to_mermaid`] and
//! [`to_dot`] draw the machine; [`execution_paths`] counts transitions and Lambda calls per path.
//!
//! ```
//! use ocflow_asl::{ChoiceRule, State, StateMachine, TaskState, to_mermaid};
//! use serde_json::json;
//!
//! let machine = StateMachine::new("Greet")
//!     .with_state(
//!         "Greet",
//!         TaskState::new("arn:aws:states:::lambda:invoke")
//!             .with_arguments(json!({"Payload": "{% $states.input %}"}))
//!             .with_next("Loud"),
//!     )
//!     .with_state(
//!         "Loud",
//!         State::choice()
//!             .with_rule(ChoiceRule::new("$states.input.loud", "Missing"))
//!             .with_default("Done"),
//!     )
//!     .with_state("Done", State::succeed());
//!
//! let text = serde_json::to_string(&machine).unwrap();
//! assert!(text.contains(r#""Greet":{"Type":"Task","Resource":"#));
//! let back: StateMachine = serde_json::from_str(&text).unwrap();
//! assert_eq!(back, machine);
//!
//! let problems = machine.check();
//! assert_eq!(problems.len(), 1);
//! assert_eq!(problems[0].pointer, "/States/Loud/Choices/0/Next");
//! assert_eq!(problems[0].message, "`Missing` is not a state in this scope");
//!
//! assert!(to_mermaid(&machine).starts_with("flowchart TD"));
//! ```

mod check;
mod fields;
mod graph;
pub mod jsonata;
mod machine;
mod paths;
mod state;

pub use check::{AslDiagnostic, Code, MAX_STATE_NAME_LEN, Severity, is_loggable_name};
pub use fields::{
    Catcher, ChoiceRule, Extra, JitterStrategy, JsonataOr, QueryLanguage, Retrier, Transition,
};
pub use graph::{to_dot, to_mermaid};
pub use machine::{Scope, StateMachine, escape_pointer};
pub use paths::{
    ExecutionPath, PathLimits, PathOutcome, PathSummary, execution_paths, is_lambda_resource,
};
pub use state::{
    Branch, ChoiceState, ExecutionType, FailState, ItemBatcher, ItemProcessor, ItemReader,
    MapState, ParallelState, PassState, ProcessorConfig, ProcessorMode, ResultWriter, State,
    StateKind, SucceedState, TaskState, WaitState,
};
