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
//!   the `t_` prefix keeps task variables apart from `$vars` and `$states`), holding
//!   `{"output": ...}` as [`ocflow_protocol::task_map`] specifies, and is assigned only for tasks
//!   whose data some expression reads. Inside a Parallel branch (depth `d`) the variable is
//!   `$t_<ref>__<d>`, so no inner scope shadows an outer name; the Parallel re-publishes branch
//!   variables under the outer name.
//! - **Workflow facts.** DESIGN.md §2 assigns a `$workflow` variable in the first state; this
//!   compiler reads the context object instead, which every state sees (Parallel branches and
//!   Map iterations included), so no state copies it and no extra first state is needed:
//!   `${workflow.input.x}` is `$states.context.Execution.Input.x` (with an `inputTemplate`
//!   default for `x`, `$exists(i.x) and $type(i.x) != "null" ? i.x : <default>`, as Conductor's
//!   `putIfAbsent`), `workflowId` is the execution name, `startTime` its start in epoch
//!   milliseconds, `workflowType`/`version` literals, `status` `"RUNNING"`. `correlationId`,
//!   `parentWorkflowId` and other fields the execution does not carry read as null: hosts keep
//!   the correlation id in their execution table, outside the machine's input.
//! - **Initial `variables`** are assigned by the first state whatever its kind (a Choice assigns
//!   them in every rule and in its own `Assign`, which applies on `Default`); the first state's
//!   own expressions read the initial values in place. A Parallel or Map cannot assign before
//!   its branches run, so a workflow that starts with a fork and uses variables gets a `Start`
//!   Pass.
//! - **End.** The state that ends the machine sets `Output` to `outputParameters` (or the last
//!   task's output); paths that cannot `End` themselves (a Choice) go to one `Done` Succeed,
//!   created only when some path needs it. Tasks after a TERMINATE (or after a SWITCH whose
//!   every case terminates) get no state.
//! - **SWITCH.** The case value is compared as Conductor compares it: its string form, `"null"`
//!   for null or undefined. JavaScript expressions go through [`js_condition::translate`]; only
//!   untranslatable ones call the script function. Java prints a double such as `2.0` where
//!   JSONata's `$string` gives `2`; objects print as JSON. Step Functions has no `Assign` on
//!   `Default`: the Choice state's own `Assign` records the default case.
//! - **DO_WHILE.** A `Pass` entering the loop (it stands for the DO_WHILE task in the task map,
//!   whose contract needs a state entered once per loop run; it also resets the counter when the
//!   loop runs again), the body, and a Choice whose back-edge rule records the iteration and
//!   increments the counter: one transition per iteration besides the body. Conditions go
//!   through [`js_condition::translate_condition`] (Conductor's `evalBool` reading); only
//!   untranslatable ones call the script function. `items` mode stops after the last item
//!   even when the list is empty (Conductor runs the body zero times there).
//! - **TERMINATE** with `COMPLETED` inside a fork branch becomes a `Workflow.Terminated` Fail
//!   whose cause says `COMPLETED` (a Succeed would end only the branch); hosts read the status.
//! - **failureWorkflow.** Every Task, Parallel and Map state of the top scope catches
//!   `States.ALL` into `$failure` and goes to one `StartFailureWorkflow` state, which starts the
//!   failure workflow's machine with Conductor's input (`workflowId`, `reason`,
//!   `failureStatus`, `failedWorkflow`), then a `Failed` Fail re-raises the original error. A
//!   top-level TERMINATE with `FAILED` takes the same path (`TERMINATED` does not). Not covered:
//!   a Choice whose condition fails to evaluate, and the machine-level timeout.
//! - **permissive.** The failure is caught, recorded in the task's variable (`FAILED`) and in
//!   `$permissive_failure`, and the workflow goes on; the scope (the machine, or a fork branch,
//!   which makes the fork fail as Conductor's JOIN does) ends through a Choice that fails with
//!   the first recorded error.
//! - **LINEAR_BACKOFF** is approximated (see `policy::retriers`).
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
