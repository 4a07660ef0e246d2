//! The OCF service registry: where `ocf://<service>/<path>` URIs go, and which absolute URLs are
//! allowed.
//!
//! The registry is a JSON file:
//!
//! ```json
//! {
//!   "services": {
//!     "orders": {
//!       "baseUrl": "https://orders.internal.example.com/api",
//!       "headers": {"x-team": "fulfilment"},
//!       "connectTimeoutMs": 1000,
//!       "readTimeoutMs": 5000,
//!       "auth": {"bearerFromEnv": "ORDERS_TOKEN"}
//!     }
//!   },
//!   "allow": ["api.github.com", "*.example.org"]
//! }
//! ```
//!
//! - `ocf://orders/v1/items?id=7` becomes `https://orders.internal.example.com/api/v1/items?id=7`,
//!   with the service's headers (task headers win), timeouts (task timeouts win) and auth.
//! - `auth` is one of
//!   `{"bearerFromEnv": "VAR"}`,
//!   `{"basicFromEnv": {"username": "USER_VAR", "password": "PASS_VAR"}}`,
//!   `{"apiKeyFromEnv": {"header": "x-api-key", "var": "VAR"}}`,
//!   or the same three read from AWS Secrets Manager:
//!   `{"bearerFromSecret": {"secretId": "arn:...", "key": "token"}}`,
//!   `{"basicFromSecret": {"secretId": "...", "usernameKey": "username", "passwordKey": "password"}}`,
//!   `{"apiKeyFromSecret": {"header": "x-api-key", "secretId": "...", "key": "apiKey"}}`
//!   (`key` picks a field of a JSON secret; without it the whole secret string is used).
//!   Secrets are fetched through a [`SecretSource`]; this crate ships none that talks to AWS
//!   ([`NoSecrets`] refuses every reference), so only the environment forms work until a host
//!   provides one.
//! - `allow` lists the hosts absolute `http(s)://` URLs may name under a strict host policy:
//!   exact host names or IP literals, or `*.domain` for any subdomain of `domain`. The hosts of
//!   the services' base URLs are always allowed.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use indexmap::IndexMap;
use serde::Deserialize;

/// Environment variable holding the path of the registry file.
pub const REGISTRY_FILE_VAR: &str = "OCFLOW_REGISTRY_FILE";
/// Environment variable holding the registry itself, as JSON (used when no file is named).
pub const REGISTRY_JSON_VAR: &str = "OCFLOW_REGISTRY";

/// Errors reading the registry or the credentials it names.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry file could not be read.
    #[error("cannot read service registry {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The registry is not valid JSON of the documented shape.
    #[error("invalid service registry: {0}")]
    Invalid(String),
    /// An environment variable a credential names is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// A secret could not be fetched or lacks the named key.
    #[error("secret {secret_id}: {reason}")]
    Secret {
        /// The secret reference.
        secret_id: String,
        /// Why it failed.
        reason: String,
    },
}

/// The parsed registry file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Registry {
    /// Services by name, as used in `ocf://<name>/...`.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// Host patterns absolute URLs may name under a strict policy.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// One OCF service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// Absolute `http(s)` URL the service's paths are appended to.
    pub base_url: String,
    /// Headers sent on every call (task headers with the same name win).
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Connect timeout in milliseconds, unless the task sets `connectionTimeOut`.
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
    /// Read timeout in milliseconds, unless the task sets `readTimeOut`.
    #[serde(default)]
    pub read_timeout_ms: Option<u64>,
    /// How calls authenticate.
    #[serde(default)]
    pub auth: Option<Auth>,
}

/// How calls to a service authenticate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Auth {
    /// `Authorization: Bearer <value of VAR>`.
    BearerFromEnv(String),
    /// `Authorization: Basic ...` from two environment variables.
    BasicFromEnv {
        /// Variable holding the user name.
        username: String,
        /// Variable holding the password.
        password: String,
    },
    /// An API key header from an environment variable.
    ApiKeyFromEnv {
        /// The header name, e.g. `x-api-key`.
        header: String,
        /// Variable holding the key.
        var: String,
    },
    /// `Authorization: Bearer <secret>`.
    BearerFromSecret(SecretRef),
    /// `Authorization: Basic ...` from a JSON secret.
    #[serde(rename_all = "camelCase")]
    BasicFromSecret {
        /// The secret's id or ARN.
        secret_id: String,
        /// Field holding the user name.
        username_key: String,
        /// Field holding the password.
        password_key: String,
    },
    /// An API key header from a secret.
    ApiKeyFromSecret {
        /// The header name.
        header: String,
        /// The secret.
        #[serde(flatten)]
        secret: SecretRef,
    },
}

/// A reference to an AWS Secrets Manager secret, or one field of a JSON secret.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    /// The secret's id or ARN.
    pub secret_id: String,
    /// Field of a JSON secret; the whole secret string without it.
    #[serde(default)]
    pub key: Option<String>,
}

