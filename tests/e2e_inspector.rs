//! The MCP Inspector's command-line client, a client flowsage did not write,
//! against `flowsage serve` over Streamable HTTP with bearer tokens.
//!
//! Each test starts its own server on loopback ports the system picks (it
//! learns the MCP URL from the `serve.json` note in the data directory) and
//! runs `scripts/inspector`, which installs Node 22 and a pinned Inspector
//! from the npm registry on first use (about a minute) and is quick after
//! that. When the install fails the tests fail and name the script: they
//! are never skipped. The Inspector runs with `--format json`, so its result
//! is one JSON object on stdout and a failure one JSON envelope on stderr,
//! and with its own state kept in a temporary directory.
//!
//! Not covered: OAuth (flowsage has none) and the Inspector's web UI.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Serve, TOKEN};
use tempfile::TempDir;

/// The tools flowsage serves.
const TOOLS: [&str; 4] = ["list_tables", "describe_table", "query_sql", "exporters"];

/// Exit codes of the Inspector's CLI, as its `EXIT_CODES` table names them.
const EXIT_AUTH_REQUIRED: i32 = 3;
const EXIT_TOOL_ERROR: i32 = 5;

/// The first run downloads Node 22 and the Inspector's 120 packages.
const INSTALL_DEADLINE: Duration = Duration::from_secs(600);
const INSPECTOR_DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn with_a_token_the_inspector_lists_the_tools_and_calls_query_sql() {
    // given
    let inspector = Inspector::installed();
    let server = Serve::start();
    let auth = format!("Authorization: Bearer {TOKEN}");

    // when
    let listed = inspector.run(&server.mcp_url, &["--header", &auth, "--method", "tools/list"]);

    // then
    assert_eq!(listed.code(), 0, "tools/list failed\n{listed}");
    let tools = listed.result();
    let mut names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools array\n{listed}"))
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    names.sort_unstable();
    let mut expected = TOOLS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "\n{listed}");

    // when
    let counted = inspector.run(
        &server.mcp_url,
        &[
            "--header",
            &auth,
            "--method",
            "tools/call",
            "--tool-name",
            "query_sql",
            "--tool-arg",
            "sql=SELECT count() AS n FROM flows",
        ],
    );

    // then: a fresh store has no flows, said both as structured content and as text
    assert_eq!(counted.code(), 0, "query_sql failed\n{counted}");
    let result = counted.result();
    assert_eq!(result["isError"], Value::Bool(false), "\n{counted}");
    assert_eq!(result["structuredContent"]["rows"], serde_json::json!([[0]]), "\n{counted}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains(r#""rows":[[0]]"#), "the text content lacks the rows\n{counted}");

    // when
    let dropped = inspector.run(
        &server.mcp_url,
        &[
            "--header",
            &auth,
            "--method",
            "tools/call",
            "--tool-name",
            "query_sql",
            "--tool-arg",
            "sql=DROP TABLE flows",
        ],
    );

    // then: a tool result with isError, which the Inspector reports as a tool
    // error (exit 5), not a JSON-RPC error
    assert_eq!(dropped.code(), EXIT_TOOL_ERROR, "\n{dropped}");
    assert_eq!(dropped.envelope()["code"], "tool_is_error", "\n{dropped}");
    let result = dropped.result();
    assert_eq!(result["isError"], Value::Bool(true), "\n{dropped}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("query rejected"),
        "the error does not say the query was rejected\n{dropped}"
    );
}

