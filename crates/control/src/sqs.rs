//! The SQS event a Lambda receives and the partial-batch answer it returns
//! (`ReportBatchItemFailures`). Only the fields ocflow reads are modelled.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// An SQS event: a batch of messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SqsEvent {
    /// The messages, in delivery order.
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

/// One SQS message of an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsMessage {
    /// The message id: stable across redeliveries of the same message.
    pub message_id: String,
    /// The message body.
    #[serde(default)]
    pub body: String,
    /// System attributes (`ApproximateReceiveCount`, `SentTimestamp`, ...).
    #[serde(default)]
    pub attributes: HashMap<String, String>,
}

/// The answer to an SQS event under `ReportBatchItemFailures`: the messages to deliver again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// The failed messages; the others are deleted from the queue.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One failed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The failed message's id.
    pub item_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shapes_match_lambda() {
        let event: SqsEvent = serde_json::from_value(json!({"Records": [{
            "messageId": "m1", "receiptHandle": "r", "body": "{}",
            "attributes": {"ApproximateReceiveCount": "2"}, "eventSource": "aws:sqs"
        }]}))
        .unwrap();
        assert_eq!(event.records[0].message_id, "m1");
        assert_eq!(event.records[0].attributes["ApproximateReceiveCount"], "2");
        let response = BatchResponse {
            batch_item_failures: vec![BatchItemFailure {
                item_identifier: "m1".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
        );
    }
}
