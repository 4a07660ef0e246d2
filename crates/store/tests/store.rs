//! The SQLite store against the engine's contract, across reopens and crashes, under
//! concurrent use, and with the queries the REST API makes.

use std::process::Command;
use std::sync::Arc;
use std::thread;

use ocflow_engine::Invocation;
use ocflow_engine::history::{EventKind, HistoryEvent, Millis};
use ocflow_engine::store::{
    ExecutionEnd, ExecutionRecord, ExecutionStatus, ExecutionStore, PendingToken, StoreError,
    TokenIssue, contract,
};
use ocflow_store::{Error, ExecutionQuery, MAX_PAYLOAD_BYTES, Outbox, OutboxWrite, SqliteStore};
use serde_json::{Value, json};

fn record(id: &str, machine: &str, start_time: Millis) -> ExecutionRecord {
    ExecutionRecord {
        id: id.into(),
        machine: machine.into(),
        definition: Arc::new(
            json!({"asl": {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}}),
        ),
        input: json!({"id": id}),
        status: ExecutionStatus::Running,
        start_time,
        end_time: None,
        output: None,
        error: None,
        cause: None,
        parent_id: None,
        correlation_id: None,
    }
}

/// The two events of one state transition.
fn transition(first_id: u64, state: &str, payload: Value) -> [HistoryEvent; 2] {
    [
        HistoryEvent {
            id: first_id,
            timestamp: first_id as Millis,
            scope: String::new(),
            kind: EventKind::StateEntered {
                state: state.into(),
                input: payload.clone(),
            },
        },
        HistoryEvent {
            id: first_id + 1,
            timestamp: first_id as Millis + 1,
            scope: String::new(),
            kind: EventKind::StateExited {
                state: state.into(),
                output: payload,
                assigned: Default::default(),
            },
        },
    ]
}

fn succeeded(end_time: Millis) -> ExecutionEnd {
    ExecutionEnd {
        status: ExecutionStatus::Succeeded,
        end_time,
        output: Some(json!({"done": true})),
        error: None,
        cause: None,
    }
}

#[test]
fn in_memory_store_meets_the_contract() {
    contract::check(&SqliteStore::in_memory().unwrap());
}

#[test]
fn file_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    contract::check(&store);
}

#[test]
fn a_reopened_file_has_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut child = record("child", "m", 20);
    child.parent_id = Some("parent".into());
    child.correlation_id = Some("c".into());
    let events = transition(
        1,
        "A",
        json!({"n": 0.1, "big": 1e300, "order": {"z": 1, "a": 2}}),
    );
    let token = PendingToken {
        token: "tok".into(),
        execution_id: "child".into(),
        scope: "Map/2".into(),
        state: "wait".into(),
        issued_at: 21,
        heartbeat_deadline: None,
    };
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create_execution(&record("parent", "m", 10)).unwrap();
        store.create_execution(&child).unwrap();
        store.append_events("child", &events).unwrap();
        store.put_token(&token).unwrap();
        assert!(store.finish_execution("parent", &succeeded(30)).unwrap());
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.execution("child").unwrap(), Some(child));
    assert_eq!(store.history("child").unwrap(), events);
    assert_eq!(store.pending_tokens("child").unwrap(), vec![token]);
    let parent = store.execution("parent").unwrap().unwrap();
    assert_eq!(parent.status, ExecutionStatus::Succeeded);
    assert_eq!(parent.output, Some(json!({"done": true})));
    assert_eq!(store.unfinished_executions().unwrap(), vec!["child"]);
}