#[test]
fn without_a_valid_token_the_inspector_is_turned_away_with_401() {
    // given
    let inspector = Inspector::installed();
    let server = Serve::start();

    // when: what CI would type, never starting an OAuth login
    let anonymous =
        inspector.run(&server.mcp_url, &["--stored-auth-only", "--method", "tools/list"]);
    let wrong = inspector.run(
        &server.mcp_url,
        &[
            "--stored-auth-only",
            "--header",
            "Authorization: Bearer not-the-token-0123456789",
            "--method",
            "tools/list",
        ],
    );

    // then: the Inspector reads the 401 as "auth required" and shows our body
    for outcome in [&anonymous, &wrong] {
        assert_eq!(outcome.code(), EXIT_AUTH_REQUIRED, "\n{outcome}");
        assert_eq!(outcome.envelope()["code"], "auth_required", "\n{outcome}");
        let message = outcome.envelope()["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("missing or unknown bearer token"), "\n{outcome}");
        assert!(!outcome.stdout.contains("query_sql"), "tools leaked\n{outcome}");
    }

    // when: what an operator types, from a pipe rather than a terminal
    let operator = inspector.run(
        &server.mcp_url,
        &["--header", "Authorization: Bearer not-the-token-0123456789", "--method", "tools/list"],
    );

    // then: after the 401 the Inspector wants an OAuth login, which needs a
    // terminal. TODO: at a terminal it tries OAuth discovery on flowsage's
    // origin and ends in "Dynamic Client Registration rejected (HTTP 404)",
    // which does not tell the operator to send a token; a 401 that points
    // to no authorization server should make it stop at "auth required"
    assert_eq!(operator.code(), EXIT_AUTH_REQUIRED, "\n{operator}");
    assert_eq!(operator.envelope()["code"], "auth_required", "\n{operator}");

    // and: the answer the Inspector got is a 401 with a bearer challenge
    let initialize = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"0"}}}"#;
    let headers =
        [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
    let answer = support::http(server.http, "POST", "/mcp", &headers, initialize);
    assert_eq!(answer.status, 401, "{answer:?}");
    let challenge = answer.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{answer:?}");
}

/// `scripts/inspector` with the Inspector's state kept out of `$HOME`.
struct Inspector {
    script: PathBuf,
    state: TempDir,
}

impl Inspector {
    /// Installs Node 22 and the Inspector if needed; fails the test if it cannot.
    fn installed() -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/inspector");
        let state = tempfile::tempdir().expect("a temporary directory");
        let inspector = Self { script, state };

        let mut command = inspector.command();
        command.arg("--install-only");
        let install = run_until(command, INSTALL_DEADLINE, inspector.state.path(), "install");

        assert_eq!(
            install.code(),
            0,
            "scripts/inspector could not install Node 22 and the MCP Inspector from the npm \
             registry; run `scripts/inspector --install-only` to see why\n{install}"
        );
        inspector
    }

    fn command(&self) -> Command {
        let state = self.state.path();
        let mut command = Command::new(&self.script);
        command
            .env("MCP_CATALOG_PATH", state.join("mcp.json"))
            .env("MCP_CLIENT_CONFIG_PATH", state.join("client.json"))
            .env("MCP_STORAGE_DIR", state.join("storage"))
            .env("MCP_INSPECTOR_OAUTH_STATE_PATH", state.join("oauth.json"))
            .env("MCP_INSPECTOR_SECRET_STORE", "memory")
            .env("NO_COLOR", "1")
            .env_remove("MCP_AUTO_OPEN_ENABLED");
        command
    }

    /// Runs the Inspector's CLI against `url` over Streamable HTTP.
    fn run(&self, url: &str, args: &[&str]) -> Outcome {
        let mut command = self.command();
        command.args([url, "--transport", "http", "--format", "json"]).args(args);
        let label = args.join(" ");
        run_until(command, INSPECTOR_DEADLINE, self.state.path(), &label)
    }
}

/// What one finished process printed.
struct Outcome {
    label: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn code(&self) -> i32 {
        self.status.code().unwrap_or_else(|| panic!("killed by a signal\n{self}"))
    }

    /// The `result` of the JSON object on stdout.
    fn result(&self) -> Value {
        let value: Value = serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|err| panic!("stdout is not JSON: {err}\n{self}"));
        value.get("result").cloned().unwrap_or_else(|| panic!("no result on stdout\n{self}"))
    }

    /// The `error` envelope, the last JSON line on stderr.
    fn envelope(&self) -> Value {
        self.stderr
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str::<Value>(line).ok())
            .and_then(|value| value.get("error").cloned())
            .unwrap_or_else(|| panic!("no error envelope on stderr\n{self}"))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- scripts/inspector {}: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.label, self.status, self.stdout, self.stderr
        )
    }
}

/// Kills the process when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` with output in files under `dir`, killing it past `deadline`.
fn run_until(mut command: Command, deadline: Duration, dir: &Path, label: &str) -> Outcome {
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    let out = std::fs::File::create(&out_path).expect("a stdout file");
    let err = std::fs::File::create(&err_path).expect("a stderr file");
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|err| panic!("scripts/inspector could not be started: {err}"));
    let mut child = Reaped(child);

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("the process status") {
            break status;
        }
        if started.elapsed() > deadline {
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            panic!(
                "scripts/inspector {label}: no answer within {deadline:?}\n--- stderr\n{stderr}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    Outcome {
        label: label.to_string(),
        status,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}
