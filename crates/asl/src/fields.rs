//! Field types shared by several states: transitions, literal-or-JSONata values, Retry, Catch and
//! Choice rules.

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::jsonata;

/// Unknown fields of an ASL object, kept so that a hand-written machine round-trips.
pub type Extra = Map<String, Value>;

/// Which query language a machine or state uses (`"QueryLanguage"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueryLanguage {
    /// `"JSONata"`: `Arguments`, `Output`, `Assign`, `Condition`.
    #[serde(rename = "JSONata")]
    Jsonata,
    /// `"JSONPath"`: the older `InputPath`/`Parameters`/`ResultPath` family; the ASL default.
    #[serde(rename = "JSONPath")]
    JsonPath,
}

/// Where a state goes when it completes: `"Next": name` or `"End": true`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Continue with the named state in the same scope.
    Next(String),
    /// The scope (machine, branch or iteration) ends here.
    End,
}

impl Transition {
    /// The next state's name, if this is [`Transition::Next`].
    pub fn next(&self) -> Option<&str> {
        match self {
            Transition::Next(name) => Some(name),
            Transition::End => None,
        }
    }
}

/// Serde adapter for an `Option<Transition>` flattened into a state.
pub(crate) mod transition_field {
    use super::*;

    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "Next")]
        next: Option<String>,
        #[serde(rename = "End")]
        end: Option<bool>,
    }

    pub(crate) fn serialize<S: Serializer>(
        transition: &Option<Transition>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match transition {
            Some(Transition::Next(name)) => map.serialize_entry("Next", name)?,
            Some(Transition::End) => map.serialize_entry("End", &true)?,
            None => {}
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Transition>, D::Error> {
        let raw = Raw::deserialize(deserializer)?;
        match (raw.next, raw.end) {
            (Some(_), Some(true)) => Err(D::Error::custom(
                "a state cannot have both `Next` and `End: true`",
            )),
            (Some(name), _) => Ok(Some(Transition::Next(name))),
            (None, Some(true)) => Ok(Some(Transition::End)),
            (None, _) => Ok(None),
        }
    }
}

/// Deserialises a present JSON value, `null` included, as `Some`; absent fields use `default`.
pub(crate) fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Serialises a whole float as an integer (`2` rather than `2.0`).
fn whole_as_integer<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: larger floats are not exact integers
    match *value {
        Some(rate) if rate.fract() == 0.0 && rate.abs() < EXACT => {
            // Exact by the guard above.
            #[allow(clippy::cast_possible_truncation)]
            serializer.serialize_i64(rate as i64)
        }
        other => other.serialize(serializer),
    }
}

/// A field that holds either a literal (`30`, `"2026-01-01T00:00:00Z"`) or a JSONata string
/// (`"{% $states.input.delay %}"`): `TimeoutSeconds`, `Seconds`, `Error`, `MaxConcurrency`, ...
#[derive(Debug, Clone, PartialEq)]
pub enum JsonataOr<T> {
    /// A literal value of the field's type.
    Literal(T),
    /// A JSONata string, delimiters included, as written in the ASL.
    Jsonata(String),
}

impl<T> JsonataOr<T> {
    /// A JSONata field from a bare expression: `JsonataOr::expression("$x")` is `"{% $x %}"`.
    pub fn expression(expression: &str) -> Self {
        JsonataOr::Jsonata(jsonata::wrap(expression))
    }

    /// The literal value, if this is not an expression.
    pub fn literal(&self) -> Option<&T> {
        match self {
            JsonataOr::Literal(value) => Some(value),
            JsonataOr::Jsonata(_) => None,
        }
    }
}

impl<T> From<T> for JsonataOr<T> {
    fn from(value: T) -> Self {
        JsonataOr::Literal(value)
    }
}

impl From<&str> for JsonataOr<String> {
    /// A literal string; build expressions with [`JsonataOr::expression`].
    fn from(value: &str) -> Self {
        JsonataOr::Literal(value.to_owned())
    }
}

