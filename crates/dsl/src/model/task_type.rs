//! The `type` of a workflow task: Conductor's system task types, or a worker's own type.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The type of a [`WorkflowTask`](super::WorkflowTask).
///
/// Every Conductor OSS system task type has a variant; any other string names a worker task
/// type and is kept verbatim in [`TaskType::Worker`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskType {
    /// `SIMPLE`: a task executed by a polling worker.
    Simple,
    /// `HTTP`: an HTTP call made by the server.
    Http,
    /// `INLINE`: a script (JavaScript or GraalJS) evaluated by the server.
    Inline,
    /// `JSON_JQ_TRANSFORM`: a jq filter over the task input.
    JsonJqTransform,
    /// `LAMBDA`: the deprecated predecessor of `INLINE` (JavaScript `scriptExpression`).
    Lambda,
    /// `SWITCH`: branch on a value or a script.
    Switch,
    /// `DECISION`: the deprecated predecessor of `SWITCH`.
    Decision,
    /// `FORK_JOIN`: run fixed branches in parallel.
    ForkJoin,
    /// `FORK_JOIN_DYNAMIC`: run a task list computed at run time in parallel.
    ForkJoinDynamic,
    /// `JOIN`: wait for forked branches.
    Join,
    /// `EXCLUSIVE_JOIN`: join the one branch a decision took.
    ExclusiveJoin,
    /// `DO_WHILE`: repeat `loopOver` while `loopCondition` holds.
    DoWhile,
    /// `SUB_WORKFLOW`: run another workflow and wait for it.
    SubWorkflow,
    /// `START_WORKFLOW`: start another workflow without waiting.
    StartWorkflow,
    /// `WAIT`: wait for a duration, a time, or an external signal.
    Wait,
    /// `HUMAN`: wait for a person to complete the task through the API.
    Human,
    /// `TERMINATE`: end the workflow with a status.
    Terminate,
    /// `SET_VARIABLE`: set workflow variables.
    SetVariable,
    /// `NOOP`: do nothing.
    Noop,
    /// `DYNAMIC`: a task whose type is chosen at run time.
    Dynamic,
    /// `EVENT`: publish an event to a sink.
    Event,
    /// `KAFKA_PUBLISH`: publish a message to Kafka.
    KafkaPublish,
    /// `USER_DEFINED`: a worker task whose type is given by its name.
    UserDefined,
    /// Any other string: a task type implemented by a worker.
    Worker(String),
}

impl TaskType {
    /// Every system task type, in Conductor's own spelling.
    pub const SYSTEM: &'static [TaskType] = &[
        TaskType::Simple,
        TaskType::Http,
        TaskType::Inline,
        TaskType::JsonJqTransform,
        TaskType::Lambda,
        TaskType::Switch,
        TaskType::Decision,
        TaskType::ForkJoin,
        TaskType::ForkJoinDynamic,
        TaskType::Join,
        TaskType::ExclusiveJoin,
        TaskType::DoWhile,
        TaskType::SubWorkflow,
        TaskType::StartWorkflow,
        TaskType::Wait,
        TaskType::Human,
        TaskType::Terminate,
        TaskType::SetVariable,
        TaskType::Noop,
        TaskType::Dynamic,
        TaskType::Event,
        TaskType::KafkaPublish,
        TaskType::UserDefined,
    ];

    /// Parses a type name; names that are not system types become [`TaskType::Worker`].
    pub fn parse(name: &str) -> TaskType {
        TaskType::SYSTEM
            .iter()
            .find(|t| t.as_str() == name)
            .cloned()
            .unwrap_or_else(|| TaskType::Worker(name.to_owned()))
    }

    /// The name as written in a definition.
    pub fn as_str(&self) -> &str {
        match self {
            TaskType::Simple => "SIMPLE",
            TaskType::Http => "HTTP",
            TaskType::Inline => "INLINE",
            TaskType::JsonJqTransform => "JSON_JQ_TRANSFORM",
            TaskType::Lambda => "LAMBDA",
            TaskType::Switch => "SWITCH",
            TaskType::Decision => "DECISION",
            TaskType::ForkJoin => "FORK_JOIN",
            TaskType::ForkJoinDynamic => "FORK_JOIN_DYNAMIC",
            TaskType::Join => "JOIN",
            TaskType::ExclusiveJoin => "EXCLUSIVE_JOIN",
            TaskType::DoWhile => "DO_WHILE",
            TaskType::SubWorkflow => "SUB_WORKFLOW",
            TaskType::StartWorkflow => "START_WORKFLOW",
            TaskType::Wait => "WAIT",
            TaskType::Human => "HUMAN",
            TaskType::Terminate => "TERMINATE",
            TaskType::SetVariable => "SET_VARIABLE",
            TaskType::Noop => "NOOP",
            TaskType::Dynamic => "DYNAMIC",
            TaskType::Event => "EVENT",
            TaskType::KafkaPublish => "KAFKA_PUBLISH",
            TaskType::UserDefined => "USER_DEFINED",
            TaskType::Worker(name) => name,
        }
    }

    /// Whether a worker (not the server) executes tasks of this type.
    pub fn is_worker(&self) -> bool {
        matches!(
            self,
            TaskType::Simple | TaskType::UserDefined | TaskType::Worker(_)
        )
    }
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TaskType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(TaskType::parse(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_names_round_trip_and_others_are_workers() {
        for t in TaskType::SYSTEM {
            assert_eq!(&TaskType::parse(t.as_str()), t);
        }
        assert_eq!(
            TaskType::parse("encode_video"),
            TaskType::Worker("encode_video".into())
        );
        assert!(TaskType::parse("encode_video").is_worker());
        assert!(!TaskType::Http.is_worker());
    }
}
