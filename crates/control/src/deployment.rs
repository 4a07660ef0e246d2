//! The names a deployment shares between the code that runs in it and the template that
//! creates it: the executions table's schema, the functions' environment variables and the
//! state machine naming convention. `ocflow-aws` reads and writes with these; `ocflow-synth`
//! writes the CloudFormation template from them, so the two cannot drift apart.

/// The executions table: one row per execution (see `ocflow-aws`'s `table` module for what each
/// attribute holds).
pub mod table {
    /// Attribute names.
    pub mod attr {
        /// Partition key: the execution name (Conductor workflow id).
        pub const WORKFLOW_ID: &str = "workflowId";
        /// The execution's ARN.
        pub const EXECUTION_ARN: &str = "executionArn";
        /// The state machine's ARN.
        pub const STATE_MACHINE_ARN: &str = "stateMachineArn";
        /// The Conductor workflow name.
        pub const WORKFLOW_NAME: &str = "workflowName";
        /// The Conductor workflow version.
        pub const WORKFLOW_VERSION: &str = "workflowVersion";
        /// Conductor's correlation id.
        pub const CORRELATION_ID: &str = "correlationId";
        /// The idempotency key that named the execution.
        pub const IDEMPOTENCY_KEY: &str = "idempotencyKey";
        /// Conductor's priority.
        pub const PRIORITY: &str = "priority";
        /// The execution status.
        pub const STATUS: &str = "status";
        /// The status again, on rows of Standard executions only: the reconciler's index key.
        pub const TRACKED_STATUS: &str = "trackedStatus";
        /// `<status>#<start time>`: the `byWorkflow` sort key.
        pub const STATUS_START_TIME: &str = "statusStartTime";
        /// Start, epoch milliseconds.
        pub const START_TIME: &str = "startTime";
        /// Stop, epoch milliseconds.
        pub const STOP_TIME: &str = "stopTime";
        /// `crate::Progress::rank` of the last update.
        pub const PROGRESS_RANK: &str = "progressRank";
        /// Event time of the last update, epoch milliseconds.
        pub const EVENT_TIME: &str = "eventTime";
        /// The execution input (JSON text).
        pub const INPUT: &str = "input";
        /// The execution output (JSON text).
        pub const OUTPUT: &str = "output";
        /// The error name of a failed execution.
        pub const ERROR: &str = "error";
        /// The error cause of a failed execution.
        pub const CAUSE: &str = "cause";
        /// TTL attribute, epoch seconds.
        pub const EXPIRES_AT: &str = "expiresAt";
    }

    /// Global secondary index names.
    pub mod index {
        /// `workflowName` + `statusStartTime`.
        pub const BY_WORKFLOW: &str = "byWorkflow";
        /// `status` + `startTime`.
        pub const BY_STATUS: &str = "byStatus";
        /// `trackedStatus` + `startTime`.
        pub const BY_TRACKED_STATUS: &str = "byTrackedStatus";
        /// `correlationId` + `startTime`.
        pub const BY_CORRELATION_ID: &str = "byCorrelationId";
    }

    /// The DynamoDB type of a key attribute.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KeyType {
        /// A string (`S`).
        String,
        /// A number (`N`).
        Number,
    }

    impl KeyType {
        /// The DynamoDB type code: `S` or `N`.
        pub fn code(self) -> &'static str {
            match self {
                KeyType::String => "S",
                KeyType::Number => "N",
            }
        }
    }

    /// A key attribute and its type.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Key {
        /// The attribute name.
        pub attribute: &'static str,
        /// Its type.
        pub key_type: KeyType,
    }

    /// A global secondary index (every one projects all attributes).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Index {
        /// The index name.
        pub name: &'static str,
        /// Its partition key.
        pub partition: Key,
        /// Its sort key.
        pub sort: Key,
    }

    const fn s(attribute: &'static str) -> Key {
        Key {
            attribute,
            key_type: KeyType::String,
        }
    }

    const fn n(attribute: &'static str) -> Key {
        Key {
            attribute,
            key_type: KeyType::Number,
        }
    }

    /// The table's partition key (it has no sort key).
    pub const PARTITION_KEY: Key = s(attr::WORKFLOW_ID);

    /// The global secondary indexes.
    pub const INDEXES: [Index; 4] = [
        Index {
            name: index::BY_WORKFLOW,
            partition: s(attr::WORKFLOW_NAME),
            sort: s(attr::STATUS_START_TIME),
        },
        Index {
            name: index::BY_STATUS,
            partition: s(attr::STATUS),
            sort: n(attr::START_TIME),
        },
        Index {
            name: index::BY_TRACKED_STATUS,
            partition: s(attr::TRACKED_STATUS),
            sort: n(attr::START_TIME),
        },
        Index {
            name: index::BY_CORRELATION_ID,
            partition: s(attr::CORRELATION_ID),
            sort: n(attr::START_TIME),
        },
    ];

    /// The attribute whose epoch seconds tell DynamoDB when to delete a row.
    pub const TTL_ATTRIBUTE: &str = attr::EXPIRES_AT;

    /// Every key attribute (table and indexes), each once, in first-use order: the table's
    /// attribute definitions.
    pub fn key_attributes() -> Vec<Key> {
        let mut keys = vec![PARTITION_KEY];
        for index in INDEXES {
            for key in [index.partition, index.sort] {
                if !keys.iter().any(|k| k.attribute == key.attribute) {
                    keys.push(key);
                }
            }
        }
        keys
    }
}