impl<T: Serialize> Serialize for JsonataOr<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonataOr::Literal(value) => value.serialize(serializer),
            JsonataOr::Jsonata(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for JsonataOr<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) if jsonata::is_intended(&text) => Ok(JsonataOr::Jsonata(text)),
            value => T::deserialize(value)
                .map(JsonataOr::Literal)
                .map_err(D::Error::custom),
        }
    }
}

/// How Step Functions spreads retry delays (`"JitterStrategy"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JitterStrategy {
    /// Randomise each delay between zero and the computed interval.
    Full,
    /// Wait exactly the computed interval.
    None,
}

/// One entry of a state's `"Retry"` list.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Retrier {
    /// Error names this retrier matches (`"States.ALL"` matches everything but a few).
    pub error_equals: Vec<String>,
    /// Delay before the first retry; at least 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<i64>,
    /// Retries after the first attempt; 0 disables retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i64>,
    /// Multiplier applied to the delay after each retry; at least 1.0. Whole rates serialise
    /// as integers (`2`, not `2.0`), as people write them.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "whole_as_integer"
    )]
    pub backoff_rate: Option<f64>,
    /// Upper bound on any single delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<i64>,
    /// Whether delays are randomised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<JitterStrategy>,
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl Retrier {
    /// A retrier for the given error names with the ASL defaults (1 s, 3 attempts, rate 2.0).
    pub fn new<I, S>(error_equals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Retrier {
            error_equals: error_equals.into_iter().map(Into::into).collect(),
            ..Retrier::default()
        }
    }

    /// Sets `IntervalSeconds`.
    pub fn with_interval_seconds(mut self, seconds: i64) -> Self {
        self.interval_seconds = Some(seconds);
        self
    }

    /// Sets `MaxAttempts`.
    pub fn with_max_attempts(mut self, attempts: i64) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Sets `BackoffRate`.
    pub fn with_backoff_rate(mut self, rate: f64) -> Self {
        self.backoff_rate = Some(rate);
        self
    }

    /// Sets `MaxDelaySeconds`.
    pub fn with_max_delay_seconds(mut self, seconds: i64) -> Self {
        self.max_delay_seconds = Some(seconds);
        self
    }

    /// Sets `JitterStrategy`.
    pub fn with_jitter(mut self, jitter: JitterStrategy) -> Self {
        self.jitter_strategy = Some(jitter);
        self
    }
}

/// One entry of a state's `"Catch"` list: on a matching error, continue at `next`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Catcher {
    /// Error names this catcher matches.
    pub error_equals: Vec<String>,
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The state's output when caught (JSONata; `$states.errorOutput` holds the error).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned when caught.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// The state to continue with.
    pub next: String,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl Catcher {
    /// A catcher for the given error names that continues at `next`.
    pub fn new<I, S>(error_equals: I, next: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Catcher {
            error_equals: error_equals.into_iter().map(Into::into).collect(),
            next: next.into(),
            ..Catcher::default()
        }
    }

    /// Sets `Output`.
    pub fn with_output(mut self, output: Value) -> Self {
        self.output = Some(output);
        self
    }

    /// Sets `Assign`.
    pub fn with_assign(mut self, assign: Value) -> Self {
        self.assign = Some(assign);
        self
    }
}

/// One rule of a Choice state in JSONata mode: if `condition` is true, continue at `next`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChoiceRule {
    /// A JSONata string that evaluates to a boolean.
    pub condition: String,
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The Choice state's output when this rule matches.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned when this rule matches.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// The state to continue with.
    pub next: String,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl ChoiceRule {
    /// A rule from a bare JSONata expression: `ChoiceRule::new("$x > 1", "Big")`.
    pub fn new(expression: &str, next: impl Into<String>) -> Self {
        ChoiceRule {
            condition: jsonata::wrap(expression),
            next: next.into(),
            ..ChoiceRule::default()
        }
    }

    /// Sets `Output`.
    pub fn with_output(mut self, output: Value) -> Self {
        self.output = Some(output);
        self
    }

    /// Sets `Assign`.
    pub fn with_assign(mut self, assign: Value) -> Self {
        self.assign = Some(assign);
        self
    }

    /// Sets `Comment`.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }
}
