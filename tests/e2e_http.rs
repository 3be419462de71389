//! The HTTP face as clients other than MCP libraries meet it: what a closed
//! session, a foreign Host header and a missing token get back, and what a
//! Prometheus scrape of `/metrics` sees.

mod support;

use serde_json::{Value, json};
use support::{Serve, TOKEN};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"0"}}}"#;
const ACCEPT: (&str, &str) = ("Accept", "application/json, text/event-stream");
const JSON: (&str, &str) = ("Content-Type", "application/json");

#[test]
fn closing_a_session_is_answered_204() {
    // given: a session opened with a token
    let serve = Serve::start();
    let auth = format!("Bearer {TOKEN}");
    let opened = support::http(
        serve.http,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("Authorization", &auth)],
        INITIALIZE,
    );
    assert_eq!(opened.status, 200, "{opened:?}");
    let session = opened.header("mcp-session-id").expect("a session id").to_string();

    // when
    let closed = support::http(
        serve.http,
        "DELETE",
        "/mcp",
        &[("Authorization", &auth), ("Mcp-Session-Id", &session)],
        "",
    );

    // then: 204 is what every client accepts (the Python SDK warns on 202)
    assert_eq!(closed.status, 204, "{closed:?}");
}

#[test]
fn a_foreign_host_header_is_refused_with_the_setting_that_admits_it() {
    // given
    let serve = Serve::start();
    let auth = format!("Bearer {TOKEN}");

    // when
    let refused = support::http(
        serve.http,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("Authorization", &auth), ("Host", "flows.example.net")],
        INITIALIZE,
    );

    // then
    assert_eq!(refused.status, 403, "{refused:?}");
    let body: Value = serde_json::from_str(&refused.body).expect("a JSON body");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains("flows.example.net"), "{message}");
    assert!(message.contains("mcp.allowed_hosts"), "{message}");
}

#[test]
fn a_missing_token_gets_401_with_a_bearer_challenge_and_says_how_to_send_one() {
    // given
    let serve = Serve::start();

    // when
    let refused = support::http(serve.http, "POST", "/mcp", &[JSON, ACCEPT], INITIALIZE);

    // then
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.header("www-authenticate"), Some("Bearer realm=\"flowsage\""));
    let body: Value = serde_json::from_str(&refused.body).expect("a JSON body");
    assert!(body["error"].as_str().unwrap_or_default().contains("Authorization: Bearer"));
    assert_eq!(serve.healthz()["status"], json!("ok"));
}

#[test]
fn metrics_need_no_token_and_list_every_listener_from_the_start() {
    // given
    let serve = Serve::start();

    // when
    let metrics = support::http(serve.http, "GET", "/metrics", &[], "");

    // then
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let content_type = metrics.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let lines: Vec<&str> = metrics.body.lines().collect();
    let listener = format!(
        "flowsage_listener_datagrams_total{{listener=\"127.0.0.1:{}\"}} 0",
        serve.flow_port
    );
    for expected in
        [listener.as_str(), "flowsage_writer_rows_written_total 0", "flowsage_spool_batches 0"]
    {
        assert!(lines.contains(&expected), "missing {expected:?} in:\n{}", metrics.body);
    }
}
