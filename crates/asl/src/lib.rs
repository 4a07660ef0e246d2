//! Amazon States Language (JSONata mode): model and structural checks.
//!
//! [`StateMachine`] and [`State`] are serde types for ASL as Step Functions reads it with
//! `"QueryLanguage": "JSONata"`. The compiler builds them; the local engine interprets them.
//! Unknown fields are kept, so a hand-written machine round-trips, and serialised keys come in a
//! stable, natural order (`Type` first, `Next`/`End` last).
//!
//! ```
//! use ocflow_asl::{State, StateMachine, TaskState};
//! use serde_json::json;
//!
//! let machine = StateMachine::new("Greet")
//!     .with_state(
//!         "Greet",
//!         TaskState::new("arn:aws:states:::lambda:invoke")
//!             .with_arguments(json!({"Payload": "{% $states.input %}"}))
//!             .with_next("Done"),
//!     )
//!     .with_state("Done", State::succeed());
//!
//! let text = serde_json::to_string(&machine).unwrap();
//! assert!(text.contains(r#""Greet":{"Type":"Task","Resource":"#));
//! let back: StateMachine = serde_json::from_str(&text).unwrap();
//! assert_eq!(back, machine);
//! ```

mod check;
mod fields;
mod graph;
pub mod jsonata;
mod machine;
mod state;

pub use check::{AslDiagnostic, Code, MAX_STATE_NAME_LEN, Severity, is_loggable_name};
pub use fields::{
    Catcher, ChoiceRule, Extra, JitterStrategy, JsonataOr, QueryLanguage, Retrier, Transition,
};
pub use graph::{to_dot, to_mermaid};
pub use machine::{Scope, StateMachine, escape_pointer};
pub use state::{
    Branch, ChoiceState, ExecutionType, FailState, ItemBatcher, ItemProcessor, ItemReader,
    MapState, ParallelState, PassState, ProcessorConfig, ProcessorMode, ResultWriter, State,
    StateKind, SucceedState, TaskState, WaitState,
};
