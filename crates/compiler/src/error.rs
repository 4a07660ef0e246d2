//! Compile diagnostics: a stable code, the JSON pointer of the offending task, a message, a hint.

use std::fmt;

/// Why a definition (or part of it) could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message} at {pointer}")]
pub struct CompileError {
    /// Stable code, matched on by tools and tests.
    pub code: ErrorCode,
    /// JSON pointer of the task (or field) in the workflow definition, e.g. `/tasks/2`.
    pub pointer: String,
    /// What is wrong, lower case.
    pub message: String,
    /// How to fix it, when there is an obvious way.
    pub hint: Option<String>,
}

/// The kinds of compile diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A Conductor feature ocflow does not compile (the message names the feature).
    Unsupported,
    /// The definition is not valid Conductor (missing field, unknown reference, ...).
    Invalid,
    /// A sub-workflow names a workflow the compile environment does not hold.
    UnknownWorkflow,
}

impl ErrorCode {
    /// The code as printed: kebab case, never renamed.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Invalid => "invalid",
            ErrorCode::UnknownWorkflow => "unknown-workflow",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CompileError {
    /// An "unsupported: `feature`" diagnostic at `pointer`.
    pub fn unsupported(feature: impl Into<String>, pointer: impl Into<String>) -> Self {
        CompileError {
            code: ErrorCode::Unsupported,
            pointer: pointer.into(),
            message: feature.into(),
            hint: None,
        }
    }

    /// An "invalid" diagnostic at `pointer`.
    pub fn invalid(message: impl Into<String>, pointer: impl Into<String>) -> Self {
        CompileError {
            code: ErrorCode::Invalid,
            pointer: pointer.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
