//! The HTTP task, as Conductor defines it, plus `ocf://` service URIs.
//!
//! [`handle`] takes the Conductor HTTP task input and returns
//! `{"response": {"headers", "reasonPhrase", "body", "statusCode"}}`. `headers` maps each
//! lower-case header name to the list of its values; `body` is the parsed JSON when the response
//! is JSON (or has no content type and parses as JSON), its text otherwise, and null when empty.
//!
//! Failures carry a name of [`ocflow_protocol::errors`]:
//!
//! | outcome | error | cause |
//! |---|---|---|
//! | 4xx (but 408, 429), other non-2xx | `Ocf.Http4xx` | `{"statusCode", "reasonPhrase", "body"}` as JSON text |
//! | 5xx, 408, 429 | `Ocf.Http5xx` | the same |
//! | connect or read timeout | `Ocf.Timeout` | the error text |
//! | refused connection, DNS failure, TLS | `Ocf.Connect` | the error text |
//! | host outside the registry/allowlist, or a link-local/metadata address (strict policy) | `Ocf.HostRefused` | why |
//! | unusable input, unknown `ocf://` service | `Ocf.BadInput` | what is wrong |
//! | a credential the registry names is missing | `Ocf.Config` | which |
//!
//! Timeouts come from the task (`connectionTimeOut`, `readTimeOut`), else the service's registry
//! entry, else the context's defaults, which are Conductor's (100 ms connect, 150 ms read).

mod request;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocflow_protocol::errors;
use serde_json::{Map, Value, json};

pub use request::HttpRequest;

use crate::net::{AddressRefused, CheckedResolver, HostPolicy, HostResolver, SystemResolver};
use crate::registry::{EnvSource, NoSecrets, ProcessEnv, Registry, SecretSource};
use crate::{TaskFailure, failure};

/// Step Functions keeps at most this many characters of an error cause.
const MAX_CAUSE_CHARS: usize = 32_768;

/// Everything the HTTP handler needs besides the task input: registry, host policy, resolver,
/// credential sources, default timeouts and the pooled clients.
pub struct HttpContext {
    registry: Arc<Registry>,
    policy: HostPolicy,
    resolver: Arc<dyn HostResolver>,
    env: Arc<dyn EnvSource>,
    secrets: Arc<dyn SecretSource>,
    default_connect_timeout: Duration,
    default_read_timeout: Duration,
    clients: Mutex<HashMap<(Duration, Duration), reqwest::Client>>,
}

/// Builds an [`HttpContext`]; every setting has a local-friendly default.
pub struct HttpContextBuilder {
    registry: Registry,
    policy: HostPolicy,
    resolver: Arc<dyn HostResolver>,
    env: Arc<dyn EnvSource>,
    secrets: Arc<dyn SecretSource>,
    connect_timeout: Duration,
    read_timeout: Duration,
}

impl Default for HttpContextBuilder {
    fn default() -> Self {
        Self {
            registry: Registry::default(),
            policy: HostPolicy::PERMISSIVE,
            resolver: Arc::new(SystemResolver),
            env: Arc::new(ProcessEnv),
            secrets: Arc::new(NoSecrets),
            connect_timeout: Duration::from_millis(100),
            read_timeout: Duration::from_millis(150),
        }
    }
}

