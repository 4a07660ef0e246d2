//! The HTTP handler against real servers on loopback.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use ocflow_protocol::errors;
use ocflow_tasks::http::{self, HttpContext};
use ocflow_tasks::net::{HostPolicy, StaticResolver};
use ocflow_tasks::registry::Registry;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Serves a small test API on 127.0.0.1 and returns its address.
async fn serve() -> SocketAddr {
    async fn echo(method: Method, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
            .collect();
        axum::Json(json!({
            "method": method.as_str(),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        }))
    }
    async fn status(Path(code): Path<u16>) -> Response {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
        (
            status,
            axum::Json(json!({"error": format!("status {code}")})),
        )
            .into_response()
    }
    let app = Router::new()
        .route(
            "/json",
            get(|| async { ([("x-reply", "one")], axum::Json(json!({"hello": "world"}))) }),
        )
        .route(
            "/text",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "plain text") }),
        )
        .route("/echo", any(echo))
        .route("/echo/{*rest}", any(echo))
        .route("/status/{code}", get(status))
        .route(
            "/to-metadata",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://169.254.169.254/latest/meta-data")],
                )
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn context() -> HttpContext {
    HttpContext::builder()
        .default_timeouts(Duration::from_secs(2), Duration::from_secs(5))
        .build()
}

#[tokio::test]
async fn json_bodies_are_parsed_and_headers_reported() {
    let addr = serve().await;
    let output = http::handle(
        &context(),
        json!({"http_request": {"uri": format!("http://{addr}/json"), "method": "GET"}}),
    )
    .await
    .unwrap();
    let response = &output["response"];
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["reasonPhrase"], "OK");
    assert_eq!(response["body"], json!({"hello": "world"}));
    assert_eq!(response["headers"]["x-reply"], json!(["one"]));
    assert_eq!(
        response["headers"]["content-type"],
        json!(["application/json"])
    );
}

#[tokio::test]
async fn text_bodies_stay_text() {
    let addr = serve().await;
    let output = http::handle(&context(), json!({"uri": format!("http://{addr}/text")}))
        .await
        .unwrap();
    assert_eq!(output["response"]["body"], "plain text");
}

#[tokio::test]
async fn method_headers_and_body_are_sent() {
    let addr = serve().await;
    let output = http::handle(
        &context(),
        json!({"http_request": {
            "uri": format!("http://{addr}/echo"), "method": "PUT",
            "headers": {"X-Trace": "abc", "X-Count": 3},
            "body": {"order": 7}, "accept": "application/json", "contentType": "application/json"
        }}),
    )
    .await
    .unwrap();
    let echoed = &output["response"]["body"];
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["headers"]["x-trace"], "abc");
    assert_eq!(echoed["headers"]["x-count"], "3");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert_eq!(echoed["body"], r#"{"order":7}"#);

    let text = http::handle(
        &context(),
        json!({"uri": format!("http://{addr}/echo"), "method": "POST", "body": "raw text", "contentType": "text/plain"}),
    )
    .await
    .unwrap();
    assert_eq!(text["response"]["body"]["body"], "raw text");
    assert_eq!(
        text["response"]["body"]["headers"]["content-type"],
        "text/plain"
    );
}

#[tokio::test]
async fn error_statuses_map_to_error_names_with_structured_causes() {
    let addr = serve().await;
    for (code, name) in [
        (404, errors::HTTP_4XX),
        (400, errors::HTTP_4XX),
        (429, errors::HTTP_5XX),
        (408, errors::HTTP_5XX),
        (500, errors::HTTP_5XX),
        (503, errors::HTTP_5XX),
    ] {
        let failure = http::handle(
            &context(),
            json!({"uri": format!("http://{addr}/status/{code}")}),
        )
        .await
        .unwrap_err();
        assert_eq!(failure.error, name, "{code}");
        let cause: Value = serde_json::from_str(&failure.cause).unwrap();
        assert_eq!(cause["statusCode"], code);
        assert_eq!(cause["body"], json!({"error": format!("status {code}")}));
        assert_eq!(
            cause["reasonPhrase"],
            StatusCode::from_u16(code)
                .unwrap()
                .canonical_reason()
                .unwrap()
        );
    }
}

/// A refused connection (nothing listens on the port) is the connection-error case: on loopback
/// it is immediate and deterministic.
#[tokio::test]
async fn refused_connections_are_connect_errors() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let failure = http::handle(
        &context(),
        json!({"uri": format!("http://127.0.0.1:{port}/")}),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.error, errors::CONNECT, "{}", failure.cause);
}

/// A listener whose accept queue is full drops further SYNs, so a connect neither succeeds nor
/// fails: the deterministic loopback stand-in for an unreachable host.
#[tokio::test]
async fn connect_timeouts_are_timeouts() {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => held.push(stream),
            Ok(Err(e)) => panic!("filling the backlog: {e}"),
            Err(_) => break, // the queue is full: this SYN was dropped
        }
        assert!(held.len() < 64, "the accept queue never filled");
    }
    let started = Instant::now();
    let failure = http::handle(
        &context(),
        json!({"uri": format!("http://{addr}/"), "connectionTimeOut": 300}),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.error, errors::TIMEOUT, "{}", failure.cause);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(listener);
}

#[tokio::test]
async fn read_timeouts_are_timeouts() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let failure = http::handle(
        &context(),
        json!({"uri": format!("http://{addr}/"), "readTimeOut": 300}),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.error, errors::TIMEOUT, "{}", failure.cause);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

