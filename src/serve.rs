//! `flowsage serve`: the collector, the store and MCP over HTTP in one
//! process, until SIGINT or SIGTERM.

use std::sync::Arc;

use anyhow::{Context, bail};
use flowsage_agent::http::{Tokens, router};
use flowsage_agent::mcp::FlowsageServer;
use flowsage_ingest::collector::Collector;
use flowsage_ingest::store::{Backend, Store};
use flowsage_tools::Toolbox;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::runtime::{ServeNote, lock_data_dir, random_token, read_note};

/// Runs the server until a shutdown signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let lock = lock_data_dir(&config.store.data_dir)?;
    let Some(lock) = lock else {
        let holder = read_note(&config.store.data_dir)
            .map(|note| format!(" (pid {}, serving {})", note.pid, note.mcp_url))
            .unwrap_or_default();
        bail!(
            "another flowsage process holds {}{holder}; stop it or set store.data_dir to another directory",
            config.store.data_dir.display()
        );
    };

    let store = Store::open(&config.store).await.context("in opening the store")?;
    let collector = Collector::start(&config.flow, store.clone()).await?;
    let stats = collector.stats.clone();
    let toolbox = Toolbox::new(store.clone(), Some(stats.clone()), config.tools.clone());

    let local_token = random_token()?;
    let tokens = Tokens::new(config.mcp.tokens.iter().cloned().chain([local_token.clone()]));
    let shutdown = CancellationToken::new();
    let backend = store.backend();
    let health = move || {
        serde_json::json!({
            "status": "ok",
            "store": match backend { Backend::Embedded => "embedded", Backend::Server => "server" },
            "exporters": stats.exporters().len(),
            "rows_written": stats.writer().rows_written,
        })
    };
    let app = router(
        FlowsageServer::new(toolbox),
        tokens,
        &config.mcp.allowed_hosts,
        health,
        shutdown.clone(),
    );
    let listener = tokio::net::TcpListener::bind(config.mcp.listen)
        .await
        .with_context(|| format!("in mcp.listen: cannot bind {}", config.mcp.listen))?;
    let address = listener.local_addr()?;
    let mcp_url = format!("http://{address}/mcp");
    lock.write_note(&ServeNote {
        pid: std::process::id(),
        mcp_url: mcp_url.clone(),
        token: local_token,
    })?;

    if config.mcp.tokens.is_empty() {
        tracing::warn!(
            "no mcp.tokens configured: only local `flowsage mcp` clients can connect; set FLOWSAGE_MCP_TOKENS"
        );
    }
    let flows: Vec<String> = collector.local_addrs.iter().map(|a| a.to_string()).collect();
    tracing::info!(mcp = %mcp_url, flows = %flows.join(", "), store = ?backend, "flowsage serving");

    let stopping = shutdown.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        signal().await;
        tracing::info!("shutting down");
        stopping.cancel();
    });
    let served = server.await.context("in the HTTP server");

    collector.shutdown().await;
    lock.remove_note();
    drop(Arc::new(store));
    served
}

async fn signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
