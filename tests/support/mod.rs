//! Helpers of the end-to-end tests: a running `flowsage serve`, the Python
//! scripts under `tests/e2e/`, a plain HTTP probe and the check that the
//! external tools the tests drive are installed.
//!
//! [`Serve`] owns a child process, its temporary config and data directory;
//! dropping it kills the child, so a failing assertion leaves nothing
//! behind. [`python_json`] runs a script in its own process group and parses
//! the JSON it prints; the scripts report and the Rust tests assert.
//! Everything listens on 127.0.0.1, and every wait has a deadline.
//!
//! Not here: an HTTP client. [`http`] speaks just enough HTTP/1.1 over a
//! `TcpStream` to see a status, headers and a `Content-Length` body.
#![allow(dead_code, reason = "each test binary uses its own part of this module")]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The bearer token the test configs accept.
pub const TOKEN: &str = "e2e-test-token-0123456789";
/// How long `flowsage serve` may take to open its store and answer /healthz.
const SERVE_START_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts at starting `serve` when its UDP port was taken in the meantime.
const SERVE_START_ATTEMPTS: u32 = 3;
/// Timeout of a single HTTP probe.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Where the test dependencies are installed from.
const TEST_DEPS: &str = "scripts/test-deps installs every end-to-end test dependency";

/// The repository root: scripts and configs are found from here.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `flowsage` binary cargo built for these tests.
pub fn flowsage_bin() -> &'static str {
    env!("CARGO_BIN_EXE_flowsage")
}

/// Directories searched after `PATH`: a user's `PATH` often lacks them, and
/// Debian installs softflowd in `/usr/sbin`. `replay.py` searches the same.
const SBIN_DIRS: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// Fails the test, naming the package to install, when `program` is not installed.
pub fn require_program(program: &str, package: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(SBIN_DIRS.iter().map(PathBuf::from));
    let found = dirs.iter().any(|dir| {
        let meta = dir.join(program).metadata();
        meta.is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    });
    assert!(
        found,
        "{program} is not installed (not on PATH, nor in {SBIN_DIRS:?}): install the Debian \
         package `{package}` ({TEST_DEPS})"
    );
}

/// Fails the test when python3 or its `mcp` package (with `httpx2`) is missing.
pub fn require_python_mcp() {
    require_program("python3", "python3");
    let probe = Command::new(python_program())
        .args(["-c", "import mcp, httpx2, mcp.client.streamable_http, mcp.client.stdio"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "the Python package `mcp` (2.3 or later) is not importable by python3: install it with \
         `pip install mcp` ({TEST_DEPS}); python said: {}",
        String::from_utf8_lossy(&probe.stderr).trim()
    );
}

/// Fails the test unless every tool the flow tests drive is installed.
pub fn require_flow_tools() {
    require_program("softflowd", "softflowd");
    require_program("nfcapd", "nfdump");
    require_program("nfdump", "nfdump");
    require_python_mcp();
}

/// A free UDP port on 127.0.0.1 (free when asked; `Serve::start` retries if taken).
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral UDP port");
    socket.local_addr().expect("a local address").port()
}

/// The `[store]` section of the test configs: the embedded engine.
pub const EMBEDDED_STORE: &str = "[store]\ndata_dir = \"data\"\n";

/// A flowsage config for tests: flows on `flow_port`, MCP on an ephemeral port.
/// The data directory is written relative ("data", next to the file), the
/// way an operator writes it, so every test also checks that paths resolve
/// against the config file wherever flowsage is started from.
pub fn write_config(dir: &Path, flow_port: u16) -> PathBuf {
    write_config_with_store(dir, flow_port, EMBEDDED_STORE)
}

