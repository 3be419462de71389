//! `flowsage serve`: the collector, the store and MCP over HTTP in one
//! process, until SIGINT or SIGTERM.
//!
//! A ClickHouse server that is down at start is not fatal: the collector
//! spools batches until it answers (see `flowsage_ingest::collector::writer`),
//! and batches an earlier run spooled are written before new ones.

use std::sync::Arc;

use anyhow::{Context, bail};
use flowsage_agent::http::{Tokens, router};
use flowsage_agent::mcp::FlowsageServer;
use flowsage_ingest::collector::spool::Spool;
use flowsage_ingest::collector::{Collector, metrics};
use flowsage_ingest::store::{Backend, Store};
use flowsage_tools::Toolbox;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::runtime::{ServeNote, holder, lock_data_dir, random_token, read_note};

/// Runs the server until a shutdown signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let tokens = config.mcp_tokens()?;
    let Some(lock) = lock_data_dir(&config.store.data_dir, "flowsage serve")? else {
        let data = &config.store.data_dir;
        let serving = read_note(data).map(|note| format!(", serving {}", note.mcp_url));
        let holder = holder(data).unwrap_or_else(|| "another process".to_string());
        bail!(
            "{holder}{} holds the data directory {}: the embedded engine admits one process. \
             If that is `flowsage mcp`, an MCP client's session opened it first: close the \
             client, start `flowsage serve`, then reopen it (it will forward to the server)",
            serving.unwrap_or_default(),
            data.display()
        );
    };

    // A server that is down is waited for: flows are spooled meanwhile.
    let store = Store::open_deferred(&config.store).await.context("in opening the store")?;
    let spool_dir = config.flow.spool_dir(&config.store.data_dir);
    let spool = Spool::open(&spool_dir, config.flow.spool_max_bytes)
        .context("in opening the spool (flow.spool_dir)")?;
    let collector = Collector::start(&config.flow, store.clone(), spool).await?;
    let stats = collector.stats.clone();
    let registry = Arc::new(metrics::registry(stats.clone()));
    let toolbox = Toolbox::new(store.clone(), Some(stats.clone()), config.tools.clone());

    let local_token = random_token()?;
    let configured = tokens.len();
    let tokens = Tokens::new(tokens.into_iter().chain([local_token.clone()]));
    let shutdown = CancellationToken::new();
    let backend = store.backend();
    let health = move || {
        serde_json::json!({
            "status": "ok",
            "store": match backend { Backend::Embedded => "embedded", Backend::Server => "server" },
            "exporters": stats.exporters().len(),
            "rows_written": stats.writer().rows_written,
            "spool_batches": stats.writer().spool_batches,
        })
    };
    let render_metrics = move || metrics::render(&registry);
    let app = router(
        FlowsageServer::new(toolbox),
        tokens,
        &config.mcp.allowed_hosts,
        health,
        render_metrics,
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

    if configured == 0 {
        tracing::warn!(
            "no MCP tokens configured (mcp.tokens, mcp.token_files, FLOWSAGE_MCP_TOKENS): \
             only local `flowsage mcp` clients can connect"
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

    let stats = collector.stats.clone();
    collector.shutdown().await;
    if let Err(err) = store.quiesce().await {
        tracing::warn!(error = %err, "could not stop the store's background merges before exit");
    }
    lock.remove_note();
    let writer = stats.writer();
    tracing::info!(
        rows_written = writer.rows_written,
        rows_dropped = writer.rows_dropped,
        spool_batches = writer.spool_batches,
        "stopped; every row received was written, spooled or counted as dropped"
    );
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
