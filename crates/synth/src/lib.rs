//! Turns compiled workflows into a SAM/CloudFormation deployment: `template.yaml` plus one
//! `statemachines/<name>.asl.json` per workflow.
//!
//! The input is what the compiler produces: state machines that name every function, queue and
//! child machine through `${...}` placeholders ([`ocflow_protocol::placeholders`]). Synthesis
//! scans each machine ([`Usage`]), fills every placeholder through `DefinitionSubstitutions`
//! and gives each machine a role allowing exactly the targets of its Task states. Shared
//! resources (task functions, starter, tracker, queues, the executions table) are the
//! same for every deployment; worker queues and EVENT sinks follow what the machines use.
//!
//! ```
//! use ocflow_asl::{StateMachine, TaskState};
//! use ocflow_synth::{SynthOptions, SynthWorkflow, synthesize};
//! use serde_json::json;
//!
//! let call = TaskState::new("arn:aws:states:::lambda:invoke")
//!     .with_arguments(json!({"FunctionName": "${HttpTaskFunctionArn}", "Payload": {}}))
//!     .with_end();
//! let machine = StateMachine::new("Call").with_state("Call", call);
//! let out = synthesize(&[SynthWorkflow::new("hello", machine)], &SynthOptions::default()).unwrap();
//!
//! assert!(out.template.contains("HttpTaskFunctionArn:"));
//! assert!(out.machines.contains_key("statemachines/hello.asl.json"));
//! ```
//!
//! # Layout of the output directory
//!
//! `CodeUri` of each function is `<functions_dir>/<function>` relative to the template, so the
//! output directory must sit where [`SynthOptions::functions_dir`] leads back to the
//! workspace's `functions/` (the default, `../../functions`, fits `infra/build`).

mod error;
mod names;
mod template;
mod usage;
mod workflow;
mod yaml;

use std::collections::BTreeMap;
use std::path::Path;

use ocflow_asl::ExecutionType;
use ocflow_protocol::placeholders;

pub use error::Error;
pub use usage::{Function, Placeholder, Queue, Usage};
pub use workflow::{OPTIONS_FILE, SynthWorkflow, WorkflowOptions};

/// Deployment-wide choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    /// Path from the template's directory to the workspace's `functions/` directory, with `/`
    /// separators (SAM resolves `CodeUri` relative to the template).
    pub functions_dir: String,
    /// EventBridge schedule expression on which the tracker reconciles stuck executions.
    pub reconcile_schedule: String,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            functions_dir: "../../functions".to_owned(),
            reconcile_schedule: "rate(5 minutes)".to_owned(),
        }
    }
}

/// The synthesised files, as text, by path relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOutput {
    /// `template.yaml`.
    pub template: String,
    /// `statemachines/<name>.asl.json` → pretty-printed ASL.
    pub machines: BTreeMap<String, String>,
}

/// The template's file name in the output directory.
pub const TEMPLATE_FILE: &str = "template.yaml";

impl SynthOutput {
    /// Writes `template.yaml` and `statemachines/*.asl.json` into `dir`, creating folders.
    pub fn write_to(&self, dir: &Path) -> Result<(), Error> {
        let write = |relative: &str, text: &str| {
            let path = dir.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                    path: parent.to_owned(),
                    source,
                })?;
            }
            std::fs::write(&path, text).map_err(|source| Error::Write { path, source })
        };
        write(TEMPLATE_FILE, &self.template)?;
        for (relative, text) in &self.machines {
            write(relative, text)?;
        }
        Ok(())
    }
}

/// The definition file of a machine, relative to the template.
fn machine_file(machine: &str) -> String {
    format!("statemachines/{machine}.asl.json")
}

/// Synthesises the deployment of `workflows`.
///
/// Fails when a machine holds a placeholder or Task resource this crate cannot deploy, starts
/// a workflow that is not in `workflows`, or is Express but waits for a token or a child.
pub fn synthesize(
    workflows: &[SynthWorkflow],
    options: &SynthOptions,
) -> Result<SynthOutput, Error> {
    if workflows.is_empty() {
        return Err(Error::NoWorkflows);
    }
    let mut ids = names::LogicalIds::default();
    let mut by_machine: BTreeMap<String, &SynthWorkflow> = BTreeMap::new();
    for workflow in workflows {
        let machine = placeholders::sanitize(&workflow.name);
        if let Some(first) = by_machine.insert(machine.clone(), workflow) {
            return Err(Error::DuplicateWorkflow {
                first: first.name.clone(),
                second: workflow.name.clone(),
                machine,
            });
        }
    }

    let mut planned = Vec::new();
    for (machine, workflow) in &by_machine {
        let usage = Usage::scan(&workflow.name, &workflow.machine)?;
        if workflow.options.execution_type == ExecutionType::Express
            && let Some((pointer, resource)) = &usage.standard_only
        {
            return Err(Error::ExpressUnsupported {
                workflow: workflow.name.clone(),
                pointer: pointer.clone(),
                resource: resource.clone(),
            });
        }
        if let Some(child) = usage.starts.keys().find(|c| !by_machine.contains_key(*c)) {
            return Err(Error::UnknownChild {
                workflow: workflow.name.clone(),
                pointer: child_pointer(workflow, child),
                child: child.clone(),
            });
        }
        let id = ids.claim("", machine, "")?;
        planned.push(template::Planned {
            name: &workflow.name,
            machine: machine.clone(),
            id,
            execution_type: workflow.options.execution_type,
            usage,
        });
    }
    let plan = template::Plan::new(planned, &mut ids)?;
    let value = template::build(&plan, options);
    let template = yaml::to_string(&value);

    let mut machines = BTreeMap::new();
    for (machine, workflow) in &by_machine {
        let file = machine_file(machine);
        let mut text =
            serde_json::to_string_pretty(&workflow.machine).map_err(|e| Error::Serialize {
                what: file.clone(),
                message: e.to_string(),
            })?;
        text.push('\n');
        machines.insert(file, text);
    }
    Ok(SynthOutput { template, machines })
}

/// Pointer to the first `StateMachineArn` argument naming `child`, for the error message.
fn child_pointer(workflow: &SynthWorkflow, child: &str) -> String {
    let wanted = placeholders::state_machine_arn(child);
    for scope in workflow.machine.scopes() {
        for (name, state) in scope.states {
            if let ocflow_asl::State::Task(task) = state {
                let arn = task
                    .arguments
                    .as_ref()
                    .and_then(|a| a.get("StateMachineArn"))
                    .and_then(|v| v.as_str());
                if arn == Some(wanted.as_str()) {
                    return format!("{}/Arguments/StateMachineArn", scope.state_pointer(name));
                }
            }
        }
    }
    String::new()
}