/// The environment variables the starter and tracker functions read.
pub mod env {
    /// The executions table's name.
    pub const EXECUTIONS_TABLE: &str = "OCFLOW_EXECUTIONS_TABLE";
    /// Retention of finished executions, in days.
    pub const EXECUTION_TTL_DAYS: &str = "OCFLOW_EXECUTION_TTL_DAYS";
    /// Minutes a row stays RUNNING before the reconciler checks it.
    pub const RECONCILE_AFTER_MINUTES: &str = "OCFLOW_RECONCILE_AFTER_MINUTES";
    /// Rows checked per reconciler run.
    pub const RECONCILE_BATCH: &str = "OCFLOW_RECONCILE_BATCH";
    /// JSON object from workflow name to `{"arn", "type", "version"}`.
    pub const STATE_MACHINES: &str = "OCFLOW_STATE_MACHINES";
    /// The ARN prefix of the naming convention ([`super::state_machine_name`]).
    pub const STATE_MACHINE_ARN_PREFIX: &str = "OCFLOW_STATE_MACHINE_ARN_PREFIX";
    /// Comma-separated workflows deployed as Express under the naming convention.
    pub const EXPRESS_WORKFLOWS: &str = "OCFLOW_EXPRESS_WORKFLOWS";
    /// The API function: name prefix of the worker queues ([`super::worker_queue_name`] with
    /// an empty task type).
    pub const WORKER_QUEUE_PREFIX: &str = "OCFLOW_WORKER_QUEUE_PREFIX";
    /// The API function: the role state machines registered through the API run with; unset,
    /// registering workflows through the API is refused.
    pub const STATE_MACHINE_ROLE_ARN: &str = "OCFLOW_STATE_MACHINE_ROLE_ARN";
    /// The API function: the HTTP task function's ARN, for machines it registers.
    pub const HTTP_TASK_FUNCTION_ARN: &str = "OCFLOW_HTTP_TASK_FUNCTION_ARN";
    /// The API function: the script task function's ARN, for machines it registers.
    pub const SCRIPT_TASK_FUNCTION_ARN: &str = "OCFLOW_SCRIPT_TASK_FUNCTION_ARN";
    /// The API function: the external-task queue's URL, for machines it registers.
    pub const EXTERNAL_TASK_QUEUE_URL: &str = "OCFLOW_EXTERNAL_TASK_QUEUE_URL";
}

/// The name of the worker queue of a task type (its substitution key suffix, see
/// `ocflow_protocol::placeholders::worker_queue_url`) in the deployment `stack`.
pub fn worker_queue_name(stack: &str, task_type: &str) -> String {
    format!("{stack}-worker-{task_type}")
}

/// The part of a state machine name that stands for `workflow`: characters outside
/// `0-9 A-Z a-z - _` become `_`.
pub fn machine_name_part(workflow: &str) -> String {
    workflow
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The naming convention: workflow `workflow` runs on the machine `<prefix>-<name part>`, where
/// `prefix` is a state machine ARN or name prefix (a deployment uses its stack name).
pub fn state_machine_name(prefix: &str, workflow: &str) -> String {
    format!("{prefix}-{}", machine_name_part(workflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_attributes_list_each_key_once_with_its_type() {
        let keys: Vec<(&str, &str)> = table::key_attributes()
            .iter()
            .map(|k| (k.attribute, k.key_type.code()))
            .collect();
        assert_eq!(
            keys,
            [
                ("workflowId", "S"),
                ("workflowName", "S"),
                ("statusStartTime", "S"),
                ("status", "S"),
                ("startTime", "N"),
                ("trackedStatus", "S"),
                ("correlationId", "S"),
            ]
        );
    }

    #[test]
    fn machine_names_keep_dashes_and_replace_the_rest() {
        assert_eq!(
            state_machine_name("stack", "order.v2-x_y"),
            "stack-order_v2-x_y"
        );
    }
}