fn stored_definitions(store: &SqliteStore) -> i64 {
    store
        .writer_connection()
        .query_row("SELECT count(*) FROM definitions", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn executions_share_their_stored_definition() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let shared =
        Arc::new(json!({"asl": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}));
    let other = Arc::new(json!({"asl": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}}));
    {
        let store = SqliteStore::open(&path).unwrap();
        for (id, definition) in [
            ("a1", Arc::clone(&shared)),
            ("a2", Arc::clone(&shared)),
            // Equal text in another allocation (a machine registered again): the same row.
            ("a3", Arc::new((*shared).clone())),
            ("b1", Arc::clone(&other)),
        ] {
            let mut execution = record(id, "m", 1);
            execution.definition = definition;
            store.create_execution(&execution).unwrap();
        }
        assert_eq!(stored_definitions(&store), 2);
        let a1 = store.execution("a1").unwrap().unwrap();
        assert!(
            Arc::ptr_eq(&a1.definition, &shared),
            "read back without parsing again"
        );
        // A restart on a new definition stores it once more and points the execution at it.
        assert!(store.finish_execution("a2", &succeeded(5)).unwrap());
        let restarted =
            Arc::new(json!({"asl": {"StartAt": "C", "States": {"C": {"Type": "Succeed"}}}}));
        let reopen = ocflow_engine::store::ExecutionReopen {
            definition: Some(Arc::clone(&restarted)),
        };
        let event = HistoryEvent {
            id: 1,
            timestamp: 6,
            scope: String::new(),
            kind: EventKind::ExecutionStarted { input: json!({}) },
        };
        assert!(store.reopen_execution("a2", &reopen, &event).unwrap());
        assert_eq!(stored_definitions(&store), 3);
    }
    let store = SqliteStore::open(&path).unwrap();
    let read = |id: &str| store.execution(id).unwrap().unwrap().definition;
    assert_eq!(*read("a1"), *shared);
    assert_eq!(*read("a3"), *shared);
    assert_eq!(*read("b1"), *other);
    assert_eq!(read("a2")["asl"]["StartAt"], "C");
    assert!(
        Arc::ptr_eq(&read("a1"), &read("a3")),
        "parsed once, shared after"
    );
}

const CRASH_CHILD: &str = "OCFLOW_STORE_CRASH_CHILD";

#[test]
fn committed_writes_survive_a_process_crash() {
    if let Ok(path) = std::env::var(CRASH_CHILD) {
        // The child: commit, then die without closing the database or checkpointing the log.
        let store = SqliteStore::open(path).unwrap();
        store.create_execution(&record("x", "m", 1)).unwrap();
        for n in 0..50 {
            store
                .append_events("x", &transition(2 * n + 1, "S", json!(n)))
                .unwrap();
        }
        std::process::abort();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    run_aborting_child(
        "committed_writes_survive_a_process_crash",
        CRASH_CHILD,
        &path,
    );
    let store = SqliteStore::open(&path).unwrap();
    let history = store.history("x").unwrap();
    assert_eq!(history.len(), 100);
    assert_eq!(history.last().unwrap().id, 100);
    assert_eq!(store.unfinished_executions().unwrap(), vec!["x"]);
}

/// Writes of one thread among many: a create, then appends, each read back at once by the
/// store's readers (which see committed writes only); every tenth append first tries an event
/// id it has already, which is refused without touching the writes that share its commit.
/// Runs this binary's test `name` in a child process with `env` set to `path`, where it writes
/// to the store at `path` and aborts.
fn run_aborting_child(name: &str, env: &str, path: &std::path::Path) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture"])
        .env(env, path)
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts after writing");
}

fn write_concurrently(store: &SqliteStore, t: i64, appends: u64) {
    let id = format!("g{t}");
    store.create_execution(&record(&id, "m", t)).unwrap();
    for n in 0..appends {
        if n % 10 == 5 {
            let again = store.append_events(&id, &transition(2 * n - 1, "S", json!("again")));
            assert!(
                matches!(&again, Err(StoreError::Backend(m)) if m.contains("already has history event")),
                "{again:?}"
            );
            assert!(matches!(
                store.create_execution(&record(&id, "m", t)),
                Err(StoreError::AlreadyExists(_))
            ));
        }
        store
            .append_events(&id, &transition(2 * n + 1, "S", json!(n)))
            .unwrap();
        assert_eq!(store.history(&id).unwrap().len() as u64, 2 * n + 2);
    }
}

#[test]
fn concurrent_writers_share_commits_and_each_sees_its_own_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("store.db")).unwrap());
    let appends = 40;
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || write_concurrently(&store, t, appends))
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    for t in 0..16 {
        let history = store.history(&format!("g{t}")).unwrap();
        let payloads: Vec<Value> = history
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::StateEntered { input, .. } => Some(input.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(payloads, (0..appends).map(|n| json!(n)).collect::<Vec<_>>());
    }
}

const CONCURRENT_CRASH_CHILD: &str = "OCFLOW_STORE_CONCURRENT_CRASH_CHILD";