impl HttpContextBuilder {
    /// The service registry (default: empty).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// The host policy (default: [`HostPolicy::PERMISSIVE`]).
    pub fn policy(mut self, policy: HostPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Shorthand for a strict or permissive policy that keeps loopback reachable.
    pub fn strict_hosts(mut self, strict: bool) -> Self {
        self.policy.strict_hosts = strict;
        self
    }

    /// The name resolver (default: the system's).
    pub fn resolver(mut self, resolver: Arc<dyn HostResolver>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Where `...FromEnv` credentials are read (default: the process environment).
    pub fn env(mut self, env: Arc<dyn EnvSource>) -> Self {
        self.env = env;
        self
    }

    /// Where `...FromSecret` credentials are fetched (default: [`NoSecrets`]).
    pub fn secrets(mut self, secrets: Arc<dyn SecretSource>) -> Self {
        self.secrets = secrets;
        self
    }

    /// Timeouts used when neither the task nor the service sets them.
    pub fn default_timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.connect_timeout = connect;
        self.read_timeout = read;
        self
    }

    /// Builds the context, installing the ring TLS provider if no provider is installed yet.
    pub fn build(self) -> HttpContext {
        install_tls_provider();
        HttpContext {
            registry: Arc::new(self.registry),
            policy: self.policy,
            resolver: self.resolver,
            env: self.env,
            secrets: self.secrets,
            default_connect_timeout: self.connect_timeout,
            default_read_timeout: self.read_timeout,
            clients: Mutex::new(HashMap::new()),
        }
    }
}

/// Makes rustls' ring provider the process default, unless one is installed already. Anything
/// that builds a reqwest client in this workspace calls this first.
pub fn install_tls_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HttpContext {
    /// A builder with local defaults: empty registry, permissive hosts, system DNS.
    pub fn builder() -> HttpContextBuilder {
        HttpContextBuilder::default()
    }

    /// The registry this context resolves `ocf://` URIs with.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn client(&self, connect: Duration, read: Duration) -> Result<reqwest::Client, TaskFailure> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(&(connect, read)) {
            return Ok(client.clone());
        }
        let registry = Arc::clone(&self.registry);
        let policy = self.policy;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                return attempt.error("too many redirects");
            }
            match check_url(&registry, policy, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(connect)
            .read_timeout(read)
            .redirect(redirects)
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                inner: Arc::clone(&self.resolver),
                policy: self.policy,
            }))
            .build()
            .map_err(|e| {
                failure(
                    errors::CONNECT,
                    format!("cannot build the HTTP client: {e}"),
                )
            })?;
        clients.insert((connect, read), client.clone());
        Ok(client)
    }
}

/// A host the policy refuses before any connection is made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HostRefused(String);

/// Checks a URL's scheme and host against the registry and policy (addresses of names are
/// checked later, at resolution).
fn check_url(
    registry: &Registry,
    policy: HostPolicy,
    url: &reqwest::Url,
) -> Result<(), HostRefused> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HostRefused(format!(
            "scheme {} is not http(s)",
            url.scheme()
        )));
    }
    let Some(host) = url.host_str() else {
        return Err(HostRefused(format!("{url} has no host")));
    };
    if !policy.strict_hosts {
        return Ok(());
    }
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    if let Some(reason) = literal.and_then(|ip| policy.refuses(ip)) {
        return Err(HostRefused(format!("{host} is a {reason}")));
    }
    if !registry.allows_host(host) {
        return Err(HostRefused(format!(
            "host {host} is neither a registered service nor in the allowlist"
        )));
    }
    Ok(())
}

/// Runs a Conductor HTTP task: `input` is the task input (`http_request` or flat keys).
pub async fn handle(context: &HttpContext, input: Value) -> Result<Value, TaskFailure> {
    let request = HttpRequest::from_input(&input)?;
    call(context, request).await
}

