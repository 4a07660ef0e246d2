//! The Conductor HTTP task input.

use std::time::Duration;

use indexmap::IndexMap;
use ocflow_protocol::errors;
use serde_json::Value;

use crate::{TaskFailure, failure};

/// An HTTP call as a Conductor HTTP task describes it, either under `http_request` or as flat
/// input keys.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// `uri`: an absolute `http(s)://` URL or `ocf://<service>/<path>`.
    pub uri: String,
    /// `method`, upper-cased; `GET` when absent.
    pub method: reqwest::Method,
    /// `headers`; non-string values are sent as their JSON text.
    pub headers: IndexMap<String, String>,
    /// `body`: a string is sent as is, anything else as JSON.
    pub body: Option<Value>,
    /// `accept`; `application/json` when absent.
    pub accept: String,
    /// `contentType`; `application/json` when absent.
    pub content_type: String,
    /// `connectionTimeOut` in milliseconds.
    pub connect_timeout: Option<Duration>,
    /// `readTimeOut` in milliseconds.
    pub read_timeout: Option<Duration>,
}

impl HttpRequest {
    /// Reads the task input; fails with `Ocf.BadInput` when it cannot be understood.
    pub fn from_input(input: &Value) -> Result<Self, TaskFailure> {
        let bad = |message: String| failure(errors::BAD_INPUT, message);
        let fields = match input.get("http_request") {
            Some(Value::Object(fields)) => fields,
            Some(_) => return Err(bad("http_request must be an object".into())),
            None => input
                .as_object()
                .ok_or_else(|| bad("the HTTP task input must be an object".into()))?,
        };
        let text = |key: &str| -> Result<Option<String>, TaskFailure> {
            match fields.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(bad(format!("{key} must be a string, not {other}"))),
            }
        };
        let millis = |key: &str| -> Result<Option<Duration>, TaskFailure> {
            let ms = match fields.get(key) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                Some(_) => None,
            };
            ms.map(|ms| Some(Duration::from_millis(ms)))
                .ok_or_else(|| bad(format!("{key} must be a whole number of milliseconds")))
        };

        let uri = text("uri")?.ok_or_else(|| bad("the HTTP task input has no uri".into()))?;
        let method = match text("method")? {
            None => reqwest::Method::GET,
            Some(method) => {
                let upper = method.to_ascii_uppercase();
                match upper.as_str() {
                    "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "TRACE" => {
                        reqwest::Method::from_bytes(upper.as_bytes())
                            .map_err(|_| bad(format!("unknown HTTP method {method}")))?
                    }
                    _ => return Err(bad(format!("unknown HTTP method {method}"))),
                }
            }
        };
        let headers = match fields.get("headers") {
            None | Some(Value::Null) => IndexMap::new(),
            Some(Value::Object(headers)) => headers
                .iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(name, value)| {
                    let value = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (name.clone(), value)
                })
                .collect(),
            Some(_) => return Err(bad("headers must be an object".into())),
        };
        Ok(Self {
            uri,
            method,
            headers,
            body: fields.get("body").filter(|body| !body.is_null()).cloned(),
            accept: text("accept")?.unwrap_or_else(|| "application/json".into()),
            content_type: text("contentType")?.unwrap_or_else(|| "application/json".into()),
            connect_timeout: millis("connectionTimeOut")?,
            read_timeout: millis("readTimeOut")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_nested_and_flat_inputs_alike() {
        let nested = HttpRequest::from_input(&json!({"http_request": {
            "uri": "https://a.test/x", "method": "post", "headers": {"x-n": 1, "x-s": "s"},
            "body": {"k": 1}, "connectionTimeOut": 250, "readTimeOut": "900"
        }}))
        .unwrap();
        assert_eq!(nested.method, reqwest::Method::POST);
        assert_eq!(nested.headers["x-n"], "1");
        assert_eq!(nested.connect_timeout, Some(Duration::from_millis(250)));
        assert_eq!(nested.read_timeout, Some(Duration::from_millis(900)));
        assert_eq!(nested.accept, "application/json");
        let flat = HttpRequest::from_input(&json!({"uri": "https://a.test/x"})).unwrap();
        assert_eq!(flat.method, reqwest::Method::GET);
        assert_eq!(flat.body, None);
    }

    #[test]
    fn bad_inputs_fail_with_bad_input() {
        for input in [
            json!({}),
            json!({"uri": 5}),
            json!({"uri": "http://a", "method": "FETCH"}),
            json!({"uri": "http://a", "readTimeOut": "soon"}),
            json!({"uri": "http://a", "headers": ["x"]}),
            json!({"http_request": "http://a"}),
            json!("http://a"),
        ] {
            let error = HttpRequest::from_input(&input).unwrap_err();
            assert_eq!(error.error, errors::BAD_INPUT, "{input}");
        }
    }
}
