//! The SQLite execution store: the local engine's [`ExecutionStore`] in one file.
//!
//! - [`SqliteStore`]: [`open`](SqliteStore::open) a file (write-ahead log,
//!   `synchronous=NORMAL`, schema migrated on open) or keep it [`in_memory`](SqliteStore::in_memory).
//!   Every port call is all or nothing, and committed when it returns: concurrent calls
//!   share one commit (group commit, each in a savepoint of its own); a finished execution
//!   never changes again.
//! - [`SqliteStore::search_executions`] with an [`ExecutionQuery`] and
//!   [`SqliteStore::count_by_status`]: what the REST API lists and counts.
//! - Payloads over [`MAX_PAYLOAD_BYTES`] (256 KiB of JSON, Step Functions' limit) are refused
//!   with [`Error::TooLarge`], which the port reports as [`StoreError::Backend`].
//!
//! ```
//! use ocflow_engine::history::{EventKind, HistoryEvent};
//! use ocflow_engine::store::{ExecutionRecord, ExecutionStatus, ExecutionStore};
//! use ocflow_store::{ExecutionQuery, SqliteStore};
//! use serde_json::json;
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("executions.db"))?;
//! store.create_execution(&ExecutionRecord {
//!     id: "order-1".into(),
//!     machine: "checkout".into(),
//!     definition: Arc::new(json!({"asl": {"StartAt": "Pay", "States": {}}})),
//!     input: json!({"orderId": 1}),
//!     status: ExecutionStatus::Running,
//!     start_time: 1_000,
//!     end_time: None,
//!     output: None,
//!     error: None,
//!     cause: None,
//!     parent_id: None,
//!     correlation_id: Some("cart-7".into()),
//! })?;
//! let started = HistoryEvent {
//!     id: 1,
//!     timestamp: 1_000,
//!     scope: String::new(),
//!     kind: EventKind::ExecutionStarted { input: json!({"orderId": 1}) },
//! };
//! store.append_events("order-1", &[started.clone()])?;
//! assert_eq!(store.history("order-1")?, vec![started]);
//!
//! let found = store.search_executions(&ExecutionQuery {
//!     correlation_id: Some("cart-7".into()),
//!     ..ExecutionQuery::default()
//! })?;
//! assert_eq!(found[0].id, "order-1");
//! assert_eq!(store.count_by_status(Some("checkout"))?, vec![(ExecutionStatus::Running, 1)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`ExecutionStore`]: ocflow_engine::store::ExecutionStore
//! [`StoreError::Backend`]: ocflow_engine::store::StoreError::Backend

mod checkpoint;
mod codec;
mod commit;
mod definitions;
mod error;
mod outbox;
mod schema;
mod search;
mod store;

pub use codec::MAX_PAYLOAD_BYTES;
pub use error::Error;
pub use outbox::{Outbox, OutboxWrite};
pub use search::{ExecutionQuery, ExecutionSummary};
pub use store::SqliteStore;
