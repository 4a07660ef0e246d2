//! How values map to columns: JSON text with a size limit, statuses, history events.

use ocflow_engine::history::{EventKind, HistoryEvent};
use ocflow_engine::store::ExecutionStatus;
use rusqlite::Row;
use rusqlite::types::Type;
use serde::Serialize;
use serde_json::Value;

use crate::Error;

/// The largest execution input or output, or history event body, the store accepts: 256 KiB
/// of JSON, Step Functions' limit for a state's input or output.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Serialises `value`, refusing more than [`MAX_PAYLOAD_BYTES`]; `what` names it in the error.
pub(crate) fn payload_json(value: &Value, what: impl FnOnce() -> String) -> Result<String, Error> {
    let text = json(value, "payload")?;
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::TooLarge {
            what: what(),
            size: text.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    Ok(text)
}

/// Serialises `value` without a size limit.
pub(crate) fn json(value: &impl Serialize, what: &'static str) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|source| Error::Encode { what, source })
}

/// Reads a JSON text column.
pub(crate) fn json_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| conversion_error(index, e))
}

/// Reads a nullable JSON text column.
pub(crate) fn optional_json_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Value>> {
    match row.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| conversion_error(index, e)),
    }
}

/// Reads a status column (`RUNNING`, `SUCCEEDED`, ...).
pub(crate) fn status_column(row: &Row<'_>, index: usize) -> rusqlite::Result<ExecutionStatus> {
    let text: String = row.get(index)?;
    parse_status(&text).map_err(|e| conversion_error(index, e))
}

/// Parses a status as the engine names it.
pub(crate) fn parse_status(text: &str) -> Result<ExecutionStatus, serde_json::Error> {
    serde_json::from_value(Value::String(text.to_owned()))
}

pub(crate) fn conversion_error(
    index: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
}

/// A history event as its columns: the body is the event kind's JSON (with its `type` tag);
/// the type and state are copied into columns of their own for queries.
#[derive(Debug)]
pub(crate) struct EventRow<'a> {
    pub id: i64,
    pub timestamp: i64,
    pub scope: &'a str,
    pub kind: String,
    pub state: Option<&'a str>,
    pub body: String,
}

impl<'a> EventRow<'a> {
    /// Splits `event` into columns, refusing a body over [`MAX_PAYLOAD_BYTES`].
    pub(crate) fn encode(execution_id: &str, event: &'a HistoryEvent) -> Result<Self, Error> {
        let id = i64::try_from(event.id).map_err(|_| Error::EventIdOutOfRange(event.id))?;
        let body = json(&event.kind, "history event")?;
        if body.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::TooLarge {
                what: format!("history event {} of execution '{execution_id}'", event.id),
                size: body.len(),
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        let kind = kind_tag(&body)?;
        Ok(EventRow {
            id,
            timestamp: event.timestamp,
            scope: &event.scope,
            kind,
            state: event.kind.state(),
            body,
        })
    }
}

/// The `type` tag of a serialised event kind. Serde writes an internally tagged enum's tag
/// first, so it is read from the front; anything else falls back to a parse.
fn kind_tag(body: &str) -> Result<String, Error> {
    #[derive(serde::Deserialize)]
    struct Tagged {
        r#type: String,
    }
    let front = body
        .strip_prefix("{\"type\":\"")
        .and_then(|rest| rest.split_once('"'))
        .map(|(tag, _)| tag)
        .filter(|tag| !tag.contains('\\'));
    match front {
        Some(tag) => Ok(tag.to_owned()),
        None => serde_json::from_str::<Tagged>(body)
            .map(|tagged| tagged.r#type)
            .map_err(|source| Error::Encode {
                what: "history event",
                source,
            }),
    }
}

/// Reads an event from the columns `id, timestamp, scope, body`.
pub(crate) fn event_from_row(row: &Row<'_>) -> rusqlite::Result<HistoryEvent> {
    let id: i64 = row.get(0)?;
    let body: String = row.get(3)?;
    let kind: EventKind = serde_json::from_str(&body).map_err(|e| conversion_error(3, e))?;
    Ok(HistoryEvent {
        id: u64::try_from(id).map_err(|e| conversion_error(0, e))?,
        timestamp: row.get(1)?,
        scope: row.get(2)?,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn round_trip(kind: EventKind) {
        let event = HistoryEvent {
            id: 4,
            timestamp: 1_700_000_000_000,
            scope: "Fork/1".into(),
            kind,
        };
        let row = EventRow::encode("x", &event).unwrap();
        assert_eq!(Some(row.kind.as_str()), value_type(&event.kind).as_deref());
        assert_eq!(row.state, event.kind.state());
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let back = conn
            .query_row(
                "SELECT ?1, ?2, ?3, ?4",
                rusqlite::params![row.id, row.timestamp, row.scope, row.body],
                event_from_row,
            )
            .unwrap();
        assert_eq!(back, event);
    }

    fn value_type(kind: &EventKind) -> Option<String> {
        let value = serde_json::to_value(kind).unwrap();
        value["type"].as_str().map(str::to_owned)
    }

    #[test]
    fn a_tag_not_in_front_is_found_by_parsing() {
        assert_eq!(
            kind_tag(r#"{"state":"a","type":"TimerFired"}"#).unwrap(),
            "TimerFired"
        );
        assert!(kind_tag(r#"{"state":"a"}"#).is_err());
    }

    #[test]
    fn events_with_and_without_a_state_round_trip() {
        round_trip(EventKind::ExecutionTimedOut);
        round_trip(EventKind::ExecutionStarted {
            input: json!({"b": 1, "a": [0.1, 1e300, -0.0, "x"]}),
        });
        let mut assigned = Map::new();
        assigned.insert("z".into(), json!(1));
        assigned.insert("a".into(), json!({"y": null, "b": 2.5}));
        round_trip(EventKind::StateExited {
            state: "Charge card".into(),
            output: json!({"state": "not the column"}),
            assigned,
        });
        round_trip(EventKind::RetryScheduled {
            state: "s".into(),
            attempt: 2,
            delay_ms: 4_000,
        });
    }

    #[test]
    fn floats_survive_storage_bit_for_bit() {
        // A fixed-seed generator over all bit patterns of finite doubles.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let floats = std::iter::from_fn(|| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            Some(f64::from_bits(seed))
        })
        .filter(|f| f.is_finite())
        .take(20_000);
        for float in floats.chain([0.1 + 0.2, 5e-324, f64::MAX, 2.2250738585072014e-308]) {
            let value = json!(float);
            let text = payload_json(&value, String::new).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                back.as_f64().map(f64::to_bits),
                Some(float.to_bits()),
                "{text}"
            );
        }
    }

    #[test]
    fn a_body_over_the_limit_is_refused_with_its_size() {
        let event = HistoryEvent {
            id: 9,
            timestamp: 0,
            scope: String::new(),
            kind: EventKind::TaskSucceeded {
                state: "fetch".into(),
                result: json!("x".repeat(MAX_PAYLOAD_BYTES)),
            },
        };
        let error = EventRow::encode("order-1", &event).unwrap_err();
        assert!(
            matches!(&error, Error::TooLarge { size, limit, .. } if *size > *limit && *limit == MAX_PAYLOAD_BYTES),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .starts_with("history event 9 of execution 'order-1' is 262"),
            "{error}"
        );
    }

    #[test]
    fn every_status_parses_from_its_name() {
        for status in [
            ExecutionStatus::Running,
            ExecutionStatus::Succeeded,
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Aborted,
        ] {
            assert_eq!(parse_status(status.as_str()).unwrap(), status);
        }
        assert!(parse_status("DONE").is_err());
    }
}
