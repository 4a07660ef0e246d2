//! A small block-style YAML writer for JSON values.
//!
//! CloudFormation, SAM CLI and cfn-lint read YAML 1.1, where `OFF`, `yes` or `2012-10-17` are
//! not strings; YAML 1.2 serialisers leave those unquoted. This writer leaves a string plain
//! only when it is unambiguous under both (letters first, then `A-Z a-z 0-9 _ . / : -`, not a
//! 1.1 boolean or null) and writes every other string as a JSON string, which is a valid YAML
//! double-quoted scalar.

use std::fmt::Write;

use serde_json::{Map, Value};

/// `value` as a YAML document.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_seq(items, 0, &mut out),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(map: &Map<String, Value>, indent: usize, out: &mut String) {
    // The first key of a map inside a sequence item follows the `- ` already written.
    for (index, (key, value)) in map.iter().enumerate() {
        if index > 0 || !out.ends_with("- ") {
            pad(indent, out);
        }
        out.push_str(&string(key));
        out.push(':');
        write_child(value, indent, out);
    }
}

fn write_seq(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        pad(indent, out);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push(' ');
                write_map(map, indent + 2, out);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(inner, indent + 2, out);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// Writes what follows `key:`: a scalar on the same line, a collection on the next lines.
fn write_child(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(map, indent + 2, out);
        }
        // Sequences under a key sit at the key's indentation, as most CloudFormation YAML does.
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(items, indent, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn pad(indent: usize, out: &mut String) {
    let _ = write!(out, "{:indent$}", "");
}

fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

fn string(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_owned()
    } else {
        Value::String(text.to_owned()).to_string()
    }
}

fn is_plain_safe(text: &str) -> bool {
    const RESERVED: [&str; 13] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "infinity", "~",
    ];
    let mut chars = text.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
    starts_well
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | ':' | '-'))
        && !text.ends_with(':')
        && !RESERVED.contains(&text.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted_and_the_rest_is_plain() {
        let value = json!({
            "Version": "2012-10-17",
            "Levels": ["ALL", "OFF", "on", "Yes", "n"],
            "Numbers": ["30", 30, 1.5, true, null],
            "Sub": "${AWS::StackName}-worker",
            "Fn::GetAtt": ["Queue", "Arn"],
            "Text": "two words: \"quoted\"\nand a line",
            "Empty": {"map": {}, "list": []},
        });
        let text = to_string(&value);
        assert_eq!(
            text,
            r#"Version: "2012-10-17"
Levels:
- ALL
- "OFF"
- "on"
- "Yes"
- "n"
Numbers:
- "30"
- 30
- 1.5
- true
- null
Sub: "${AWS::StackName}-worker"
Fn::GetAtt:
- Queue
- Arn
Text: "two words: \"quoted\"\nand a line"
Empty:
  map: {}
  list: []
"#
        );
    }

    #[test]
    fn nested_sequences_and_maps_in_sequences_read_back_the_same() {
        let value = json!({
            "Statement": [
                {"Effect": "Allow", "Action": ["a:B"], "Resource": [{"Fn::Sub": ["x${Y}", {"Y": {"Ref": "Z"}}]}]},
                [["deep"], {"k": "v"}],
            ],
            "Key with space": {"-dash": "#hash", "colon:": ": x"},
        });
        let text = to_string(&value);
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
    }
}
