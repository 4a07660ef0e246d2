//! Step Functions execution history (`GetExecutionHistory`) read as the local engine's
//! [`HistoryEvent`]s, so that `ocflow_engine::conductor::workflow` builds the same Conductor
//! record from an AWS execution as from a local one.
//!
//! Step Functions' history is flat: Map iterations are told apart by following each event's
//! `previousEventId` back to its `MapIterationStarted` (scope `<Map>/<index>`, as the engine
//! writes it). Parallel branches keep the top scope: state names are unique in a machine, so
//! the (scope, state) pairs the Conductor view keys on do not collide. Task resources come back
//! as `arn:aws:states:::<resourceType>:<resource>`; the attempt of a `TaskScheduled` is how many
//! times the state was scheduled since it was entered. Task tokens are not shown.

use std::collections::HashMap;

use aws_sdk_sfn::types::{HistoryEvent as SfnEvent, HistoryEventType};
use ocflow_engine::history::{EventKind, HistoryEvent};
use serde_json::{Map, Value};

fn millis(event: &SfnEvent) -> i64 {
    event.timestamp.to_millis().unwrap_or_default()
}

/// JSON text as a value; text that is not JSON stays a string, absent text is null.
fn json(text: Option<&str>) -> Value {
    match text {
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())),
        None => Value::Null,
    }
}

fn resource(resource_type: &str, resource: &str) -> String {
    format!("arn:aws:states:::{resource_type}:{resource}")
}

/// The event, if the Conductor view needs it, without its scope.
fn kind(event: &SfnEvent, state_of_task: Option<&str>) -> Option<EventKind> {
    let state = || state_of_task.unwrap_or_default().to_owned();
    if let Some(d) = &event.state_entered_event_details {
        return Some(EventKind::StateEntered {
            state: d.name.clone(),
            input: json(d.input.as_deref()),
        });
    }
    if let Some(d) = &event.state_exited_event_details {
        let assigned: Map<String, Value> = d
            .assigned_variables
            .iter()
            .flatten()
            .map(|(name, value)| (name.clone(), json(Some(value))))
            .collect();
        return Some(EventKind::StateExited {
            state: d.name.clone(),
            output: json(d.output.as_deref()),
            assigned,
        });
    }
    if let Some(d) = &event.task_scheduled_event_details {
        return Some(EventKind::TaskScheduled {
            state: state(),
            resource: resource(&d.resource_type, &d.resource),
            arguments: json(Some(&d.parameters)),
            attempt: 0,
        });
    }
    if let Some(d) = &event.task_succeeded_event_details {
        return Some(EventKind::TaskSucceeded {
            state: state(),
            result: json(d.output.as_deref()),
        });
    }
    let failure = |error: &Option<String>, cause: &Option<String>, default: &str| {
        Some(EventKind::TaskFailed {
            state: state(),
            error: error.clone().unwrap_or_else(|| default.to_owned()),
            cause: cause.clone().unwrap_or_default(),
        })
    };
    if let Some(d) = &event.task_failed_event_details {
        return failure(&d.error, &d.cause, "States.TaskFailed");
    }
    if let Some(d) = &event.task_timed_out_event_details {
        return failure(&d.error, &d.cause, "States.Timeout");
    }
    if let Some(d) = &event.map_iteration_started_event_details {
        return Some(EventKind::MapIterationStarted {
            state: d.name.clone().unwrap_or_default(),
            index: usize::try_from(d.index).unwrap_or_default(),
        });
    }
    None
}