/// [`write_config`] with `store` as the whole `[store]` section (and its
/// subsections); it should keep `data_dir = "data"`.
pub fn write_config_with_store(dir: &Path, flow_port: u16, store: &str) -> PathBuf {
    let mut text = String::new();
    writeln!(text, "{store}").unwrap();
    writeln!(text, "[flow]\nlisten = [\"127.0.0.1:{flow_port}\"]\nbatch_interval_ms = 200")
        .unwrap();
    writeln!(text, "[mcp]\nlisten = \"127.0.0.1:0\"\ntokens = [\"{TOKEN}\"]").unwrap();
    // Per-flow comparisons read every row: more than the default cut.
    writeln!(text, "[tools]\nmax_rows = 10000").unwrap();
    let path = dir.join("flowsage.toml");
    std::fs::write(&path, text).expect("write the test config");
    path
}

/// How long `flowsage serve` may take to stop after SIGTERM.
const SERVE_STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `flowsage serve` on a fresh data directory; killed when dropped.
pub struct Serve {
    child: Child,
    /// Holds the config, data directory and log; removed after the child is
    /// gone unless the test owns it ([`Serve::start_in`]).
    dir: Workdir,
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub flow_port: u16,
    /// Address of the HTTP server (`/mcp`, `/healthz`).
    pub http: SocketAddr,
    pub mcp_url: String,
}

/// The directory of a [`Serve`]: its own, or one the test keeps across
/// several servers.
enum Workdir {
    Owned(TempDir),
    Borrowed(PathBuf),
}

impl Workdir {
    fn path(&self) -> &Path {
        match self {
            Workdir::Owned(dir) => dir.path(),
            Workdir::Borrowed(dir) => dir,
        }
    }
}

impl Serve {
    /// Starts `flowsage serve` and returns once `/healthz` answers 200.
    pub fn start() -> Serve {
        Self::start_with(
            || Workdir::Owned(tempfile::tempdir().expect("a temp dir")),
            EMBEDDED_STORE,
        )
    }

    /// Starts `flowsage serve` in `dir`, which the test keeps (a later
    /// server may start in it again), with `store` as its `[store]` section.
    /// Its log is `serve.log` there, appended to.
    pub fn start_in(dir: &Path, store: &str) -> Serve {
        Self::start_with(|| Workdir::Borrowed(dir.to_path_buf()), store)
    }

    fn start_with(dir: impl Fn() -> Workdir, store: &str) -> Serve {
        let mut failures = String::new();
        for _ in 0..SERVE_START_ATTEMPTS {
            match Self::try_start(dir(), store) {
                Ok(serve) => return serve,
                // Another process took the UDP port between our probe and serve's bind.
                Err(log) if log.contains("cannot bind UDP") => failures.push_str(&log),
                Err(log) => panic!("flowsage serve did not start; its log:\n{log}"),
            }
        }
        panic!("flowsage serve found no free UDP port in {SERVE_START_ATTEMPTS} tries:\n{failures}")
    }