fn strict_context(addr: SocketAddr, resolver: StaticResolver) -> HttpContext {
    let registry = Registry::from_json(
        &json!({
            "services": {"orders": {
                "baseUrl": format!("http://orders.test:{}/echo/api", addr.port()),
                "headers": {"x-team": "fulfilment", "x-override": "service"},
                "auth": {"bearerFromEnv": "ORDERS_TOKEN"}
            }},
            "allow": ["allowed.test", "metadata.test", "127.0.0.1"]
        })
        .to_string(),
    )
    .unwrap();
    let env: HashMap<String, String> = [("ORDERS_TOKEN".to_owned(), "s3cret".to_owned())].into();
    HttpContext::builder()
        .registry(registry)
        .policy(HostPolicy {
            strict_hosts: true,
            refuse_loopback: false,
        })
        .resolver(Arc::new(resolver))
        .env(Arc::new(env))
        .default_timeouts(Duration::from_secs(2), Duration::from_secs(5))
        .build()
}

#[tokio::test]
async fn ocf_uris_resolve_through_the_registry_with_headers_and_auth() {
    let addr = serve().await;
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let context = strict_context(addr, StaticResolver::new().with("orders.test", [loopback]));
    let output = http::handle(
        &context,
        json!({"uri": "ocf://orders/v1/items?id=7", "method": "POST", "body": {"n": 1},
               "headers": {"X-Override": "task"}}),
    )
    .await
    .unwrap();
    let echoed = &output["response"]["body"];
    assert_eq!(echoed["headers"]["authorization"], "Bearer s3cret");
    assert_eq!(echoed["headers"]["x-team"], "fulfilment");
    assert_eq!(echoed["headers"]["x-override"], "task");
    assert_eq!(
        echoed["headers"]["host"],
        format!("orders.test:{}", addr.port())
    );

    let unknown = http::handle(&context, json!({"uri": "ocf://billing/x"}))
        .await
        .unwrap_err();
    assert_eq!(unknown.error, errors::BAD_INPUT);
}

#[tokio::test]
async fn missing_credentials_are_configuration_errors() {
    let addr = serve().await;
    let registry = Registry::from_json(
        &json!({"services": {"orders": {"baseUrl": format!("http://{addr}"), "auth": {"bearerFromEnv": "UNSET_TOKEN"}}}}).to_string(),
    )
    .unwrap();
    let context = HttpContext::builder()
        .registry(registry)
        .env(Arc::new(HashMap::<String, String>::new()))
        .build();
    let failure = http::handle(&context, json!({"uri": "ocf://orders/x"}))
        .await
        .unwrap_err();
    assert_eq!(failure.error, errors::CONFIG);
    assert!(failure.cause.contains("UNSET_TOKEN"));
}

#[tokio::test]
async fn strict_hosts_refuse_unlisted_hosts_and_metadata_addresses() {
    let addr = serve().await;
    let port = addr.port();
    let metadata: IpAddr = "169.254.169.254".parse().unwrap();
    let mapped: IpAddr = "::ffff:169.254.169.254".parse().unwrap();
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let resolver = StaticResolver::new()
        .with("metadata.test", [metadata])
        .with("allowed.test", [loopback, mapped])
        .with("unlisted.test", [loopback]);
    let context = strict_context(addr, resolver);
    for uri in [
        format!("http://metadata.test:{port}/latest/meta-data"),
        format!("http://allowed.test:{port}/json"),
        format!("http://unlisted.test:{port}/json"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[fd00:ec2::254]/latest/meta-data".to_owned(),
        format!("http://127.0.0.1:{port}/to-metadata"),
    ] {
        let failure = http::handle(&context, json!({ "uri": uri }))
            .await
            .unwrap_err();
        assert_eq!(
            failure.error,
            errors::HOST_REFUSED,
            "{uri}: {}",
            failure.cause
        );
    }
    // The same server is reachable through an allowed literal.
    let ok = http::handle(
        &context,
        json!({"uri": format!("http://127.0.0.1:{port}/json")}),
    )
    .await;
    assert_eq!(ok.unwrap()["response"]["statusCode"], 200);
}

#[tokio::test]
async fn permissive_hosts_allow_any_host() {
    let addr = serve().await;
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let context = HttpContext::builder()
        .resolver(Arc::new(
            StaticResolver::new().with("anything.test", [loopback]),
        ))
        .default_timeouts(Duration::from_secs(2), Duration::from_secs(5))
        .build();
    let output = http::handle(
        &context,
        json!({"uri": format!("http://anything.test:{}/json", addr.port())}),
    )
    .await
    .unwrap();
    assert_eq!(output["response"]["statusCode"], 200);
}

/// Benchmark, not a check: mean time of `http::handle` against a raw reqwest GET of the same
/// loopback endpoint. Run with
/// `cargo test --release -p ocflow-tasks --test http -- --ignored --nocapture handler_overhead`.
#[tokio::test(flavor = "current_thread")]
#[ignore = "benchmark"]
async fn handler_overhead_over_raw_reqwest() {
    const CALLS: u32 = 2000;
    let addr = serve().await;
    let url = format!("http://{addr}/json");
    let context = context();
    let raw = reqwest::Client::new();
    let input = json!({"uri": url});
    for _ in 0..100 {
        http::handle(&context, input.clone()).await.unwrap();
        raw.get(&url).send().await.unwrap().bytes().await.unwrap();
    }
    let started = Instant::now();
    for _ in 0..CALLS {
        raw.get(&url).send().await.unwrap().bytes().await.unwrap();
    }
    let raw_mean = started.elapsed() / CALLS;
    let started = Instant::now();
    for _ in 0..CALLS {
        http::handle(&context, input.clone()).await.unwrap();
    }
    let handler_mean = started.elapsed() / CALLS;
    println!(
        "raw reqwest GET: {raw_mean:?}/call; http::handle: {handler_mean:?}/call; overhead {:?}/call",
        handler_mean.saturating_sub(raw_mean)
    );
}
