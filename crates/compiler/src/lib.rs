//! Compiles Conductor workflow definitions to AWS Step Functions state machines (ASL, JSONata
//! mode), with the [`TaskMap`] hosts use to show executions as Conductor tasks.
//!
//! ```
//! use ocflow_compiler::{compile, CompileEnv};
//!
//! let def = serde_json::from_str(r#"{"name": "hello", "tasks": [
//!     {"name": "greet", "taskReferenceName": "greet", "type": "HTTP",
//!      "inputParameters": {"http_request": {"uri": "ocf://greeter/hello", "method": "GET"}}}
//! ]}"#).unwrap();
//! let compiled = compile(&def, &CompileEnv::new()).unwrap();
//! assert_eq!(compiled.machine.states.len(), 1);
//! assert!(compiled.machine.check().is_empty());
//! ```
//!
//! # Mapping
//!
//! DESIGN.md §2–§3 is the mapping; the points below are where this compiler fills in detail or
//! departs from it.
//!
//! - **Variables.** Task data lives in `$t_<ref>` (the reference rewritten to an identifier;
//!   the `t_` prefix keeps task variables apart from `$workflow`, `$vars` and `$states`),
//!   holding `{"output": ...}` as [`ocflow_protocol::task_map`] specifies, and is assigned only
//!   for tasks whose data some expression reads. Inside a Parallel branch (depth `d`) the
//!   variable is `$t_<ref>__<d>`, so no inner scope shadows an outer name; the Parallel
//!   re-publishes branch variables under the outer name.
//! - **First state.** `$workflow` (and `$vars`) are assigned by the first state, whose own
//!   expressions read `$states.input`; when the first task is control flow (SWITCH, FORK, ...)
//!   a `Start` Pass state does it instead.
//! - **End.** The state that ends the machine sets `Output` to `outputParameters` (or the last
//!   task's output); paths that cannot `End` themselves (a Choice) go to one `Done` Succeed.
//! - **SWITCH default.** Step Functions has no `Assign` on `Default`: the Choice state's own
//!   `Assign` records the default case (it applies only when no rule matched).
//! - **DO_WHILE.** A `Pass` entering the loop (iteration 1), the body, and a Choice whose
//!   back-edge rule records the iteration and increments the counter: one extra transition per
//!   iteration, plus a script-function call when the condition does not translate to JSONata.
//!   `items` mode stops after the last item even when the list is empty (Conductor runs the
//!   body zero times there).
//! - **TERMINATE** with `COMPLETED` inside a fork branch becomes a `Workflow.Terminated` Fail
//!   whose cause says `COMPLETED` (a Succeed would end only the branch); hosts read the status.
//! - **LINEAR_BACKOFF** is approximated (see `policy::retriers`); permissive tasks are compiled
//!   as optional (the failure is recorded, not reported at the end).
//! - **DYNAMIC / FORK_JOIN_DYNAMIC** dispatch among HTTP and the worker types the
//!   [`CompileEnv`] defines (or the one `forkTaskName`); other task types are refused at run
//!   time with `Ocf.BadInput`.

mod env;
mod error;
pub mod js_condition;
mod lower;
mod names;
mod policy;
mod refs;
mod stats;

use std::collections::BTreeMap;

use ocflow_asl::StateMachine;
use ocflow_dsl::model::WorkflowDef;
pub use ocflow_protocol::task_map::TaskMap;

pub use env::CompileEnv;
pub use error::{CompileError, ErrorCode};
pub use stats::{PathStats, Stats, stats};

/// A compiled workflow: its state machine, task map, and the child machines it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledWorkflow {
    /// The machine name: the workflow name, or `<parent>__<ref>` for an inline sub-workflow.
    pub name: String,
    /// The state machine (JSONata mode).
    pub machine: StateMachine,
    /// Which Conductor task each state executes.
    pub task_map: TaskMap,
    /// Machines of inline and referenced sub-workflows, by machine name (each without children
    /// of its own: grandchildren are listed here too).
    pub children: BTreeMap<String, CompiledWorkflow>,
}

/// Compiles `def` into a state machine, resolving task definitions and sub-workflows in `env`.
///
/// Returns every diagnostic at once when the definition uses something that cannot be compiled.
pub fn compile(def: &WorkflowDef, env: &CompileEnv) -> Result<CompiledWorkflow, Vec<CompileError>> {
    let name = names_for_machine(&def.name);
    lower::Compiler::new(def, env, name, Vec::new()).compile()
}

fn names_for_machine(name: &str) -> String {
    if name.is_empty() {
        "workflow".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests;