/// Runs an already parsed request; see [`handle`].
pub async fn call(context: &HttpContext, request: HttpRequest) -> Result<Value, TaskFailure> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let (url, service) = if request.uri.starts_with("ocf://") {
        let resolved = context.registry.resolve(&request.uri).ok_or_else(|| {
            failure(
                errors::BAD_INPUT,
                format!("{} names no service of the registry", request.uri),
            )
        })?;
        headers.extend(
            resolved
                .service
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if let Some(auth) = &resolved.service.auth {
            let header = auth
                .header(context.env.as_ref(), context.secrets.as_ref())
                .await
                .map_err(|e| failure(errors::CONFIG, e.to_string()))?;
            headers.push(header);
        }
        (resolved.url, Some(resolved.service))
    } else {
        (request.uri.clone(), None)
    };
    let url = reqwest::Url::parse(&url)
        .map_err(|e| failure(errors::BAD_INPUT, format!("invalid uri {url}: {e}")))?;
    check_url(&context.registry, context.policy, &url)
        .map_err(|refusal| failure(errors::HOST_REFUSED, refusal.0))?;

    let millis = |ms: Option<u64>| ms.map(Duration::from_millis);
    let connect = request
        .connect_timeout
        .or_else(|| service.and_then(|s| millis(s.connect_timeout_ms)))
        .unwrap_or(context.default_connect_timeout);
    let read = request
        .read_timeout
        .or_else(|| service.and_then(|s| millis(s.read_timeout_ms)))
        .unwrap_or(context.default_read_timeout);
    let client = context.client(connect, read)?;

    // Task headers override the service's defaults, whatever their case.
    headers.retain(|(name, _)| {
        !request
            .headers
            .keys()
            .any(|task| task.eq_ignore_ascii_case(name))
    });
    headers.extend(request.headers.iter().map(|(k, v)| (k.clone(), v.clone())));

    let mut builder = client
        .request(request.method.clone(), url)
        .header(reqwest::header::ACCEPT, &request.accept);
    if let Some(body) = &request.body {
        let bytes = match body {
            Value::String(text) => text.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        builder = builder
            .header(reqwest::header::CONTENT_TYPE, &request.content_type)
            .body(bytes);
    }
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .build()
        .map_err(|e| failure(errors::BAD_INPUT, format!("invalid request: {}", chain(&e))))?;

    let response = client.execute(request).await.map_err(transport_failure)?;
    let status = response.status();
    let mut response_headers = Map::new();
    for (name, value) in response.headers() {
        let value = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
        if let Value::Array(values) = response_headers
            .entry(name.as_str())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            values.push(value);
        }
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let bytes = response.bytes().await.map_err(transport_failure)?;
    let body = response_body(content_type.as_deref(), &bytes);
    let reason = status.canonical_reason().unwrap_or("");

    if status.is_success() {
        return Ok(json!({"response": {
            "headers": response_headers,
            "reasonPhrase": reason,
            "body": body,
            "statusCode": status.as_u16(),
        }}));
    }
    let code = status.as_u16();
    let error = if status.is_server_error() || code == 408 || code == 429 {
        errors::HTTP_5XX
    } else {
        errors::HTTP_4XX
    };
    Err(failure(error, status_cause(code, reason, body)))
}

/// The body as Conductor shows it: JSON when it is JSON, text otherwise, null when empty.
fn response_body(content_type: Option<&str>, bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    let json_type = content_type.is_none_or(|ct| {
        let essence = ct.split(';').next().unwrap_or("").trim();
        essence == "application/json" || essence.ends_with("+json")
    });
    if json_type && let Ok(value) = serde_json::from_slice(bytes) {
        return value;
    }
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

/// The cause of a status failure, cut to what Step Functions keeps.
fn status_cause(code: u16, reason: &str, body: Value) -> String {
    let cause = json!({"statusCode": code, "reasonPhrase": reason, "body": body}).to_string();
    if cause.len() <= MAX_CAUSE_CHARS {
        return cause;
    }
    let text = match body {
        Value::String(text) => text,
        other => other.to_string(),
    };
    let mut end = MAX_CAUSE_CHARS / 2;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    json!({"statusCode": code, "reasonPhrase": reason, "body": &text[..end], "truncated": true})
        .to_string()
}

/// Maps a transport error to its error name.
fn transport_failure(error: reqwest::Error) -> TaskFailure {
    let message = chain(&error);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if e.is::<AddressRefused>() || e.is::<HostRefused>() {
            return failure(errors::HOST_REFUSED, e.to_string());
        }
        source = e.source();
    }
    if error.is_timeout() {
        failure(errors::TIMEOUT, message)
    } else {
        failure(errors::CONNECT, message)
    }
}

/// An error with its sources, `outer: inner: innermost`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json_only_when_json() {
        assert_eq!(
            response_body(Some("application/json; charset=utf-8"), b"{\"a\":1}"),
            json!({"a": 1})
        );
        assert_eq!(
            response_body(Some("application/problem+json"), b"[1]"),
            json!([1])
        );
        assert_eq!(response_body(None, b"42"), json!(42));
        assert_eq!(response_body(Some("text/plain"), b"42"), json!("42"));
        assert_eq!(
            response_body(Some("application/json"), b"not json"),
            json!("not json")
        );
        assert_eq!(response_body(Some("text/plain"), b""), Value::Null);
    }

    #[test]
    fn oversized_causes_are_cut() {
        let cause = status_cause(500, "Internal Server Error", json!("x".repeat(100_000)));
        assert!(cause.len() <= MAX_CAUSE_CHARS);
        let parsed: Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(parsed["statusCode"], 500);
        assert_eq!(parsed["truncated"], true);
    }

    #[test]
    fn strict_policy_checks_literals_and_allowlist() {
        let registry = Registry::from_json(r#"{"allow": ["api.test"]}"#).unwrap();
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let strict = HostPolicy::LAMBDA;
        assert!(check_url(&registry, strict, &url("https://api.test/x")).is_ok());
        assert!(check_url(&registry, strict, &url("https://other.test/x")).is_err());
        assert!(check_url(&registry, strict, &url("http://169.254.169.254/latest")).is_err());
        assert!(check_url(&registry, strict, &url("http://[::ffff:169.254.169.254]/")).is_err());
        assert!(
            check_url(
                &registry,
                HostPolicy::PERMISSIVE,
                &url("http://169.254.169.254/")
            )
            .is_ok()
        );
        assert!(
            check_url(
                &registry,
                HostPolicy::PERMISSIVE,
                &url("file:///etc/passwd")
            )
            .is_err()
        );
    }
}
