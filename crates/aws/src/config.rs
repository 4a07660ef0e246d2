//! The AWS SDK configuration every ocflow binary uses.
//!
//! The SDK crates are built without default features, so there is one HTTP/TLS stack: the
//! hyper 1 client of `aws-smithy-http-client` with rustls on ring, passed in here. Everything
//! else comes from the standard sources (environment, profile, container and instance metadata),
//! including `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_<SERVICE>`), which points the same
//! binaries at a local emulator.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_sdk_sfn::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The HTTPS client: hyper 1 with rustls on ring.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A configuration loader with ocflow's HTTP client and the latest behaviour version, for
/// callers that override more (region, endpoint, credentials).
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

/// Loads the configuration from the environment.
pub async fn load() -> SdkConfig {
    loader().load().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::config::{Credentials, Region};

    #[tokio::test]
    async fn builds_a_config_and_clients_on_the_ring_client() {
        let config = loader()
            .region(Region::new("eu-west-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
            .load()
            .await;
        assert!(config.http_client().is_some());
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:9"));
        let sqs = aws_sdk_sqs::Client::new(&config);
        assert_eq!(sqs.config().region().map(|r| r.as_ref()), Some("eu-west-1"));
        let _ = (
            aws_sdk_sfn::Client::new(&config),
            aws_sdk_dynamodb::Client::new(&config),
        );
    }
}