#[test]
fn acknowledged_concurrent_writes_survive_a_process_crash() {
    if let Ok(path) = std::env::var(CONCURRENT_CRASH_CHILD) {
        // The child: eight threads write at once; when all have returned, die at once.
        let store = Arc::new(SqliteStore::open(path).unwrap());
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let store = Arc::clone(&store);
                thread::spawn(move || write_concurrently(&store, t, 20))
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        std::process::abort();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    run_aborting_child(
        "acknowledged_concurrent_writes_survive_a_process_crash",
        CONCURRENT_CRASH_CHILD,
        &path,
    );
    let store = SqliteStore::open(&path).unwrap();
    for t in 0..8 {
        assert_eq!(store.history(&format!("g{t}")).unwrap().len(), 40);
    }
}

#[test]
fn concurrent_appends_from_many_threads_all_land_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("store.db")).unwrap());
    let threads = 6;
    let transitions = 200;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                let id = format!("e{t}");
                store.create_execution(&record(&id, "m", t)).unwrap();
                for n in 0..transitions {
                    store
                        .append_events(&id, &transition(2 * n + 1, "S", json!(n)))
                        .unwrap();
                    // Readers run beside the writer and see a prefix of the history.
                    if n % 50 == 0 {
                        assert_eq!(store.history(&id).unwrap().len() as u64, 2 * n + 2);
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    for t in 0..threads {
        let history = store.history(&format!("e{t}")).unwrap();
        let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
        assert_eq!(ids, (1..=2 * transitions).collect::<Vec<_>>());
    }
}

#[test]
fn a_finished_execution_never_changes() {
    let store = SqliteStore::in_memory().unwrap();
    store.create_execution(&record("a", "m", 1)).unwrap();
    assert!(store.finish_execution("a", &succeeded(5)).unwrap());
    for late in [
        ExecutionEnd {
            status: ExecutionStatus::Aborted,
            end_time: 6,
            output: None,
            error: None,
            cause: Some("stopped".into()),
        },
        succeeded(7),
    ] {
        assert!(!store.finish_execution("a", &late).unwrap());
    }
    let stored = store.execution("a").unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.end_time, stored.cause),
        (ExecutionStatus::Succeeded, Some(5), None)
    );
    assert!(matches!(
        store.finish_execution("nope", &succeeded(1)),
        Err(StoreError::NotFound(id)) if id == "nope"
    ));
    let not_final = ExecutionEnd {
        status: ExecutionStatus::Running,
        ..succeeded(8)
    };
    assert!(matches!(
        store.finish_execution("a", &not_final),
        Err(StoreError::Backend(message)) if message.contains("status RUNNING")
    ));
}

#[test]
fn finishing_races_have_one_winner() {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    store.create_execution(&record("a", "m", 1)).unwrap();
    let winners: usize = (0..8)
        .map(|n| {
            let store = Arc::clone(&store);
            thread::spawn(move || store.finish_execution("a", &succeeded(n)).unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| usize::from(h.join().unwrap()))
        .sum();
    assert_eq!(winners, 1);
}

#[test]
fn payloads_over_256_kib_are_refused_and_nothing_is_written() {
    let store = SqliteStore::in_memory().unwrap();
    let big = json!({"blob": "x".repeat(MAX_PAYLOAD_BYTES)});

    let mut too_big = record("big", "m", 1);
    too_big.input = big.clone();
    let error = store.create_execution(&too_big).unwrap_err();
    assert!(
        matches!(&error, StoreError::Backend(m) if m.starts_with("input of execution 'big' is 262")),
        "{error}"
    );
    assert_eq!(store.execution("big").unwrap(), None);
    let error = store
        .create_execution_with_events(&record("big", "m", 1), &transition(1, "S", big.clone()))
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Backend(m) if m.contains("history event 1 of execution 'big'")),
        "{error}"
    );
    assert_eq!(
        store.execution("big").unwrap(),
        None,
        "an execution is created with its first events or not at all"
    );

    store.create_execution(&record("a", "m", 1)).unwrap();
    let mut events = transition(1, "S", json!(1)).to_vec();
    events.extend(transition(3, "S", big.clone()));
    let error = store.append_events("a", &events).unwrap_err();
    assert!(
        matches!(&error, StoreError::Backend(m) if m.contains("history event 3 of execution 'a'")),
        "{error}"
    );
    assert!(
        store.history("a").unwrap().is_empty(),
        "a refused batch writes none of its events"
    );

    let end = ExecutionEnd {
        output: Some(big),
        ..succeeded(2)
    };
    assert!(store.finish_execution("a", &end).is_err());
    assert_eq!(
        store.execution("a").unwrap().unwrap().status,
        ExecutionStatus::Running
    );

    // Just under the limit is fine.
    let fits = json!("y".repeat(MAX_PAYLOAD_BYTES - 64));
    store.append_events("a", &transition(1, "S", fits)).unwrap();
}

