//! `flowsage mcp` while `flowsage serve` runs: a stdio MCP server that
//! forwards every call to the running server over Streamable HTTP.
//!
//! The embedded engine admits one process per data directory, so a stdio
//! client cannot open the data while the server holds it; it asks the server
//! instead, with the server's local token. Tool names, schemas and results
//! are the server's own, unchanged.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerConfig,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ErrorData, RoleClient, RoleServer, ServerHandler, ServiceExt};

use crate::mcp::server_config;

/// A stdio server whose tools are those of a running `flowsage serve`.
pub struct ProxyServer {
    upstream: RunningService<RoleClient, ()>,
}

impl ProxyServer {
    /// Connects to the MCP endpoint at `url` with `token`.
    pub async fn connect(url: &str, token: &str) -> Result<Self, String> {
        let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(token);
        let transport = StreamableHttpClientTransport::from_config(config);
        let upstream = ()
            .serve(transport)
            .await
            .map_err(|err| format!("in connecting to the running flowsage at {url}: {err}"))?;
        Ok(Self { upstream })
    }
}

impl ServerHandler for ProxyServer {
    fn get_info(&self) -> ServerConfig {
        server_config()
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.upstream.list_tools(request).await.map_err(|err| {
            ErrorData::internal_error(format!("the running flowsage did not answer: {err}"), None)
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let result = match self.upstream.call_tool(request).await {
            Ok(result) => result,
            Err(err) => CallToolResult::error(vec![ContentBlock::text(format!(
                "error: the running flowsage server did not answer: {err}; retrying later may succeed"
            ))]),
        };
        Ok(result.into())
    }
}
