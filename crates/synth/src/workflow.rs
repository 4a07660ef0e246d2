//! The input: compiled workflows and their deployment options.

use std::path::Path;

use ocflow_asl::{ExecutionType, StateMachine};
use serde::Deserialize;

use crate::error::Error;

/// The name of the optional per-workflow options file, next to `workflow.json`.
pub const OPTIONS_FILE: &str = "ocflow.json";

/// One compiled workflow to deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthWorkflow {
    /// The Conductor workflow name (the compiled machine's name).
    pub name: String,
    /// The compiled state machine, with `${...}` placeholders for everything it calls.
    pub machine: StateMachine,
    /// How to deploy it.
    pub options: WorkflowOptions,
}

impl SynthWorkflow {
    /// A workflow deployed with default options (a Standard machine).
    pub fn new(name: impl Into<String>, machine: StateMachine) -> Self {
        SynthWorkflow {
            name: name.into(),
            machine,
            options: WorkflowOptions::default(),
        }
    }

    /// Sets the deployment options.
    pub fn with_options(mut self, options: WorkflowOptions) -> Self {
        self.options = options;
        self
    }
}

/// Deployment options of one workflow, kept out of the Conductor definition (so it stays
/// loadable by Conductor) in `workflows/<name>/ocflow.json`: `{"type": "EXPRESS"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowOptions {
    /// `STANDARD` (exactly once, up to a year, billed per state transition) or `EXPRESS`
    /// (at least once, up to five minutes, billed per request and duration).
    #[serde(rename = "type", default = "standard")]
    pub execution_type: ExecutionType,
}

fn standard() -> ExecutionType {
    ExecutionType::Standard
}

impl Default for WorkflowOptions {
    fn default() -> Self {
        WorkflowOptions {
            execution_type: ExecutionType::Standard,
        }
    }
}

impl WorkflowOptions {
    /// Parses the options file's text; `path` is only used in the error.
    pub fn parse(text: &str, path: &Path) -> Result<WorkflowOptions, Error> {
        serde_json::from_str(text).map_err(|e| Error::Options {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads `<workflow_dir>/ocflow.json`; defaults when the file does not exist.
    pub fn read(workflow_dir: &Path) -> Result<WorkflowOptions, Error> {
        let path = workflow_dir.join(OPTIONS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => WorkflowOptions::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(WorkflowOptions::default()),
            Err(e) => Err(Error::Options {
                path,
                message: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_to_standard_and_refuse_unknown_fields() {
        let path = Path::new("ocflow.json");
        let parse = |text| WorkflowOptions::parse(text, path);
        assert_eq!(parse("{}").unwrap().execution_type, ExecutionType::Standard);
        assert_eq!(
            parse(r#"{"type": "EXPRESS"}"#).unwrap().execution_type,
            ExecutionType::Express
        );
        let err = parse(r#"{"kind": "EXPRESS"}"#).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid workflow options in ocflow.json: unknown field `kind`"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_options_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            WorkflowOptions::read(dir.path()).unwrap(),
            WorkflowOptions::default()
        );
        std::fs::write(dir.path().join(OPTIONS_FILE), r#"{"type": "EXPRESS"}"#).unwrap();
        assert_eq!(
            WorkflowOptions::read(dir.path()).unwrap().execution_type,
            ExecutionType::Express
        );
    }
}
