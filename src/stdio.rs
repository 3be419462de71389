//! `flowsage mcp`: MCP over stdio for a local client.
//!
//! With the embedded store, the data directory belongs to one process: when
//! `flowsage serve` holds it, this forwards every call to that server;
//! otherwise it opens the data itself (no collector runs, so `exporters`
//! says where to look). With a ClickHouse server as the store it opens the
//! store directly.

use anyhow::{Context, bail};
use flowsage_agent::mcp::FlowsageServer;
use flowsage_agent::proxy::ProxyServer;
use flowsage_ingest::store::{Backend, Store};
use flowsage_tools::Toolbox;
use rmcp::ServiceExt;

use crate::config::Config;
use crate::runtime::{holder, lock_data_dir, read_note};

/// Serves MCP on stdin/stdout until the client closes it.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let mut _lock = None;
    if config.store.backend == Backend::Embedded {
        match lock_data_dir(&config.store.data_dir, "flowsage mcp (an MCP client's stdio session)")?
        {
            Some(lock) => _lock = Some(lock),
            None => return forward(&config).await,
        }
    }

    let store = Store::open(&config.store).await.context("in opening the store")?;
    let toolbox = Toolbox::new(store.clone(), None, config.tools.clone());
    tracing::info!(data = %config.store.data_dir.display(), "serving MCP on stdio");
    let service = FlowsageServer::new(toolbox)
        .serve(rmcp::transport::stdio())
        .await
        .context("in starting MCP on stdio")?;
    service.waiting().await.context("in the stdio MCP session")?;
    store.quiesce().await.context("in stopping the store's background merges")?;
    Ok(())
}

async fn forward(config: &Config) -> anyhow::Result<()> {
    let Some(note) = read_note(&config.store.data_dir) else {
        let holder = holder(&config.store.data_dir).unwrap_or_else(|| "another process".into());
        bail!(
            "{holder} holds the data directory {} and is not a server to forward to; \
             close it, or run `flowsage serve` and let clients forward to it",
            config.store.data_dir.display()
        );
    };
    tracing::info!(server = %note.mcp_url, pid = note.pid, "flowsage serve holds the data; forwarding");
    let proxy =
        ProxyServer::connect(&note.mcp_url, &note.token).await.map_err(anyhow::Error::msg)?;
    let service =
        proxy.serve(rmcp::transport::stdio()).await.context("in starting MCP on stdio")?;
    service.waiting().await.context("in the stdio MCP session")?;
    Ok(())
}
