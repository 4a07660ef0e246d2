//! Which Conductor task each compiled state stands for.
//!
//! The compiler writes a [`TaskMap`] beside every state machine. Hosts read it to present an
//! execution the way Conductor users know it: a workflow with a list of tasks, each with its
//! `referenceTaskName`, `taskType`, status, input and output. The local engine reads it while
//! running; on AWS the API reads it together with the execution history.
//!
//! Conventions shared by compiler and hosts:
//! - a state listed here executes one Conductor task each time it is entered (DO_WHILE bodies
//!   give one task per iteration, named `<ref>__<iteration>` as Conductor does);
//! - when [`StateTask::variable`] is set, the state assigns that variable and, once the state
//!   has exited, the variable holds `{"output": ..., "input"?: ..., "status"?: ..., "reasonForIncompletion"?: ...}`
//!   for this task; otherwise the task's output is the state's result (for `lambda:invoke`, its
//!   `Payload`);
//! - a task's input is the state's evaluated `Arguments` (for `lambda:invoke`, its `Payload`);
//! - when [`StateTask::dynamic`] is set, the task was chosen at run time (FORK_JOIN_DYNAMIC):
//!   its `referenceTaskName`, `taskDefName` and `taskType` are the `taskReferenceName`, `name`
//!   and `type` of the `task` member of the state's input, and the entry's own values are
//!   only fallbacks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The Conductor view of one compiled state machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskMap {
    /// The Conductor workflow name.
    pub workflow_name: String,
    /// The Conductor workflow version.
    pub workflow_version: u32,
    /// State name → the task it executes. States not listed are bookkeeping.
    pub states: BTreeMap<String, StateTask>,
}

/// The Conductor task a state executes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateTask {
    /// The task's `taskReferenceName`.
    pub reference_task_name: String,
    /// The task's `type` as written in the definition (`HTTP`, `SWITCH`, a worker type, ...).
    pub task_type: String,
    /// The task's `name`.
    pub task_name: String,
    /// The variable the state assigns with this task's `{output, status, ...}`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// The DO_WHILE task references enclosing this task, innermost last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loops: Vec<String>,
    /// The task is chosen at run time and described by the `task` member of the state's input.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dynamic: bool,
    /// The JOIN that completes when this (fork) state exits; the fork itself outputs nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<JoinTask>,
}

/// A JOIN task, which has no state of its own: it completes with the fork state before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinTask {
    /// The JOIN's `taskReferenceName`.
    pub reference_task_name: String,
    /// The JOIN's `name`.
    pub task_name: String,
    /// The variable the fork state assigns with `{"output": <ref → output map>}`.
    pub variable: String,
}

impl TaskMap {
    /// The task a state executes, if the state stands for one.
    pub fn task(&self, state: &str) -> Option<&StateTask> {
        self.states.get(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shape_is_camel_case_and_sparse() {
        let mut map = TaskMap {
            workflow_name: "order".into(),
            workflow_version: 2,
            ..TaskMap::default()
        };
        map.states.insert(
            "charge".into(),
            StateTask {
                reference_task_name: "charge".into(),
                task_type: "HTTP".into(),
                task_name: "charge_payment".into(),
                variable: None,
                loops: vec![],
                dynamic: false,
                join: None,
            },
        );
        assert_eq!(
            serde_json::to_value(&map).unwrap(),
            json!({
                "workflowName": "order",
                "workflowVersion": 2,
                "states": {"charge": {"referenceTaskName": "charge", "taskType": "HTTP", "taskName": "charge_payment"}}
            })
        );
        assert_eq!(
            map.task("charge").map(|t| t.task_type.as_str()),
            Some("HTTP")
        );
    }
}