/// Converts a whole history, oldest event first.
pub fn engine_history(events: &[SfnEvent]) -> Vec<HistoryEvent> {
    // Event id → the scope the events it causes run in.
    let mut inherited: HashMap<i64, String> = HashMap::new();
    // Scope → the state entered last there (task events do not name their state).
    let mut current: HashMap<String, String> = HashMap::new();
    // (scope, state) → times scheduled since entered.
    let mut scheduled: HashMap<(String, String), u32> = HashMap::new();
    let mut out = Vec::new();
    for event in events {
        let scope = inherited
            .get(&event.previous_event_id)
            .cloned()
            .unwrap_or_default();
        let passes_on = match &event.r#type {
            HistoryEventType::MapIterationStarted => {
                let d = event.map_iteration_started_event_details.as_ref();
                let name = d.and_then(|d| d.name.clone()).unwrap_or_default();
                let index = d.map_or(0, |d| d.index);
                let inner = format!("{name}/{index}");
                if scope.is_empty() {
                    inner
                } else {
                    format!("{scope}/{inner}")
                }
            }
            HistoryEventType::MapIterationSucceeded
            | HistoryEventType::MapIterationFailed
            | HistoryEventType::MapIterationAborted => {
                // Back to the Map state's scope: drop `<Map>/<index>`.
                let mut parts: Vec<&str> = scope.split('/').collect();
                parts.truncate(parts.len().saturating_sub(2));
                parts.join("/")
            }
            _ => scope.clone(),
        };
        inherited.insert(event.id, passes_on);
        let Some(mut kind) = kind(event, current.get(&scope).map(String::as_str)) else {
            continue;
        };
        match &mut kind {
            EventKind::StateEntered { state, .. } => {
                current.insert(scope.clone(), state.clone());
                scheduled.insert((scope.clone(), state.clone()), 0);
            }
            EventKind::TaskScheduled { state, attempt, .. } => {
                let count = scheduled.entry((scope.clone(), state.clone())).or_default();
                *attempt = *count;
                *count += 1;
            }
            _ => {}
        }
        out.push(HistoryEvent {
            id: u64::try_from(event.id).unwrap_or_default(),
            timestamp: millis(event),
            scope,
            kind,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{
        MapIterationEventDetails, StateEnteredEventDetails, StateExitedEventDetails,
        TaskFailedEventDetails, TaskScheduledEventDetails, TaskSucceededEventDetails,
    };
    use serde_json::json;

    fn event(
        id: i64,
        previous: i64,
        kind: HistoryEventType,
    ) -> aws_sdk_sfn::types::builders::HistoryEventBuilder {
        SfnEvent::builder()
            .id(id)
            .previous_event_id(previous)
            .timestamp(DateTime::from_millis(1_000 + id))
            .r#type(kind)
    }

    fn entered(id: i64, previous: i64, state: &str) -> SfnEvent {
        event(id, previous, HistoryEventType::TaskStateEntered)
            .state_entered_event_details(
                StateEnteredEventDetails::builder()
                    .name(state)
                    .input("{\"a\":1}")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    fn scheduled(id: i64, previous: i64) -> SfnEvent {
        event(id, previous, HistoryEventType::TaskScheduled)
            .task_scheduled_event_details(
                TaskScheduledEventDetails::builder()
                    .resource_type("sqs")
                    .resource("sendMessage.waitForTaskToken")
                    .region("us-east-1")
                    .parameters("{\"MessageBody\":{\"inputData\":{\"file\":\"a\"}}}")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn tasks_keep_their_state_attempts_and_map_scopes() {
        let events = vec![
            entered(2, 1, "encode"),
            scheduled(3, 2),
            event(4, 3, HistoryEventType::TaskFailed)
                .task_failed_event_details(
                    TaskFailedEventDetails::builder()
                        .resource_type("sqs")
                        .resource("sendMessage.waitForTaskToken")
                        .error("Worker.Failed")
                        .cause("disk full")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
            scheduled(5, 4),
            event(6, 5, HistoryEventType::TaskSucceeded)
                .task_succeeded_event_details(
                    TaskSucceededEventDetails::builder()
                        .resource_type("sqs")
                        .resource("sendMessage.waitForTaskToken")
                        .output("{\"size\":3}")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
            event(7, 6, HistoryEventType::TaskStateExited)
                .state_exited_event_details(
                    StateExitedEventDetails::builder()
                        .name("encode")
                        .output("{\"size\":3}")
                        .assigned_variables("t_encode", "{\"output\":{\"size\":3}}")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
            event(8, 7, HistoryEventType::MapIterationStarted)
                .map_iteration_started_event_details(
                    MapIterationEventDetails::builder()
                        .name("Lines")
                        .index(2)
                        .build(),
                )
                .build()
                .unwrap(),
            entered(9, 8, "line"),
            event(10, 9, HistoryEventType::MapIterationSucceeded)
                .map_iteration_succeeded_event_details(
                    MapIterationEventDetails::builder()
                        .name("Lines")
                        .index(2)
                        .build(),
                )
                .build()
                .unwrap(),
            entered(11, 10, "after"),
        ];
        let history = engine_history(&events);
        let kinds: Vec<(&str, &EventKind)> = history
            .iter()
            .map(|e| (e.scope.as_str(), &e.kind))
            .collect();
        assert_eq!(
            kinds[1].1,
            &EventKind::TaskScheduled {
                state: "encode".into(),
                resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken".into(),
                arguments: json!({"MessageBody": {"inputData": {"file": "a"}}}),
                attempt: 0,
            }
        );
        assert!(
            matches!(kinds[2].1, EventKind::TaskFailed { state, error, .. } if state == "encode" && error == "Worker.Failed")
        );
        assert!(matches!(
            kinds[3].1,
            EventKind::TaskScheduled { attempt: 1, .. }
        ));
        assert!(
            matches!(kinds[4].1, EventKind::TaskSucceeded { result, .. } if result == &json!({"size": 3}))
        );
        assert!(
            matches!(kinds[5].1, EventKind::StateExited { assigned, .. } if assigned["t_encode"] == json!({"output": {"size": 3}}))
        );
        assert_eq!(kinds[6].0, "", "the iteration starts in the Map's scope");
        assert_eq!(
            kinds[7],
            (
                "Lines/2",
                &EventKind::StateEntered {
                    state: "line".into(),
                    input: json!({"a": 1})
                }
            )
        );
        assert_eq!(kinds[8].0, "", "after the iteration, the Map's scope again");
        assert_eq!(history[0].timestamp, 1_002);
    }
}
