//! What a compilation may look up besides the workflow itself: task definitions and the other
//! workflow definitions that sub-workflows, START_WORKFLOW and failure workflows name.

use std::collections::BTreeMap;

use ocflow_dsl::model::{TaskDef, TaskDefs, WorkflowDef};

/// Task and workflow definitions by name (and version), as a Conductor metadata service holds
/// them. The CLI fills one from a `--defs` directory; tests fill one from `workflows/`.
#[derive(Debug, Clone, Default)]
pub struct CompileEnv {
    task_defs: TaskDefs,
    task_names: Vec<String>,
    workflows: BTreeMap<String, BTreeMap<i64, WorkflowDef>>,
}

impl CompileEnv {
    /// An empty environment: every task takes Conductor's default policy, and no sub-workflow
    /// can be resolved by name.
    pub fn new() -> Self {
        CompileEnv::default()
    }

    /// Adds (or replaces) a task definition.
    pub fn add_task_def(&mut self, def: TaskDef) {
        if self.task_defs.get(&def.name).is_none() {
            self.task_names.push(def.name.clone());
        }
        self.task_defs.insert(def);
    }

    /// The registered task definitions.
    pub fn task_defs(&self) -> &TaskDefs {
        &self.task_defs
    }

    /// Names of the registered task definitions, in the order they were added.
    pub fn task_names(&self) -> &[String] {
        &self.task_names
    }

    /// Adds (or replaces) a workflow definition under its name and version.
    pub fn add_workflow(&mut self, def: WorkflowDef) {
        self.workflows
            .entry(def.name.clone())
            .or_default()
            .insert(def.version(), def);
    }

    /// The workflow `name` at `version`, or its latest version when `version` is `None`.
    pub fn workflow(&self, name: &str, version: Option<i64>) -> Option<&WorkflowDef> {
        let versions = self.workflows.get(name)?;
        match version {
            Some(v) => versions.get(&v),
            None => versions.values().next_back(),
        }
    }

    /// Whether any version of workflow `name` is known.
    pub fn has_workflow(&self, name: &str) -> bool {
        self.workflows.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_version_wins_when_none_is_asked() {
        let mut env = CompileEnv::new();
        for v in [2, 1] {
            env.add_workflow(WorkflowDef {
                name: "w".into(),
                version: Some(v),
                ..WorkflowDef::default()
            });
        }
        assert_eq!(env.workflow("w", None).map(WorkflowDef::version), Some(2));
        assert_eq!(
            env.workflow("w", Some(1)).map(WorkflowDef::version),
            Some(1)
        );
        assert!(env.workflow("x", None).is_none());
    }
}
