//! The HTTP face: MCP over Streamable HTTP at `/mcp` behind bearer tokens,
//! `/healthz`, and Prometheus metrics at `/metrics`.
//!
//! Authentication is ordinary axum middleware around the MCP service: a
//! request without a known token gets 401 with `WWW-Authenticate` before it
//! reaches MCP. Tokens are compared in constant time. `/healthz` and
//! `/metrics` need no token: they carry counts, never flow data, and
//! monitoring systems scrape them without credentials.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flowsage_ingest::collector::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use crate::mcp::FlowsageServer;

/// Host names always accepted: loopback, as a local client sends them.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The accepted bearer tokens.
#[derive(Clone)]
pub struct Tokens(Arc<Vec<Vec<u8>>>);

impl Tokens {
    pub fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        Self(Arc::new(
            tokens.into_iter().filter(|t| !t.is_empty()).map(String::into_bytes).collect(),
        ))
    }

    fn accepts(&self, presented: &[u8]) -> bool {
        // Check every token so the time taken does not say which one matched.
        self.0
            .iter()
            .fold(false, |found, token| found | bool::from(token.as_slice().ct_eq(presented)))
    }
}

/// The router serving `/mcp`, `/healthz` and `/metrics`; `health` answers
/// `/healthz` and `metrics` gives the Prometheus text of `/metrics`.
pub fn router(
    server: FlowsageServer,
    tokens: Tokens,
    allowed_hosts: &[String],
    health: impl Fn() -> serde_json::Value + Clone + Send + Sync + 'static,
    metrics: impl Fn() -> String + Clone + Send + Sync + 'static,
    shutdown: CancellationToken,
) -> Router {
    let hosts: Vec<String> =
        LOOPBACK_HOSTS.iter().map(|h| h.to_string()).chain(allowed_hosts.iter().cloned()).collect();
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_cancellation_token(shutdown);
    let mcp = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );

    Router::new()
        .route_service("/mcp", mcp)
        .route_layer(middleware::from_fn(explain_refusals))
        .route_layer(middleware::from_fn_with_state(tokens, require_token))
        .route("/healthz", get(move || async move { axum::Json(health()) }))
        .route(
            "/metrics",
            get(move || async move { ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], metrics()) }),
        )
}

async fn require_token(State(tokens): State<Tokens>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().as_bytes().to_vec());
    match presented {
        Some(token) if tokens.accepts(&token) => next.run(request).await,
        _ => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "missing or unknown bearer token: send Authorization: Bearer <token> \
                              with a token from mcp.tokens or FLOWSAGE_MCP_TOKENS"
                })),
            )
                .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"flowsage\""),
            );
            response
        }
    }
}

/// Adjusts two answers of the MCP service that clients misread: a closed
/// session (DELETE) is answered 204, which every client accepts, instead of
/// 202; and a refused Host header says which setting admits it.
async fn explain_refusals(request: Request, next: Next) -> Response {
    let deleting = request.method() == Method::DELETE;
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut response = next.run(request).await;

    if deleting && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
    } else if response.status() == StatusCode::FORBIDDEN {
        let message = format!(
            "the Host header {host:?} is not accepted: add it to mcp.allowed_hosts \
             (loopback names are always accepted)"
        );
        response = (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({ "error": message })))
            .into_response();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_tokens_are_accepted() {
        // given
        let tokens = Tokens::new(["s3cret-token".to_string(), String::new()]);

        // then
        assert!(tokens.accepts(b"s3cret-token"));
        assert!(!tokens.accepts(b"s3cret-toke"));
        assert!(!tokens.accepts(b""), "an empty configured token must not open the door");
    }
}