/// Keeps the messages of resource `queue` in a table of the store's file; a message without
/// a body breaks the table's NOT NULL constraint.
#[derive(Default)]
struct TableOutbox {
    commits: std::sync::atomic::AtomicUsize,
}

impl Outbox for TableOutbox {
    fn prepare(&self, message: &Invocation) -> Option<OutboxWrite> {
        if message.resource != "queue" {
            return None;
        }
        let token = message.task_token.clone();
        let body = message.arguments.get("body").map(Value::to_string);
        Some(Box::new(move |conn| {
            conn.execute(
                "INSERT INTO outbox (token, body) VALUES (?1, ?2)",
                (token, body),
            )?;
            Ok(())
        }))
    }

    fn committed(&self) {
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn an_outbox_keeps_a_token_and_its_message_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    store
        .writer_connection()
        .execute_batch("CREATE TABLE outbox (token TEXT NOT NULL, body TEXT NOT NULL)")
        .unwrap();
    let outbox = Arc::new(TableOutbox::default());
    assert!(store.set_outbox(outbox.clone()).is_ok());
    assert!(
        store.set_outbox(Arc::new(TableOutbox::default())).is_err(),
        "set once"
    );
    let token = |name: &str| PendingToken {
        token: name.into(),
        execution_id: "a".into(),
        scope: String::new(),
        state: "Work".into(),
        issued_at: 2,
        heartbeat_deadline: None,
    };
    let message = |resource: &str, token: &str, arguments: Value| Invocation {
        resource: resource.into(),
        arguments,
        execution_id: "a".into(),
        state: "Work".into(),
        attempt: 0,
        task_token: Some(token.into()),
    };
    let queued = || -> Vec<(String, String)> {
        let conn = store.writer_connection();
        let mut select = conn
            .prepare("SELECT token, body FROM outbox ORDER BY rowid")
            .unwrap();
        select
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };

    let issue = |create: Option<&ExecutionRecord>,
                 events: &[HistoryEvent],
                 name: &str,
                 message: Invocation| {
        store.issue_token(&TokenIssue {
            execution_id: "a",
            create,
            events,
            token: &token(name),
            message: Some(&message),
        })
    };

    // Taken, in the write that also creates the execution: the message is in the outbox with
    // the execution, the events and the token.
    let created = record("a", "m", 1);
    let delivered = issue(
        Some(&created),
        &transition(1, "Work", json!(1)),
        "t1",
        message("queue", "t1", json!({"body": {"n": 1}})),
    )
    .unwrap();
    assert!(delivered);
    assert_eq!(store.execution("a").unwrap(), Some(created.clone()));
    assert_eq!(queued(), vec![("t1".to_owned(), r#"{"n":1}"#.to_owned())]);
    assert_eq!(outbox.commits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(store.history("a").unwrap().len(), 2);

    // Not this outbox's: the token is kept, the engine delivers the message itself.
    let delivered = issue(None, &[], "t2", message("lambda", "t2", json!({"body": 2}))).unwrap();
    assert!(!delivered);
    assert_eq!(queued().len(), 1);

    // A second creation of the same id is refused, and nothing of its write is kept.
    let again = issue(
        Some(&created),
        &transition(3, "Other", json!(3)),
        "t4",
        message("queue", "t4", json!({"body": 4})),
    )
    .unwrap_err();
    assert!(
        matches!(&again, StoreError::AlreadyExists(id) if id == "a"),
        "{again}"
    );

    // The message cannot be kept: neither are the token nor the events.
    let error = issue(
        None,
        &transition(3, "Next", json!(3)),
        "t3",
        message("queue", "t3", json!({})),
    )
    .unwrap_err();
    assert!(error.to_string().contains("NOT NULL"), "{error}");
    let pending: Vec<String> = store
        .pending_tokens("a")
        .unwrap()
        .into_iter()
        .map(|t| t.token)
        .collect();
    assert_eq!(pending, ["t1", "t2"]);
    assert_eq!(store.history("a").unwrap().len(), 2);
    assert_eq!(queued().len(), 1);
    assert_eq!(outbox.commits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_duplicate_event_id_is_refused_atomically() {
    let store = SqliteStore::in_memory().unwrap();
    store.create_execution(&record("a", "m", 1)).unwrap();
    store
        .append_events("a", &transition(1, "S", json!(1)))
        .unwrap();
    let mut again = transition(3, "T", json!(2)).to_vec();
    again.extend(transition(2, "T", json!(2)));
    let error = store.append_events("a", &again).unwrap_err();
    assert!(
        matches!(&error, StoreError::Backend(m) if m == "execution 'a' already has history event 2"),
        "{error}"
    );
    assert_eq!(store.history("a").unwrap().len(), 2);

    let mut twice = transition(1, "S", json!(1)).to_vec();
    twice.extend(transition(2, "S", json!(1)));
    assert!(
        store
            .create_execution_with_events(&record("b", "m", 1), &twice)
            .is_err()
    );
    assert_eq!(
        store.execution("b").unwrap(),
        None,
        "the creation is rolled back with the refused events"
    );
}

#[test]
fn tokens_need_an_execution_and_a_reissue_replaces() {
    let store = SqliteStore::in_memory().unwrap();
    let mut token = PendingToken {
        token: "t".into(),
        execution_id: "missing".into(),
        scope: String::new(),
        state: "wait".into(),
        issued_at: 1,
        heartbeat_deadline: None,
    };
    assert!(matches!(
        store.put_token(&token),
        Err(StoreError::NotFound(_))
    ));
    store.create_execution(&record("a", "m", 1)).unwrap();
    token.execution_id = "a".into();
    store.put_token(&token).unwrap();
    token.heartbeat_deadline = Some(9);
    store.put_token(&token).unwrap();
    assert_eq!(store.pending_tokens("a").unwrap(), vec![token.clone()]);
    assert_eq!(store.take_token("t").unwrap(), Some(token));
}

fn searchable_store() -> SqliteStore {
    let store = SqliteStore::in_memory().unwrap();
    let rows = [
        ("o1", "orders", 100, Some("cart-1"), None),
        ("o2", "orders", 200, Some("cart-2"), None),
        ("o3", "orders", 300, Some("cart-1"), None),
        ("p1", "payments", 150, Some("cart-1"), Some("o1")),
        ("p2", "payments", 250, None, Some("o3")),
    ];
    for (id, machine, start, correlation, parent) in rows {
        let mut r = record(id, machine, start);
        r.correlation_id = correlation.map(Into::into);
        r.parent_id = parent.map(Into::into);
        store.create_execution(&r).unwrap();
    }
    store.finish_execution("o1", &succeeded(110)).unwrap();
    let failed = ExecutionEnd {
        status: ExecutionStatus::Failed,
        end_time: 160,
        output: None,
        error: Some("Ocf.Http5xx".into()),
        cause: Some("503".into()),
    };
    store.finish_execution("p1", &failed).unwrap();
    store
}

fn ids(store: &SqliteStore, query: ExecutionQuery) -> Vec<String> {
    store
        .search_executions(&query)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

#[test]
fn search_filters_and_orders_newest_first() {
    let store = searchable_store();
    assert_eq!(
        ids(&store, ExecutionQuery::default()),
        ["o3", "p2", "o2", "p1", "o1"]
    );
    let orders = ExecutionQuery {
        machine: Some("orders".into()),
        ..ExecutionQuery::default()
    };
    assert_eq!(ids(&store, orders.clone()), ["o3", "o2", "o1"]);
    assert_eq!(
        ids(
            &store,
            ExecutionQuery {
                status: Some(ExecutionStatus::Running),
                ..orders.clone()
            }
        ),
        ["o3", "o2"]
    );
    assert_eq!(
        ids(
            &store,
            ExecutionQuery {
                started_from: Some(150),
                started_before: Some(300),
                ..ExecutionQuery::default()
            }
        ),
        ["p2", "o2", "p1"]
    );
    assert_eq!(
        ids(
            &store,
            ExecutionQuery {
                correlation_id: Some("cart-1".into()),
                ..ExecutionQuery::default()
            }
        ),
        ["o3", "p1", "o1"]
    );
    assert_eq!(
        ids(
            &store,
            ExecutionQuery {
                parent_id: Some("o3".into()),
                ..ExecutionQuery::default()
            }
        ),
        ["p2"]
    );
    assert_eq!(
        ids(
            &store,
            ExecutionQuery {
                limit: 2,
                offset: 1,
                ..ExecutionQuery::default()
            }
        ),
        ["p2", "o2"]
    );
    assert!(
        ids(
            &store,
            ExecutionQuery {
                machine: Some("nothing".into()),
                ..ExecutionQuery::default()
            }
        )
        .is_empty()
    );

    let failed = store
        .search_executions(&ExecutionQuery {
            status: Some(ExecutionStatus::Failed),
            ..ExecutionQuery::default()
        })
        .unwrap();
    assert_eq!(failed.len(), 1);
    let p1 = &failed[0];
    assert_eq!(
        (
            p1.id.as_str(),
            p1.machine.as_str(),
            p1.end_time,
            p1.error.as_deref(),
            p1.parent_id.as_deref()
        ),
        ("p1", "payments", Some(160), Some("Ocf.Http5xx"), Some("o1"))
    );
}

#[test]
fn counts_by_status_overall_and_per_machine() {
    let store = searchable_store();
    assert_eq!(
        store.count_by_status(None).unwrap(),
        vec![
            (ExecutionStatus::Failed, 1),
            (ExecutionStatus::Running, 3),
            (ExecutionStatus::Succeeded, 1)
        ]
    );
    assert_eq!(
        store.count_by_status(Some("orders")).unwrap(),
        vec![
            (ExecutionStatus::Running, 2),
            (ExecutionStatus::Succeeded, 1)
        ]
    );
    assert!(store.count_by_status(Some("nothing")).unwrap().is_empty());
}

#[test]
fn removing_an_execution_removes_its_history_and_tokens() {
    let store = searchable_store();
    store
        .append_events("o2", &transition(1, "S", json!(1)))
        .unwrap();
    let token = PendingToken {
        token: "t".into(),
        execution_id: "o2".into(),
        scope: String::new(),
        state: "S".into(),
        issued_at: 1,
        heartbeat_deadline: None,
    };
    store.put_token(&token).unwrap();
    assert!(store.remove_execution("o2").unwrap());
    assert!(!store.remove_execution("o2").unwrap());
    assert_eq!(store.execution("o2").unwrap(), None);
    assert!(store.history("o2").unwrap().is_empty());
    assert_eq!(store.take_token("t").unwrap(), None);
    // The id is free again.
    store
        .create_execution(&record("o2", "orders", 999))
        .unwrap();
    assert!(store.history("o2").unwrap().is_empty());
}

#[test]
fn new_files_have_2_kib_pages_and_older_files_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let page_size = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .unwrap()
    };
    let new = dir.path().join("new.db");
    SqliteStore::open(&new).unwrap();
    assert_eq!(page_size(&new), 2048);

    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch("PRAGMA page_size = 4096; CREATE TABLE kept (x);")
        .unwrap();
    let store = SqliteStore::open(&old).unwrap();
    store.create_execution(&record("a", "m", 1)).unwrap();
    drop(store);
    assert_eq!(page_size(&old), 4096);
    let store = SqliteStore::open(&old).unwrap();
    assert_eq!(store.execution("a").unwrap().unwrap().id, "a");
}

#[test]
fn a_newer_schema_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    assert!(matches!(
        SqliteStore::open(&path),
        Err(Error::SchemaTooNew { found: 999, .. })
    ));
}

#[test]
fn a_checkpoint_moves_every_commit_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    store.create_execution(&record("a", "m", 1)).unwrap();
    for n in 0..300 {
        store
            .append_events("a", &transition(2 * n + 1, "S", json!(n)))
            .unwrap();
    }
    store.checkpoint().unwrap();
    let wal = dir.path().join("store.db-wal");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    // `immutable=1` reads the database file alone, ignoring the log.
    let uri = format!("file:{}?immutable=1", path.display());
    let file_only = rusqlite::Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let events: i64 = file_only
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(events, 600);
    // Writing goes on after a checkpoint.
    store
        .append_events("a", &transition(601, "S", json!(0)))
        .unwrap();
    assert_eq!(store.history("a").unwrap().len(), 602);
}
