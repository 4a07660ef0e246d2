//! Example OCF services for the workflows in `workflows/`.
//!
//! Five small services under path prefixes, each an independent HTTP/JSON API as an OCF
//! service would be: `/inventory`, `/payments`, `/shipping`, `/pricing` and `/notifications`.
//! The binary serves them; tests start [`router`] in-process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// The services, by their `ocf://` name.
pub const SERVICES: [&str; 5] = [
    "inventory",
    "payments",
    "shipping",
    "pricing",
    "notifications",
];

/// An OCF service registry (see `ocflow-tasks`) mapping every example service to `base`
/// (`http://host:port`, where [`router`] is served).
pub fn registry(base: &str) -> Value {
    let services: serde_json::Map<String, Value> = SERVICES
        .iter()
        .map(|name| {
            let service = json!({ "baseUrl": format!("{base}/{name}"), "readTimeoutMs": 5000 });
            ((*name).to_owned(), service)
        })
        .collect();
    json!({ "services": services })
}

/// In-memory state shared by the handlers.
#[derive(Default)]
struct Services {
    next_id: u64,
    /// Attempts seen per payment idempotency key, to fail the first attempt of each charge.
    charge_attempts: HashMap<String, u32>,
    /// Number of status checks per shipment: each check moves it one step further.
    shipment_checks: HashMap<String, usize>,
}

type Shared = Arc<Mutex<Services>>;

impl Services {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:04}", self.next_id)
    }
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, Services> {
    // A handler never panics while holding the lock, but recover the data if one ever did.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `POST /inventory/reservations {orderId, items: [{sku, quantity}]}`: reserves stock.
/// A sku starting with `OOS` is out of stock (409).
async fn reserve(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let Some(items) = body["items"].as_array() else {
        return error(StatusCode::BAD_REQUEST, "items must be an array");
    };
    if let Some(item) = items
        .iter()
        .find(|i| i["sku"].as_str().is_some_and(|s| s.starts_with("OOS")))
    {
        return error(
            StatusCode::CONFLICT,
            &format!("out of stock: {}", item["sku"].as_str().unwrap_or_default()),
        );
    }
    let reservation = lock(&state).id("RSV");
    let units: i64 = items.iter().filter_map(|i| i["quantity"].as_i64()).sum();
    Json(json!({ "reservationId": reservation, "orderId": body["orderId"], "units": units }))
        .into_response()
}

/// `POST /payments/charges {orderId, amount, currency}`: charges a payment. The first attempt
/// for each order answers 503, so that workflows show their retry policy at work.
async fn charge(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let Some(amount) = body["amount"].as_f64() else {
        return error(StatusCode::BAD_REQUEST, "amount must be a number");
    };
    let key = body["orderId"].as_str().unwrap_or_default().to_owned();
    let mut services = lock(&state);
    let attempts = services.charge_attempts.entry(key).or_default();
    *attempts += 1;
    if *attempts == 1 {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "payment gateway busy, retry",
        );
    }
    let charge = services.id("CHG");
    Json(json!({
        "chargeId": charge,
        "amount": amount,
        "currency": body["currency"].as_str().unwrap_or("EUR"),
        "status": "CAPTURED",
    }))
    .into_response()
}

/// `POST /shipping/shipments {orderId, address}`: creates a shipment.
async fn ship(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let tracking = lock(&state).id("TRK");
    Json(json!({ "trackingId": tracking, "orderId": body["orderId"], "status": "LABEL_CREATED" }))
        .into_response()
}

/// `GET /shipping/shipments/{id}`: the shipment's status, one step further on each call.
async fn shipment_status(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    const STEPS: [&str; 4] = ["LABEL_CREATED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"];
    let mut services = lock(&state);
    let checks = services.shipment_checks.entry(id.clone()).or_default();
    *checks += 1;
    let status = STEPS[(*checks).min(STEPS.len() - 1)];
    Json(json!({ "trackingId": id, "status": status, "delivered": status == "DELIVERED" }))
        .into_response()
}

/// `GET /pricing/quote?sku=..&quantity=..`: a deterministic price for a sku.
async fn quote(Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(sku) = query.get("sku") else {
        return error(StatusCode::BAD_REQUEST, "sku is required");
    };
    let quantity: u64 = query
        .get("quantity")
        .and_then(|q| q.parse().ok())
        .unwrap_or(1);
    let cents: u64 = sku.bytes().map(u64::from).sum::<u64>() % 5000 + 100;
    Json(json!({
        "sku": sku,
        "quantity": quantity,
        "unitPrice": cents as f64 / 100.0,
        "total": (cents * quantity) as f64 / 100.0,
    }))
    .into_response()
}

/// `POST /notifications/email {to, template, data}`: accepts an email for delivery.
async fn email(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    if body["to"].as_str().is_none_or(|to| !to.contains('@')) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "to must be an email address",
        );
    }
    let id = lock(&state).id("MSG");
    (
        StatusCode::ACCEPTED,
        Json(json!({ "messageId": id, "queued": true })),
    )
        .into_response()
}

/// The router serving every example service, with fresh in-memory state.
pub fn router() -> Router {
    Router::new()
        .route("/inventory/reservations", post(reserve))
        .route("/payments/charges", post(charge))
        .route("/shipping/shipments", post(ship))
        .route("/shipping/shipments/{id}", get(shipment_status))
        .route("/pricing/quote", get(quote))
        .route("/notifications/email", post(email))
        .route("/health", get(|| async { "ok" }))
        .with_state(Shared::default())
}