/// The future a [`SecretSource`] returns: the secret string.
pub type SecretFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Fetches secret strings by id. Keeps this crate free of AWS: a Lambda host implements it over
/// Secrets Manager.
pub trait SecretSource: Send + Sync {
    /// The secret string of `secret_id`, or why it cannot be had.
    fn secret<'a>(&'a self, secret_id: &'a str) -> SecretFuture<'a>;
}

/// A [`SecretSource`] with no secrets: every reference fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn secret<'a>(&'a self, _secret_id: &'a str) -> SecretFuture<'a> {
        Box::pin(async { Err("no secret source is configured".to_owned()) })
    }
}

/// A fixed table of secrets (tests and local runs).
impl SecretSource for HashMap<String, String> {
    fn secret<'a>(&'a self, secret_id: &'a str) -> SecretFuture<'a> {
        let found = self.get(secret_id).cloned();
        Box::pin(async move { found.ok_or_else(|| "no such secret".to_owned()) })
    }
}

/// Reads environment variables; injectable so that tests need not touch the process environment.
pub trait EnvSource: Send + Sync {
    /// The value of `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed table of variables.
impl EnvSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Where an `ocf://` URI leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<'a> {
    /// The absolute URL to call.
    pub url: String,
    /// The service's entry.
    pub service: &'a Service,
}

impl Registry {
    /// Parses a registry document.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let registry: Self =
            serde_json::from_str(text).map_err(|e| Error::Invalid(e.to_string()))?;
        for (name, service) in &registry.services {
            let url = reqwest::Url::parse(&service.base_url)
                .map_err(|e| Error::Invalid(format!("service {name}: baseUrl: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(Error::Invalid(format!(
                    "service {name}: baseUrl must be an absolute http(s) URL"
                )));
            }
        }
        Ok(registry)
    }

    /// Reads a registry file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// The registry named by the environment: the file in `OCFLOW_REGISTRY_FILE`, else the JSON in
    /// `OCFLOW_REGISTRY`, else an empty registry.
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, Error> {
        if let Some(path) = env.var(REGISTRY_FILE_VAR) {
            Self::load(Path::new(&path))
        } else if let Some(json) = env.var(REGISTRY_JSON_VAR) {
            Self::from_json(&json)
        } else {
            Ok(Self::default())
        }
    }

    /// Resolves `ocf://<service>/<rest>`; `None` when `uri` is not an `ocf://` URI or names an
    /// unknown service.
    pub fn resolve<'a>(&'a self, uri: &str) -> Option<Resolved<'a>> {
        let rest = uri.strip_prefix("ocf://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (name, path) = rest.split_at(end);
        let service = self.services.get(name)?;
        let base = service.base_url.trim_end_matches('/');
        let url = match path.strip_prefix('/') {
            Some(path) => format!("{base}/{path}"),
            None => format!("{base}{path}"),
        };
        Some(Resolved { url, service })
    }

    /// Whether `host` (a name or IP literal, without port) is a service host or matches `allow`.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let service_host = self.services.values().any(|service| {
            reqwest::Url::parse(&service.base_url)
                .ok()
                .and_then(|url| {
                    url.host_str().map(|h| {
                        h.trim_start_matches('[')
                            .trim_end_matches(']')
                            .eq_ignore_ascii_case(&host)
                    })
                })
                .unwrap_or(false)
        });
        service_host
            || self.allow.iter().any(|pattern| {
                let pattern = pattern.to_ascii_lowercase();
                match pattern.strip_prefix("*.") {
                    Some(domain) => host
                        .strip_suffix(domain)
                        .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                    None => pattern.trim_start_matches('[').trim_end_matches(']') == host,
                }
            })
    }
}

impl Auth {
    /// The header this auth adds, reading the environment or the secret source.
    pub async fn header(
        &self,
        env: &dyn EnvSource,
        secrets: &dyn SecretSource,
    ) -> Result<(String, String), Error> {
        let from_env = |var: &str| {
            env.var(var)
                .ok_or_else(|| Error::MissingEnv(var.to_owned()))
        };
        Ok(match self {
            Auth::BearerFromEnv(var) => bearer(&from_env(var)?),
            Auth::BasicFromEnv { username, password } => {
                basic(&from_env(username)?, &from_env(password)?)
            }
            Auth::ApiKeyFromEnv { header, var } => (header.clone(), from_env(var)?),
            Auth::BearerFromSecret(secret) => bearer(&fetch(secrets, secret).await?),
            Auth::BasicFromSecret {
                secret_id,
                username_key,
                password_key,
            } => {
                let text = fetch_raw(secrets, secret_id).await?;
                basic(
                    &field(secret_id, &text, username_key)?,
                    &field(secret_id, &text, password_key)?,
                )
            }
            Auth::ApiKeyFromSecret { header, secret } => {
                (header.clone(), fetch(secrets, secret).await?)
            }
        })
    }
}

fn bearer(token: &str) -> (String, String) {
    ("authorization".to_owned(), format!("Bearer {token}"))
}

