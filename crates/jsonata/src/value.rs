//! Conversion between `serde_json::Value` and jsonata-core's `JValue`.
//!
//! JSONata numbers are IEEE doubles, as in JavaScript; on the way out, a whole number is written as
//! an integer (`3`, not `3.0`), which is how JavaScript, and so Step Functions, prints it.

use indexmap::IndexMap;
use jsonata_core::value::{JArray, JValue};
use serde_json::{Map, Number, Value};

/// Converts a JSON value into the evaluator's representation.
pub(crate) fn to_jvalue(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JValue::string(s.as_str()),
        Value::Array(items) => {
            let flat = !items.iter().any(Value::is_array);
            JValue::Array(JArray::new_flat(
                items.iter().map(to_jvalue).collect(),
                flat,
            ))
        }
        Value::Object(map) => {
            let fields: IndexMap<String, JValue> =
                map.iter().map(|(k, v)| (k.clone(), to_jvalue(v))).collect();
            JValue::object(fields)
        }
    }
}

/// Converts an evaluation result back to JSON; `None` is JSONata's undefined.
///
/// Undefined items of arrays and undefined fields of objects are left out, as JSONata does.
/// Functions, regular expressions and non-finite numbers have no JSON form: the error names
/// which one was found.
pub(crate) fn from_jvalue(value: &JValue) -> Result<Option<Value>, &'static str> {
    Ok(Some(match value {
        JValue::Undefined => return Ok(None),
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => Value::Number(number(*n)?),
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                if let Some(v) = from_jvalue(item)? {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        JValue::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, item) in fields.iter() {
                if let Some(v) = from_jvalue(item)? {
                    out.insert(key.clone(), v);
                }
            }
            Value::Object(out)
        }
        JValue::Regex { .. } => return Err("regex"),
        _ => return Err("function"),
    }))
}

/// The JSON number JavaScript would print for `n`: whole numbers as integers.
fn number(n: f64) -> Result<Number, &'static str> {
    // Every whole double below 2^63 in magnitude converts to i64 exactly.
    const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;
    if n.fract() == 0.0 && n.abs() < I64_BOUND {
        #[allow(clippy::cast_possible_truncation)] // whole and in range, checked above
        return Ok(Number::from(n as i64));
    }
    Number::from_f64(n).ok_or("non-finite number")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: Value) -> Value {
        from_jvalue(&to_jvalue(&value))
            .expect("plain JSON converts back")
            .expect("defined")
    }

    #[test]
    fn whole_numbers_come_back_as_integers() {
        assert_eq!(round_trip(json!(3.0)).to_string(), "3");
        assert_eq!(round_trip(json!(-0.0)).to_string(), "0");
        assert_eq!(round_trip(json!(1.5)).to_string(), "1.5");
        // As JavaScript prints it too.
        assert_eq!(round_trip(json!(1e300)).to_string(), "1e+300");
    }

    #[test]
    fn documents_keep_their_shape_and_key_order() {
        let doc = json!({"z": [1, {"b": null, "a": true}], "a": "x"});
        assert_eq!(round_trip(doc.clone()), doc);
        assert_eq!(
            serde_json::to_string(&round_trip(doc)).expect("serialises"),
            r#"{"z":[1,{"b":null,"a":true}],"a":"x"}"#
        );
    }

    #[test]
    fn undefined_parts_are_left_out() {
        let mut fields = IndexMap::new();
        fields.insert("gone".to_owned(), JValue::Undefined);
        fields.insert("kept".to_owned(), JValue::Null);
        let value = JValue::array(vec![JValue::Undefined, JValue::object(fields)]);
        assert_eq!(from_jvalue(&value), Ok(Some(json!([{"kept": null}]))));
        assert_eq!(from_jvalue(&JValue::Undefined), Ok(None));
    }

    #[test]
    fn non_json_values_are_named() {
        assert_eq!(
            from_jvalue(&JValue::Number(f64::INFINITY)),
            Err("non-finite number")
        );
        assert_eq!(from_jvalue(&JValue::regex("a", "")), Err("regex"));
        assert_eq!(from_jvalue(&JValue::builtin("sum")), Err("function"));
    }
}
