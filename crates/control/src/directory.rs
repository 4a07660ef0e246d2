//! Which state machine runs a workflow: the name → ARN port and its configuration-driven
//! implementation.
//!
//! A deployment names its machines in one of two ways, both read from the environment:
//!
//! - `OCFLOW_STATE_MACHINES`: a JSON object from workflow name to
//!   `{"arn": "...", "type": "STANDARD" | "EXPRESS", "version": 3}` (`type` and `version`
//!   optional). A request naming another version than the deployed one is refused.
//! - `OCFLOW_STATE_MACHINE_ARN_PREFIX` (e.g. `arn:aws:states:eu-west-1:123456789012:stateMachine:ocflow`):
//!   workflow `name` runs on `<prefix>-<machine name part>`, where the name part is the workflow
//!   name with every character outside `0-9 A-Z a-z - _` replaced by `_` ([`machine_name_part`]).
//!   `OCFLOW_EXPRESS_WORKFLOWS` lists (comma-separated) the workflows deployed as Express.
//!   Any requested version is accepted.
//!
//! Explicit entries win over the prefix convention.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::deployment::env;
pub use crate::deployment::machine_name_part;

/// The kind of a state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MachineKind {
    /// Standard: exactly-once, up to a year, status events on EventBridge.
    #[default]
    Standard,
    /// Express: at-least-once, up to five minutes, no status events.
    Express,
}

/// The state machine a start request resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// Its kind.
    pub kind: MachineKind,
}

/// Why a workflow could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No machine is configured for the workflow.
    #[error("no state machine is deployed for workflow `{0}`")]
    UnknownWorkflow(String),
    /// The request names a version other than the deployed one.
    #[error("workflow `{workflow}` version {requested} is not deployed (deployed: {deployed})")]
    VersionNotDeployed {
        /// The workflow name.
        workflow: String,
        /// The version the request named.
        requested: u32,
        /// The deployed version.
        deployed: u32,
    },
    /// The configuration itself is invalid.
    #[error("invalid state machine configuration: {0}")]
    Config(String),
}

/// Resolves workflow names to state machines, and back.
pub trait StateMachineResolver: Send + Sync {
    /// The machine that runs `workflow` (at `version`, when given).
    fn resolve(&self, workflow: &str, version: Option<u32>) -> Result<Target, ResolveError>;

    /// The workflow a state machine runs, if it is one of ours.
    fn workflow_name(&self, state_machine_arn: &str) -> Option<String>;
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Entry {
    arn: String,
    #[serde(default, rename = "type")]
    kind: MachineKind,
    #[serde(default)]
    version: Option<u32>,
}

/// A [`StateMachineResolver`] from configuration (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    entries: BTreeMap<String, Entry>,
    prefix: Option<String>,
    express: BTreeSet<String>,
}

impl Directory {
    /// An empty directory: every workflow is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an explicit entry.
    pub fn with_machine(
        mut self,
        workflow: impl Into<String>,
        arn: impl Into<String>,
        kind: MachineKind,
        version: Option<u32>,
    ) -> Self {
        self.entries.insert(
            workflow.into(),
            Entry {
                arn: arn.into(),
                kind,
                version,
            },
        );
        self
    }

    /// Sets the ARN prefix of the naming convention.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Marks a workflow as Express under the naming convention.
    pub fn with_express(mut self, workflow: impl Into<String>) -> Self {
        self.express.insert(workflow.into());
        self
    }

    /// Reads `OCFLOW_STATE_MACHINES`, `OCFLOW_STATE_MACHINE_ARN_PREFIX` and
    /// `OCFLOW_EXPRESS_WORKFLOWS` through `var`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ResolveError> {
        let mut directory = Self::new();
        if let Some(json) = var(env::STATE_MACHINES).filter(|v| !v.trim().is_empty()) {
            directory.entries = serde_json::from_str(&json)
                .map_err(|e| ResolveError::Config(format!("OCFLOW_STATE_MACHINES: {e}")))?;
        }
        directory.prefix = var(env::STATE_MACHINE_ARN_PREFIX).filter(|v| !v.is_empty());
        if let Some(list) = var(env::EXPRESS_WORKFLOWS) {
            directory.express = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if directory.entries.is_empty() && directory.prefix.is_none() {
            return Err(ResolveError::Config(
                "set OCFLOW_STATE_MACHINES or OCFLOW_STATE_MACHINE_ARN_PREFIX".into(),
            ));
        }
        Ok(directory)
    }
}

