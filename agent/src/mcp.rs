//! The MCP face of the tools: catalogue, dispatch and server info.
//!
//! Every tool module in `flowsage-tools` is listed once in [`tools!`]: its
//! name, description and argument schema become the MCP tool, and calls are
//! decoded into its argument type, run, and encoded as structured content. A
//! failed call is a tool result with `isError` set and a message that says
//! what to change and whether retrying helps, never a protocol error, so a
//! model can read it and correct itself.

use rmcp::handler::server::common::schema_for_type;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde::Serialize;
use serde::de::DeserializeOwned;

use flowsage_tools::{ToolError, Toolbox, describe_table, exporters, list_tables, query_sql};

const INSTRUCTIONS: &str = "flowsage holds the network's flow records (NetFlow v9 / IPFIX) in \
     ClickHouse. Start with list_tables and describe_table, then answer with query_sql; use \
     exporters to check that data is arriving. Every result includes the SQL that produced it.";

macro_rules! tools {
    ($($tool:ident),* $(,)?) => {
        /// The MCP description of every tool.
        pub fn catalog() -> Vec<Tool> {
            vec![$(
                Tool::new($tool::NAME, $tool::DESCRIPTION, schema_for_type::<$tool::Args>()),
            )*]
        }

        /// Runs the tool called `name`, or says there is none.
        pub async fn call(
            toolbox: &Toolbox,
            name: &str,
            arguments: serde_json::Map<String, serde_json::Value>,
        ) -> CallToolResult {
            $(
                if name == $tool::NAME {
                    return match decode::<$tool::Args>(arguments) {
                        Ok(args) => encode($tool::run(toolbox, args).await),
                        Err(message) => failure(&message),
                    };
                }
            )*
            let names: Vec<&str> = vec![$($tool::NAME),*];
            failure(&format!("no tool {name:?}; the tools are: {}", names.join(", ")))
        }
    };
}

tools!(list_tables, describe_table, query_sql, exporters);

fn decode<T: DeserializeOwned>(
    arguments: serde_json::Map<String, serde_json::Value>,
) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::Object(arguments)).map_err(|err| {
        format!(
            "invalid arguments: {err}; call again with arguments that match the tool's input schema"
        )
    })
}

fn encode<T: Serialize>(result: Result<T, ToolError>) -> CallToolResult {
    match result {
        Ok(output) => match serde_json::to_value(output) {
            Ok(value) => CallToolResult::structured(value),
            Err(err) => failure(&format!("internal error encoding the result: {err}")),
        },
        Err(err) => {
            let retry = if err.retryable() {
                "retrying later may succeed"
            } else {
                "retrying unchanged will fail the same way"
            };
            let message = format!("error: {err}; {retry}");
            failure(&message)
        }
    }
}

fn failure(message: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// The server info every transport sends at initialization.
pub fn server_config() -> ServerConfig {
    ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        .with_server_info(Implementation::new("flowsage", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
}

/// An MCP server over the tools of one process.
#[derive(Clone)]
pub struct FlowsageServer {
    toolbox: Toolbox,
}

impl FlowsageServer {
    pub fn new(toolbox: Toolbox) -> Self {
        Self { toolbox }
    }
}

impl ServerHandler for FlowsageServer {
    fn get_info(&self) -> ServerConfig {
        server_config()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(catalog()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = std::time::Instant::now();
        let result =
            call(&self.toolbox, &request.name, request.arguments.unwrap_or_default()).await;
        if result.is_error == Some(true) {
            let reason = result.content.first().and_then(|c| c.as_text()).map(|t| t.text.as_str());
            tracing::info!(
                tool = %request.name,
                elapsed_ms = started.elapsed().as_millis() as u64,
                reason = reason.unwrap_or_default(),
                "tool call failed"
            );
        } else {
            tracing::debug!(tool = %request.name, elapsed_ms = started.elapsed().as_millis() as u64, "tool call");
        }
        Ok(result.into())
    }
}
