//! CloudFormation logical ids and the physical names the stack gives its resources.

use std::collections::BTreeMap;

use crate::error::Error;

/// `send_email` → `SendEmail`: logical ids allow only `A-Z a-z 0-9`.
pub fn pascal(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// Logical ids handed out so far, with the name each was made from, so that two names that
/// differ only in punctuation (`a_b`, `ab`) are refused instead of overwriting each other.
#[derive(Debug, Default)]
pub struct LogicalIds {
    taken: BTreeMap<String, String>,
}

impl LogicalIds {
    /// Claims `prefix + pascal(name) + suffix` for `name`.
    pub fn claim(&mut self, prefix: &str, name: &str, suffix: &str) -> Result<String, Error> {
        let id = format!("{prefix}{}{suffix}", pascal(name));
        match self.taken.get(&id) {
            Some(first) if first != name => Err(Error::LogicalIdClash {
                first: first.clone(),
                second: name.to_owned(),
                logical_id: id,
            }),
            _ => {
                self.taken.insert(id.clone(), name.to_owned());
                Ok(id)
            }
        }
    }
}

/// The `Fn::Sub` text of a state machine's name: `<stack>-<name part>`, the naming convention
/// of `ocflow_control::deployment::state_machine_name` with the stack name as prefix. Machines
/// have predictable names so that ARNs can be written without `Ref` (no dependency cycles
/// between workflows that start each other) and so the starter and tracker find them from
/// the prefix.
pub fn state_machine_name(name_part: &str) -> String {
    ocflow_control::deployment::state_machine_name("${AWS::StackName}", name_part)
}

/// The `Fn::Sub` text of the ARN prefix every state machine of the stack shares.
pub const STATE_MACHINE_ARN_PREFIX: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-";

/// The `Fn::Sub` text of a worker queue's name: `<stack>-worker-<sanitised task type>`.
pub fn worker_queue_name(task_type: &str) -> String {
    format!("${{AWS::StackName}}-worker-{task_type}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case_drops_punctuation() {
        assert_eq!(pascal("send_email"), "SendEmail");
        assert_eq!(pascal("order_fulfillment_v2"), "OrderFulfillmentV2");
        assert_eq!(pascal("__x"), "X");
    }

    #[test]
    fn clashing_names_are_refused() {
        let mut ids = LogicalIds::default();
        assert_eq!(
            ids.claim("WorkerQueue", "a_b", "").unwrap(),
            "WorkerQueueAB"
        );
        assert_eq!(
            ids.claim("WorkerQueue", "a_b", "").unwrap(),
            "WorkerQueueAB"
        );
        let err = ids.claim("WorkerQueue", "A_b", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`a_b` and `A_b` both become CloudFormation resource `WorkerQueueAB`"
        );
    }
}
