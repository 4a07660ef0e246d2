//! Task ids: the two forms a Conductor client may hold for one task, and finding the task a
//! workflow lists under either.
//!
//! A workflow lists each task as `<workflowId>-<seq>` (its place in the workflow); a poll hands
//! a worker task out as `<workflowId>/<state>` (the compiled state it waits in, the same on the
//! local engine and on Step Functions). Both name the workflow, so both lead to the task.

use ocflow_engine::conductor::{Task, Workflow};

/// What a task id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskId<'a> {
    /// `<workflowId>-<seq>`, as the workflow lists the task.
    Listed {
        /// The workflow.
        workflow_id: &'a str,
    },
    /// `<workflowId>/<state>`, as a poll hands the task out.
    Polled {
        /// The workflow.
        workflow_id: &'a str,
        /// The compiled state the task waits (or waited) in.
        state: &'a str,
    },
}

impl<'a> TaskId<'a> {
    /// Reads a task id; `None` when it has neither form.
    pub fn parse(task_id: &'a str) -> Option<TaskId<'a>> {
        if let Some((workflow_id, state)) = task_id.rsplit_once('/') {
            return (!workflow_id.is_empty() && !state.is_empty())
                .then_some(TaskId::Polled { workflow_id, state });
        }
        let (workflow_id, seq) = task_id.rsplit_once('-')?;
        let numeric = !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit());
        (numeric && !workflow_id.is_empty()).then_some(TaskId::Listed { workflow_id })
    }

    /// The workflow the task belongs to.
    pub fn workflow_id(&self) -> &'a str {
        match self {
            TaskId::Listed { workflow_id } | TaskId::Polled { workflow_id, .. } => workflow_id,
        }
    }
}

/// The task `task_id` names in `workflow`. For a polled id, `reference` is the
/// `referenceTaskName` of the id's state (from the workflow's task map): the latest task of
/// that reference (a DO_WHILE body's latest iteration) is the one.
pub fn find_task(workflow: &Workflow, task_id: &str, reference: Option<&str>) -> Option<Task> {
    match TaskId::parse(task_id)? {
        TaskId::Listed { .. } => workflow.tasks.iter().find(|t| t.task_id == task_id),
        TaskId::Polled { .. } => {
            let reference = reference?;
            workflow.tasks.iter().rev().find(|t| {
                t.reference_task_name == reference
                    || t.reference_task_name
                        .strip_prefix(reference)
                        .and_then(|rest| rest.strip_prefix("__"))
                        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            })
        }
    }
    .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_name_their_workflow() {
        assert_eq!(
            TaskId::parse("3f2a-b7c1-9"),
            Some(TaskId::Listed {
                workflow_id: "3f2a-b7c1"
            })
        );
        assert_eq!(
            TaskId::parse("3f2a-b7c1/encode_ref"),
            Some(TaskId::Polled {
                workflow_id: "3f2a-b7c1",
                state: "encode_ref"
            })
        );
        assert_eq!(
            TaskId::parse("3f2a-b7c1/encode_ref").map(|t| t.workflow_id()),
            Some("3f2a-b7c1")
        );
        for unknown in ["plain", "wf-", "-3", "wf-x1", "/state", "wf/"] {
            assert_eq!(TaskId::parse(unknown), None, "{unknown}");
        }
    }
}
