//! The top-level state machine and a uniform view over its nested scopes.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::fields::{Extra, QueryLanguage};
use crate::state::State;

/// An Amazon States Language state machine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    /// Free-form description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The machine's query language; ASL defaults to JSONPath when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// The first state.
    pub start_at: String,
    /// The states, in the order they were written.
    pub states: IndexMap<String, State>,
    /// Fails the execution with `States.Timeout` after this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// ASL version; `"1.0"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl StateMachine {
    /// An empty JSONata machine starting at `start_at`.
    pub fn new(start_at: impl Into<String>) -> Self {
        StateMachine {
            query_language: Some(QueryLanguage::Jsonata),
            start_at: start_at.into(),
            ..StateMachine::default()
        }
    }

    /// Sets `Comment`.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Sets `TimeoutSeconds`.
    pub fn with_timeout_seconds(mut self, seconds: u64) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Adds (or replaces) a state.
    pub fn with_state(mut self, name: impl Into<String>, state: impl Into<State>) -> Self {
        self.states.insert(name.into(), state.into());
        self
    }

    /// The machine's query language, JSONPath when unset (the ASL default).
    pub fn effective_query_language(&self) -> QueryLanguage {
        self.query_language.unwrap_or(QueryLanguage::JsonPath)
    }

    /// The top-level scope.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            pointer: String::new(),
            start_at: &self.start_at,
            states: &self.states,
        }
    }

    /// Every scope, top level first, then nested scopes in document order (depth first).
    pub fn scopes(&self) -> Vec<Scope<'_>> {
        let mut out = Vec::new();
        collect_scopes(self.scope(), &mut out);
        out
    }
}

/// A set of states that transition among themselves: the machine, a Parallel branch, or a Map's
/// item processor. `Next`, `Default` and `Catch` targets must lie in the same scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope<'a> {
    /// JSON pointer to the object holding `StartAt` and `States` (`""` for the machine).
    pub pointer: String,
    /// The first state.
    pub start_at: &'a str,
    /// The states.
    pub states: &'a IndexMap<String, State>,
}

impl<'a> Scope<'a> {
    /// JSON pointer to the named state.
    pub fn state_pointer(&self, name: &str) -> String {
        format!("{}/States/{}", self.pointer, escape_pointer(name))
    }

    /// The scopes nested directly in the named state: its branches or item processor.
    pub fn children(&self, name: &str) -> Vec<Scope<'a>> {
        let Some(state) = self.states.get(name) else {
            return Vec::new();
        };
        let base = self.state_pointer(name);
        match state {
            State::Parallel(parallel) => parallel
                .branches
                .iter()
                .enumerate()
                .map(|(index, branch)| Scope {
                    pointer: format!("{base}/Branches/{index}"),
                    start_at: &branch.start_at,
                    states: &branch.states,
                })
                .collect(),
            State::Map(map) => map
                .item_processor
                .iter()
                .map(|processor| Scope {
                    pointer: format!("{base}/ItemProcessor"),
                    start_at: &processor.start_at,
                    states: &processor.states,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn collect_scopes<'a>(scope: Scope<'a>, out: &mut Vec<Scope<'a>>) {
    let children: Vec<Scope<'a>> = scope
        .states
        .keys()
        .flat_map(|name| scope.children(name))
        .collect();
    out.push(scope);
    for child in children {
        collect_scopes(child, out);
    }
}

/// Escapes one JSON pointer token (RFC 6901: `~` as `~0`, `/` as `~1`).
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