fn basic(username: &str, password: &str) -> (String, String) {
    let encoded = base64(format!("{username}:{password}").as_bytes());
    ("authorization".to_owned(), format!("Basic {encoded}"))
}

async fn fetch_raw(secrets: &dyn SecretSource, secret_id: &str) -> Result<String, Error> {
    secrets
        .secret(secret_id)
        .await
        .map_err(|reason| Error::Secret {
            secret_id: secret_id.to_owned(),
            reason,
        })
}

async fn fetch(secrets: &dyn SecretSource, secret: &SecretRef) -> Result<String, Error> {
    let text = fetch_raw(secrets, &secret.secret_id).await?;
    match &secret.key {
        Some(key) => field(&secret.secret_id, &text, key),
        None => Ok(text),
    }
}

fn field(secret_id: &str, text: &str, key: &str) -> Result<String, Error> {
    let missing = || Error::Secret {
        secret_id: secret_id.to_owned(),
        reason: format!("no string field {key:?} in the secret's JSON"),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| missing())?;
    value
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(missing)
}

/// Standard base64 with padding (RFC 4648), for Basic auth.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::from_json(
            r#"{
              "services": {
                "orders": {"baseUrl": "https://orders.internal.test/api/", "headers": {"x-team": "ops"},
                           "auth": {"bearerFromEnv": "ORDERS_TOKEN"}},
                "billing": {"baseUrl": "http://10.0.0.7:8080",
                            "auth": {"apiKeyFromSecret": {"header": "x-api-key", "secretId": "billing", "key": "apiKey"}}}
              },
              "allow": ["api.github.com", "*.example.org", "192.0.2.1"]
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn ocf_uris_resolve_against_the_base_url() {
        let registry = registry();
        let check = |uri: &str, expect: &str| {
            assert_eq!(registry.resolve(uri).unwrap().url, expect, "{uri}");
        };
        check(
            "ocf://orders/v1/items?id=7",
            "https://orders.internal.test/api/v1/items?id=7",
        );
        check("ocf://orders", "https://orders.internal.test/api");
        check("ocf://orders?x=1", "https://orders.internal.test/api?x=1");
        check("ocf://billing/pay", "http://10.0.0.7:8080/pay");
        assert!(registry.resolve("ocf://unknown/x").is_none());
        assert!(registry.resolve("https://orders/x").is_none());
    }

    #[test]
    fn allowlist_matches_hosts_and_subdomains() {
        let registry = registry();
        for host in [
            "api.github.com",
            "a.example.org",
            "a.b.example.org",
            "orders.internal.test",
            "10.0.0.7",
            "192.0.2.1",
            "API.GITHUB.COM",
        ] {
            assert!(registry.allows_host(host), "{host}");
        }
        for host in [
            "example.org",
            "evilexample.org",
            "github.com",
            "169.254.169.254",
            "internal.test",
        ] {
            assert!(!registry.allows_host(host), "{host}");
        }
    }

    #[test]
    fn invalid_registries_are_rejected() {
        assert!(Registry::from_json(r#"{"services": {"a": {"baseUrl": "ftp://x"}}}"#).is_err());
        assert!(Registry::from_json(r#"{"services": {"a": {"baseUrl": "/relative"}}}"#).is_err());
        assert!(Registry::from_json(r#"{"service": {}}"#).is_err());
        assert!(
            Registry::from_json(
                r#"{"services": {"a": {"baseUrl": "http://x", "auth": {"kerberos": 1}}}}"#
            )
            .is_err()
        );
    }

    #[tokio::test]
    async fn auth_reads_env_and_secrets() {
        let env: HashMap<String, String> = [
            ("T".to_owned(), "tok".to_owned()),
            ("U".to_owned(), "Aladdin".to_owned()),
            ("P".to_owned(), "open sesame".to_owned()),
        ]
        .into();
        let secrets: HashMap<String, String> =
            [("billing".to_owned(), r#"{"apiKey": "k-1"}"#.to_owned())].into();
        let bearer = Auth::BearerFromEnv("T".into())
            .header(&env, &secrets)
            .await
            .unwrap();
        assert_eq!(bearer, ("authorization".into(), "Bearer tok".into()));
        let basic = Auth::BasicFromEnv {
            username: "U".into(),
            password: "P".into(),
        };
        assert_eq!(
            basic.header(&env, &secrets).await.unwrap().1,
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        let api_key = &registry().services["billing"];
        assert_eq!(
            api_key
                .auth
                .as_ref()
                .unwrap()
                .header(&env, &secrets)
                .await
                .unwrap(),
            ("x-api-key".into(), "k-1".into())
        );
        let missing = Auth::BearerFromEnv("NOPE".into())
            .header(&env, &secrets)
            .await;
        assert!(matches!(missing, Err(Error::MissingEnv(var)) if var == "NOPE"));
        let no_source = api_key
            .auth
            .as_ref()
            .unwrap()
            .header(&env, &NoSecrets)
            .await;
        assert!(matches!(no_source, Err(Error::Secret { .. })));
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