impl StateMachineResolver for Directory {
    fn resolve(&self, workflow: &str, version: Option<u32>) -> Result<Target, ResolveError> {
        if let Some(entry) = self.entries.get(workflow) {
            if let (Some(requested), Some(deployed)) = (version, entry.version)
                && requested != deployed
            {
                return Err(ResolveError::VersionNotDeployed {
                    workflow: workflow.to_owned(),
                    requested,
                    deployed,
                });
            }
            return Ok(Target {
                state_machine_arn: entry.arn.clone(),
                kind: entry.kind,
            });
        }
        let prefix = self
            .prefix
            .as_deref()
            .ok_or_else(|| ResolveError::UnknownWorkflow(workflow.to_owned()))?;
        let kind = if self.express.contains(workflow) {
            MachineKind::Express
        } else {
            MachineKind::Standard
        };
        Ok(Target {
            state_machine_arn: crate::deployment::state_machine_name(prefix, workflow),
            kind,
        })
    }

    fn workflow_name(&self, state_machine_arn: &str) -> Option<String> {
        if let Some((name, _)) = self
            .entries
            .iter()
            .find(|(_, e)| e.arn == state_machine_arn)
        {
            return Some(name.clone());
        }
        let rest = state_machine_arn.strip_prefix(self.prefix.as_deref()?)?;
        let part = rest.strip_prefix('-').filter(|p| !p.is_empty())?;
        // Prefer the original spelling of an Express workflow whose name part matches.
        Some(
            self.express
                .iter()
                .find(|w| machine_name_part(w) == part)
                .cloned()
                .unwrap_or_else(|| part.to_owned()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:ocflow";

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn naming_convention_from_env() {
        let directory = Directory::from_env(env(&[
            ("OCFLOW_STATE_MACHINE_ARN_PREFIX", PREFIX),
            ("OCFLOW_EXPRESS_WORKFLOWS", "quick one, other"),
        ]))
        .unwrap();
        let target = directory.resolve("order flow", Some(7)).unwrap();
        assert_eq!(target.state_machine_arn, format!("{PREFIX}-order_flow"));
        assert_eq!(target.kind, MachineKind::Standard);
        assert_eq!(
            directory.resolve("quick one", None).unwrap().kind,
            MachineKind::Express
        );
        assert_eq!(
            directory.workflow_name(&format!("{PREFIX}-quick_one")),
            Some("quick one".into())
        );
        assert_eq!(
            directory.workflow_name(&format!("{PREFIX}-order_flow")),
            Some("order_flow".into())
        );
        assert_eq!(
            directory.workflow_name("arn:aws:states:x:1:stateMachine:other"),
            None
        );
    }

    #[test]
    fn explicit_entries_check_versions() {
        let directory = Directory::from_env(env(&[(
            "OCFLOW_STATE_MACHINES",
            r#"{"orders": {"arn": "arn:m:orders", "type": "EXPRESS", "version": 2}}"#,
        )]))
        .unwrap();
        assert_eq!(
            directory.resolve("orders", Some(2)).unwrap(),
            Target {
                state_machine_arn: "arn:m:orders".into(),
                kind: MachineKind::Express
            }
        );
        assert!(matches!(
            directory.resolve("orders", Some(1)),
            Err(ResolveError::VersionNotDeployed { deployed: 2, .. })
        ));
        assert_eq!(
            directory.resolve("billing", None),
            Err(ResolveError::UnknownWorkflow("billing".into()))
        );
        assert_eq!(
            directory.workflow_name("arn:m:orders"),
            Some("orders".into())
        );
    }

    #[test]
    fn configuration_errors_are_reported() {
        assert!(matches!(
            Directory::from_env(env(&[])),
            Err(ResolveError::Config(_))
        ));
        assert!(matches!(
            Directory::from_env(env(&[("OCFLOW_STATE_MACHINES", "[1]")])),
            Err(ResolveError::Config(_))
        ));
    }
}
