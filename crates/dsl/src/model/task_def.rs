//! `TaskDef`: the registered (or inline) definition of a task: retries, timeouts, rate limits.

use serde::{Deserialize, Serialize};

use super::JsonMap;

/// How the delay between retries grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetryLogic {
    /// The same delay every time.
    Fixed,
    /// `retryDelaySeconds * 2^attempt`.
    ExponentialBackoff,
    /// `retryDelaySeconds * backoffScaleFactor * attempt`.
    LinearBackoff,
}

/// What happens when a task times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeoutPolicy {
    /// Retry the task.
    Retry,
    /// Time out the whole workflow.
    TimeOutWf,
    /// Only raise an alert; the task keeps running.
    AlertOnly,
}

/// The format of an input or output schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SchemaType {
    /// JSON Schema.
    Json,
    /// Apache Avro.
    Avro,
    /// Protocol Buffers.
    Protobuf,
}

/// A schema that a workflow's or a task's input or output must satisfy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDef {
    /// Schema name.
    #[serde(default)]
    pub name: String,
    /// Schema version (Conductor's default: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Schema format.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<SchemaType>,
    /// The schema itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<JsonMap>,
    /// A reference to a schema held elsewhere (a registry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A task definition: the retry, timeout and rate-limit policy of a task type.
///
/// Fields hold what the document says (`None` when absent); the methods give the value Conductor
/// uses, applying its defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDef {
    /// Task type name; a workflow task refers to it by its `name`.
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Retries after the first attempt (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
    /// Time limit of one attempt, 0 for none (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// Documented input keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_keys: Option<Vec<String>>,
    /// Documented output keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_keys: Option<Vec<String>>,
    /// What a timeout does (default `TIME_OUT_WF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_policy: Option<TimeoutPolicy>,
    /// How retry delays grow (default `FIXED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_logic: Option<RetryLogic>,
    /// Base delay between retries (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_seconds: Option<i64>,
    /// Time a worker may go without reporting progress (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_timeout_seconds: Option<i64>,
    /// Maximum number of concurrently running tasks of this type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_exec_limit: Option<i64>,
    /// Default input merged under the task's `inputParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_template: Option<JsonMap>,
    /// Executions allowed per `rateLimitFrequencyInSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_frequency: Option<i64>,
    /// The rate-limit window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_frequency_in_seconds: Option<i64>,
    /// Isolation group of the workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_group_id: Option<String>,
    /// Execution namespace of the workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_name_space: Option<String>,
    /// Owner's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<String>,
    /// Time a scheduled task may wait to be polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_timeout_seconds: Option<i64>,
    /// Multiplier for `LINEAR_BACKOFF` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_scale_factor: Option<i64>,
    /// Base task type, for task type inheritance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_type: Option<String>,
    /// Time limit over all attempts, 0 for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_timeout_seconds: Option<i64>,
    /// Schema of the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<SchemaDef>,
    /// Schema of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<SchemaDef>,
    /// Whether the schemas are enforced (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_schema: Option<bool>,
    /// Owning application (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_app: Option<String>,
    /// Creation time, epoch milliseconds (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Last update time, epoch milliseconds (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
    /// Creator (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Last updater (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl TaskDef {
    /// Conductor's default `retryCount`.
    pub const DEFAULT_RETRY_COUNT: i64 = 3;
    /// Conductor's default `retryDelaySeconds`.
    pub const DEFAULT_RETRY_DELAY_SECONDS: i64 = 60;
    /// Conductor's default `responseTimeoutSeconds`.
    pub const DEFAULT_RESPONSE_TIMEOUT_SECONDS: i64 = 3600;

    /// A definition with only a name; every policy takes Conductor's default.
    pub fn named(name: impl Into<String>) -> TaskDef {
        TaskDef {
            name: name.into(),
            ..TaskDef::default()
        }
    }

    /// Retries after the first attempt.
    pub fn retry_count(&self) -> i64 {
        self.retry_count.unwrap_or(Self::DEFAULT_RETRY_COUNT)
    }

    /// How retry delays grow.
    pub fn retry_logic(&self) -> RetryLogic {
        self.retry_logic.unwrap_or(RetryLogic::Fixed)
    }

    /// Base delay between retries.
    pub fn retry_delay_seconds(&self) -> i64 {
        self.retry_delay_seconds
            .unwrap_or(Self::DEFAULT_RETRY_DELAY_SECONDS)
    }

    /// What a timeout does.
    pub fn timeout_policy(&self) -> TimeoutPolicy {
        self.timeout_policy.unwrap_or(TimeoutPolicy::TimeOutWf)
    }

    /// Time limit of one attempt; 0 means none.
    pub fn timeout_seconds(&self) -> i64 {
        self.timeout_seconds.unwrap_or(0)
    }

    /// Time a worker may go without reporting progress.
    pub fn response_timeout_seconds(&self) -> i64 {
        self.response_timeout_seconds
            .unwrap_or(Self::DEFAULT_RESPONSE_TIMEOUT_SECONDS)
    }

    /// Multiplier for `LINEAR_BACKOFF`.
    pub fn backoff_scale_factor(&self) -> i64 {
        self.backoff_scale_factor.unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_only_when_absent() {
        let def: TaskDef = serde_json::from_str(r#"{"name":"t"}"#).unwrap();
        assert_eq!(def.retry_count(), 3);
        assert_eq!(def.retry_logic(), RetryLogic::Fixed);
        assert_eq!(def.retry_delay_seconds(), 60);
        assert_eq!(def.timeout_policy(), TimeoutPolicy::TimeOutWf);
        assert_eq!(def.response_timeout_seconds(), 3600);
        assert_eq!(def.timeout_seconds(), 0);
        let def: TaskDef = serde_json::from_str(
            r#"{"name":"t","retryCount":0,"retryLogic":"LINEAR_BACKOFF","timeoutPolicy":"RETRY"}"#,
        )
        .unwrap();
        assert_eq!(def.retry_count(), 0);
        assert_eq!(def.retry_logic(), RetryLogic::LinearBackoff);
        assert_eq!(def.timeout_policy(), TimeoutPolicy::Retry);
    }

    #[test]
    fn explicit_nulls_read_as_absent() {
        let def: TaskDef =
            serde_json::from_str(r#"{"name":"t","createTime":null,"ownerApp":null}"#).unwrap();
        assert_eq!(def.create_time, None);
        assert_eq!(serde_json::to_string(&def).unwrap(), r#"{"name":"t"}"#);
    }
}
