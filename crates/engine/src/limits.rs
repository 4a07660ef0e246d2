//! Step Functions' payload quota: 256 KiB per state input, output, result and variable value.

use std::io;

use serde_json::Value;

use crate::error::{Failure, names};

/// The largest state input/output or variable value Step Functions accepts, in bytes of JSON.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The size of `value` as compact JSON, without building the text.
pub fn json_size(value: &Value) -> usize {
    let mut counter = Counter(0);
    // Writing a Value to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// The size of anything serialisable as compact JSON, without building the text.
pub(crate) fn encoded_size(value: &impl serde::Serialize) -> usize {
    let mut counter = Counter(0);
    // A sink that never fails; a value that cannot be serialised counts what was written.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Refuses `value` with `States.DataLimitExceeded` when it is above the quota; `what` says what
/// it is (`the output of state 'X'`).
pub(crate) fn check(value: &Value, what: impl FnOnce() -> String) -> Result<(), Failure> {
    // Small scalars cannot be large; skip the walk.
    if matches!(value, Value::Null | Value::Bool(_) | Value::Number(_)) {
        return Ok(());
    }
    let size = json_size(value);
    if size > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(
            names::DATA_LIMIT_EXCEEDED,
            format!(
                "{} is {size} bytes, above Step Functions' limit of {MAX_PAYLOAD_BYTES}",
                what()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn size_is_that_of_compact_json() {
        let value = json!({"a": [1, "xy"]});
        assert_eq!(json_size(&value), value.to_string().len());
        let big = Value::String("x".repeat(MAX_PAYLOAD_BYTES));
        let err = check(&big, || "the input".into()).unwrap_err();
        assert_eq!(err.error, names::DATA_LIMIT_EXCEEDED);
        assert!(
            err.cause.starts_with("the input is 262146 bytes"),
            "{}",
            err.cause
        );
        assert!(check(&json!("small"), || unreachable!()).is_ok());
    }
}
