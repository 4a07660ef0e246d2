//! `ocflow serve` killed with SIGKILL while executions wait on a timer, on workers and on a
//! retry delay, then started again on the same database: every execution finishes with the
//! right output, a task a worker completed before the crash is not handed out again, and an
//! HTTP call that completed before the crash is not made again. A workflow that failed before
//! the crash is retried after it, from its failed task.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

/// How long the server may take to print its listening line.
const SERVER_READY: Duration = Duration::from_secs(30);
/// How long any one wait of the test may take.
const PATIENCE: Duration = Duration::from_secs(20);

/// `ocflow serve`, killed with SIGKILL on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ocflow"))
            .args(["serve", "--port", "0", "--db"])
            .arg(db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ocflow serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(SERVER_READY)
            .expect("ocflow serve prints its listening line");
        Server { child, url }
    }

    /// SIGKILL: no shutdown code runs.
    fn crash(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The OCF-like service the HTTP tasks call: counts the charges it receives, per order.
#[derive(Clone, Default)]
struct Payments {
    charges: Arc<Mutex<HashMap<String, u32>>>,
}

async fn charge(State(payments): State<Payments>, Json(body): Json<Value>) -> Json<Value> {
    let order = body["order"].as_str().unwrap_or_default().to_owned();
    *payments
        .charges
        .lock()
        .unwrap()
        .entry(order.clone())
        .or_default() += 1;
    Json(json!({"charged": order}))
}

impl Payments {
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/charge", post(charge))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}/charge")
    }

    fn count(&self, order: &str) -> u32 {
        self.charges
            .lock()
            .unwrap()
            .get(order)
            .copied()
            .unwrap_or(0)
    }
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    fn new(server: &Server) -> Client {
        ocflow_tasks::http::install_tls_provider();
        Client {
            http: reqwest::Client::new(),
            url: server.url.clone(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    async fn post(&self, path: &str, body: Value) -> String {
        let (status, text) = self.send(reqwest::Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&status), "POST {path}: {status} {text}");
        text
    }

    async fn workflow(&self, id: &str) -> Value {
        let (status, text) = self
            .send(reqwest::Method::GET, &format!("/api/workflow/{id}"), None)
            .await;
        assert_eq!(status, 200, "GET workflow {id}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Waits until `check` holds for the workflow; returns it.
    async fn wait_for(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let workflow = self.workflow(id).await;
            if check(&workflow) {
                return workflow;
            }
            assert!(Instant::now() < deadline, "{id}: {what}; now {workflow:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls up to `count` tasks of `task_type`, waiting up to `PATIENCE` for that many.
    async fn poll(&self, task_type: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        let mut tasks = Vec::new();
        while tasks.len() < count {
            let path = format!("/api/tasks/poll/{task_type}?workerid=crash-test");
            let (status, text) = self.send(reqwest::Method::GET, &path, None).await;
            match status {
                200 => tasks.push(serde_json::from_str::<Value>(&text).unwrap()),
                204 => {
                    assert!(
                        Instant::now() < deadline,
                        "{task_type}: {} of {count} tasks came",
                        tasks.len()
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => panic!("poll {task_type}: {other} {text}"),
            }
        }
        tasks
    }

    async fn answer(&self, task: &Value, status: &str, output: Value) {
        self.post(
            "/api/tasks",
            json!({"taskId": task["taskId"], "workflowInstanceId": task["workflowInstanceId"],
                   "status": status, "outputData": output, "reasonForIncompletion": "try again"}),
        )
        .await;
    }
}

fn task_status(workflow: &Value, reference: &str) -> Vec<String> {
    workflow["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["referenceTaskName"] == reference)
        .map(|t| t["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn register(client: &Client, charge_url: &str) {
    client
        .post(
            "/api/metadata/taskdefs",
            json!([
                {"name": "encode", "retryCount": 0},
                {"name": "flaky", "retryCount": 1, "retryLogic": "FIXED", "retryDelaySeconds": 3},
                {"name": "publish", "retryCount": 0}
            ]),
        )
        .await;
    let workflows = [
        json!({"name": "pay_then_wait", "version": 1, "schemaVersion": 2,
            "tasks": [
                {"name": "charge", "taskReferenceName": "charge", "type": "HTTP",
                 "inputParameters": {"http_request": {"uri": charge_url, "method": "POST",
                                     "body": {"order": "${workflow.input.order}"}}}},
                {"name": "cool_off", "taskReferenceName": "cool_off", "type": "WAIT",
                 "inputParameters": {"duration": "3 seconds"}}
            ],
            "outputParameters": {"charged": "${charge.output.response.body.charged}"}}),
        json!({"name": "two_workers", "version": 1, "schemaVersion": 2,
            "tasks": [
                {"name": "encode", "taskReferenceName": "first", "type": "SIMPLE",
                 "inputParameters": {"part": 1, "file": "${workflow.input.file}"}},
                {"name": "encode", "taskReferenceName": "second", "type": "SIMPLE",
                 "inputParameters": {"part": 2, "file": "${workflow.input.file}"}}
            ],
            "outputParameters": {"first": "${first.output.done}", "second": "${second.output.done}"}}),
        json!({"name": "retried", "version": 1, "schemaVersion": 2,
            "tasks": [
                {"name": "flaky", "taskReferenceName": "flaky", "type": "SIMPLE",
                 "inputParameters": {"n": "${workflow.input.n}"}}
            ],
            "outputParameters": {"result": "${flaky.output.result}"}}),
        json!({"name": "publish_after_pay", "version": 1, "schemaVersion": 2,
            "tasks": [
                {"name": "charge", "taskReferenceName": "charge", "type": "HTTP",
                 "inputParameters": {"http_request": {"uri": charge_url, "method": "POST",
                                     "body": {"order": "${workflow.input.order}"}}}},
                {"name": "publish", "taskReferenceName": "publish", "type": "SIMPLE",
                 "inputParameters": {"order": "${workflow.input.order}"}}
            ],
            "outputParameters": {"published": "${publish.output.url}"}}),
    ];
    for workflow in workflows {
        client.post("/api/metadata/workflow", workflow).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_survive_a_sigkill_of_ocflow_serve() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ocflow.db");
    let payments = Payments::default();
    let charge_url = payments.serve().await;

    let server = Server::start(&db);
    let client = Client::new(&server);
    register(&client, &charge_url).await;
    let mut paying = Vec::new();
    let mut encoding = Vec::new();
    let mut retrying = Vec::new();
    for n in 0..2 {
        let order = format!("o-{n}");
        paying.push((
            client
                .post("/api/workflow/pay_then_wait", json!({"order": order}))
                .await,
            order,
        ));
        let file = format!("f-{n}");
        encoding.push((
            client
                .post("/api/workflow/two_workers", json!({"file": file}))
                .await,
            file,
        ));
        retrying.push((
            client.post("/api/workflow/retried", json!({"n": n})).await,
            n,
        ));
    }

    // Before the crash: the charges are made and recorded, the first encode of each workflow
    // is completed, and the first attempt of each flaky task fails into its retry delay.
    for (id, _) in &paying {
        client
            .wait_for(id, "charged and waiting", |w| {
                task_status(w, "charge") == ["COMPLETED"]
                    && task_status(w, "cool_off") == ["IN_PROGRESS"]
            })
            .await;
    }
    for task in client.poll("encode", 2).await {
        assert_eq!(task["referenceTaskName"], "first");
        let file = task["inputData"]["file"].clone();
        client
            .answer(
                &task,
                "COMPLETED",
                json!({"done": format!("{}:1", file.as_str().unwrap())}),
            )
            .await;
    }
    for (id, _) in &encoding {
        client
            .wait_for(id, "the second encode is queued", |w| {
                task_status(w, "first") == ["COMPLETED"] && task_status(w, "second").len() == 1
            })
            .await;
    }
    for task in client.poll("flaky", 2).await {
        client.answer(&task, "FAILED", json!({})).await;
    }
    for (id, _) in &retrying {
        client
            .wait_for(id, "the first attempt failed", |w| {
                task_status(w, "flaky").first().map(String::as_str) == Some("FAILED")
            })
            .await;
    }
    // A workflow that failed before the crash, to be retried after it.
    let failed = client
        .post(
            "/api/workflow/publish_after_pay",
            json!({"order": "o-retry"}),
        )
        .await;
    for task in client.poll("publish", 1).await {
        client
            .answer(&task, "FAILED_WITH_TERMINAL_ERROR", json!({}))
            .await;
    }
    client
        .wait_for(&failed, "failed", |w| w["status"] == "FAILED")
        .await;
    let crashed_at = Instant::now();
    server.crash();

    let server = Server::start(&db);
    let client = Client::new(&server);
    // The second encodes are handed out, never the first ones again.
    let mut answered = Vec::new();
    for task in client.poll("encode", 2).await {
        assert_eq!(
            task["referenceTaskName"], "second",
            "a completed task came back: {task:#}"
        );
        let file = task["inputData"]["file"].as_str().unwrap().to_owned();
        answered.push(file.clone());
        client
            .answer(&task, "COMPLETED", json!({"done": format!("{file}:2")}))
            .await;
    }
    answered.sort();
    assert_eq!(answered, ["f-0", "f-1"]);
    // The retries come once their delay, counted from before the crash, has passed.
    for task in client.poll("flaky", 2).await {
        assert_eq!(task["retryCount"], 1, "{task:#}");
        let n = task["inputData"]["n"].clone();
        client
            .answer(&task, "COMPLETED", json!({"result": n}))
            .await;
    }

    // Retry after the restart: the charge is not made again, the publish task runs again.
    client
        .post(&format!("/api/workflow/{failed}/retry"), json!({}))
        .await;
    for task in client.poll("publish", 1).await {
        assert_eq!(task["workflowInstanceId"], failed.as_str());
        client
            .answer(&task, "COMPLETED", json!({"url": "s3://o-retry"}))
            .await;
    }

    let done = |w: &Value| w["status"] != "RUNNING";
    let retried = client.wait_for(&failed, "completed", done).await;
    assert_eq!(retried["status"], "COMPLETED", "{retried:#}");
    assert_eq!(retried["output"], json!({"published": "s3://o-retry"}));
    assert_eq!(task_status(&retried, "charge"), ["COMPLETED"]);
    assert_eq!(task_status(&retried, "publish"), ["FAILED", "COMPLETED"]);
    assert_eq!(
        payments.count("o-retry"),
        1,
        "the retry did not charge again"
    );
    for (id, order) in &paying {
        let workflow = client.wait_for(id, "completed", done).await;
        assert_eq!(workflow["status"], "COMPLETED", "{workflow:#}");
        assert_eq!(workflow["output"], json!({"charged": order}));
        assert_eq!(payments.count(order), 1, "{order} was charged once");
    }
    for (id, file) in &encoding {
        let workflow = client.wait_for(id, "completed", done).await;
        assert_eq!(workflow["status"], "COMPLETED", "{workflow:#}");
        assert_eq!(
            workflow["output"],
            json!({"first": format!("{file}:1"), "second": format!("{file}:2")})
        );
    }
    for (id, n) in &retrying {
        let workflow = client.wait_for(id, "completed", done).await;
        assert_eq!(workflow["status"], "COMPLETED", "{workflow:#}");
        assert_eq!(workflow["output"], json!({"result": n}));
        assert_eq!(task_status(&workflow, "flaky"), ["FAILED", "COMPLETED"]);
    }
    assert!(
        crashed_at.elapsed() < PATIENCE,
        "the waits resumed toward their recorded deadlines"
    );
    let (status, _) = client
        .send(reqwest::Method::GET, "/api/tasks/poll/encode", None)
        .await;
    assert_eq!(status, 204, "nothing is left to hand out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_that_cannot_resume_does_not_keep_the_others_from_finishing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ocflow.db");
    let server = Server::start(&db);
    let client = Client::new(&server);
    client
        .post(
            "/api/metadata/workflow",
            json!({"name": "pause", "version": 1, "schemaVersion": 2,
                "tasks": [{"name": "pause", "taskReferenceName": "pause", "type": "WAIT",
                           "inputParameters": {"duration": "2 seconds"}}],
                "outputParameters": {"n": "${workflow.input.n}"}}),
        )
        .await;
    let broken = client.post("/api/workflow/pause", json!({"n": 1})).await;
    let sound = client.post("/api/workflow/pause", json!({"n": 2})).await;
    for id in [&broken, &sound] {
        client
            .wait_for(id, "waiting", |w| {
                task_status(w, "pause") == ["IN_PROGRESS"]
            })
            .await;
    }
    server.crash();

    // The stored machine of one execution is damaged while the server is down.
    let connection = rusqlite::Connection::open(&db).unwrap();
    connection
        .execute(
            r#"INSERT INTO definitions (body) VALUES ('{"StartAt": "Gone", "States": {}}')"#,
            [],
        )
        .unwrap();
    let changed = connection
        .execute(
            "UPDATE executions SET definition_id = last_insert_rowid() WHERE id = ?1",
            [&broken],
        )
        .unwrap();
    assert_eq!(changed, 1, "the execution row of {broken}");
    drop(connection);

    let server = Server::start(&db);
    let client = Client::new(&server);
    let done = client
        .wait_for(&sound, "completed after the restart", |w| {
            w["status"] == "COMPLETED"
        })
        .await;
    assert_eq!(done["output"], json!({"n": 2}));
    assert_eq!(
        client.workflow(&broken).await["status"],
        "RUNNING",
        "the damaged execution is left as it was, for a person to look at"
    );
}