    fn try_start(dir: Workdir, store: &str) -> Result<Serve, String> {
        let flow_port = free_udp_port();
        let config = write_config_with_store(dir.path(), flow_port, store);
        let data_dir = dir.path().join("data");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("serve.log"))
            .expect("open the log");
        let child = Command::new(flowsage_bin())
            .args(["-c".as_ref(), config.as_os_str(), "serve".as_ref()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn flowsage serve");
        let mut serve = Serve {
            child,
            dir,
            config,
            data_dir,
            flow_port,
            http: "127.0.0.1:0".parse().unwrap(),
            mcp_url: String::new(),
        };

        let deadline = Instant::now() + SERVE_START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = serve.child.try_wait() {
                return Err(format!("(exited with {status})\n{}", serve.log()));
            }
            if let Some(url) = serve.mcp_url_from_note() {
                serve.http = url
                    .trim_start_matches("http://")
                    .trim_end_matches("/mcp")
                    .parse()
                    .expect("serve.json holds http://ADDR/mcp");
                serve.mcp_url = url;
                if serve.get("/healthz").is_some_and(|r| r.status == 200) {
                    return Ok(serve);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "(no healthy /healthz in {SERVE_START_TIMEOUT:?})\n{}",
                    serve.log()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The MCP URL this child wrote to `serve.json`, once it has.
    fn mcp_url_from_note(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.data_dir.join("serve.json")).ok()?;
        let note: Value = serde_json::from_str(&text).ok()?;
        (note["pid"].as_u64()? == u64::from(self.child.id()))
            .then(|| note["mcp_url"].as_str().map(str::to_owned))?
    }

    fn get(&self, path: &str) -> Option<HttpResponse> {
        try_http(self.http, "GET", path, &[], "").ok()
    }

    /// Stops the server with SIGTERM, as an init system would, and waits
    /// for it to exit; panics with its log if it does not exit cleanly.
    pub fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + SERVE_STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for flowsage serve") {
                assert!(status.success(), "flowsage serve exited with {status}:\n{}", self.log());
                return;
            }
            assert!(
                Instant::now() < deadline,
                "flowsage serve did not stop in {SERVE_STOP_TIMEOUT:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The text of `/metrics`.
    pub fn metrics(&self) -> String {
        let response = http(self.http, "GET", "/metrics", &[], "");
        assert_eq!(response.status, 200, "/metrics: {response:?}");
        response.body
    }

    /// The JSON of `/healthz`.
    pub fn healthz(&self) -> Value {
        let response = http(self.http, "GET", "/healthz", &[], "");
        assert_eq!(response.status, 200, "/healthz: {response:?}");
        serde_json::from_str(&response.body).expect("/healthz is JSON")
    }

    /// What the server logged so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// A scratch directory that lives as long as the server.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).expect("create a scratch dir");
        path
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python that has the `mcp` client: the virtual environment
/// scripts/test-deps makes where the system Python refuses packages
/// (Debian's PEP 668 marker), else `python3`.
pub fn python_program() -> PathBuf {
    let venv = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/flowsage/venv/bin/python3"));
    venv.filter(|python| python.exists()).unwrap_or_else(|| PathBuf::from("python3"))
}

/// Runs `tests/e2e/<script>` with python3 and returns the JSON it printed last.
///
/// The script runs in its own process group, and the whole group is killed
/// when it outlives `timeout`, so the tools it started do not linger.
pub fn python_json(script: &str, args: &[&str], timeout: Duration) -> Value {
    let stdout = python(script, args, timeout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|err| panic!("{script} printed no JSON ({err}); stdout:\n{stdout}"))
}

/// Runs `tests/e2e/<script>` with python3 and returns its stdout; panics if it fails.
pub fn python(script: &str, args: &[&str], timeout: Duration) -> String {
    let path = root().join("tests/e2e").join(script);
    let mut child = Command::new(python_program())
        .arg(&path)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|err| panic!("spawn python3 {}: {err}", path.display()));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));

    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python3") {
            break Some(status);
        }
        if Instant::now() > deadline {
            // The negative id names the group this child leads.
            let _ =
                Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");

    match status {
        Some(status) if status.success() => stdout,
        Some(status) => panic!("{script} {args:?} failed ({status}):\n{stderr}\nstdout:\n{stdout}"),
        None => panic!("{script} {args:?} ran longer than {timeout:?}; killed:\n{stderr}"),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// An HTTP response as [`http`] reads it.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection; panics on I/O errors.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    try_http(addr, method, path, headers, body)
        .unwrap_or_else(|err| panic!("in {method} http://{addr}{path}: {err}"))
}

fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;

    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
        write!(request, "Host: {addr}\r\n").unwrap();
    }
    for (name, value) in headers {
        write!(request, "{name}: {value}\r\n").unwrap();
    }
    write!(request, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;

    let text = String::from_utf8_lossy(&raw);
    let bad = |what: &str| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{what}: {text}"))
    };
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Ok(HttpResponse { status, headers, body: body.to_string() })
}
