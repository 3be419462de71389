//! `list_tables`: the tables a query may read, what each holds, how big it is.

use flowsage_ingest::store::schema::PUBLIC_TABLES;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ToolError, Toolbox};

pub const NAME: &str = "list_tables";
pub const DESCRIPTION: &str = "List the tables that query_sql can read, with what each holds and \
     its row count. Call describe_table next for column meanings and units.";

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {}

#[derive(Debug, Serialize, PartialEq)]
pub struct Output {
    pub tables: Vec<TableSummary>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TableSummary {
    pub name: String,
    pub description: String,
    /// Rows stored now (approximate while merges run).
    pub rows: u64,
}

pub async fn run(toolbox: &Toolbox, _args: Args) -> Result<Output, ToolError> {
    let names: Vec<String> = PUBLIC_TABLES.iter().map(|(name, _)| format!("'{name}'")).collect();
    let sql = format!(
        "SELECT name, total_rows FROM system.tables \
         WHERE database = currentDatabase() AND name IN ({}) ORDER BY name",
        names.join(", ")
    );
    let out = toolbox.store.query(&sql).await?;

    let tables = PUBLIC_TABLES
        .iter()
        .map(|(name, description)| {
            let rows = out
                .rows
                .iter()
                .find(|row| row.first().and_then(|v| v.as_str()) == Some(name))
                .and_then(|row| row.get(1))
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            TableSummary { name: name.to_string(), description: description.to_string(), rows }
        })
        .collect();
    Ok(Output { tables })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::toolbox;

    #[tokio::test]
    async fn lists_the_flows_table_with_its_description() {
        // given
        let toolbox = toolbox().await;

        // when
        let out = run(&toolbox, Args {}).await.unwrap();

        // then
        let names: Vec<&str> = out.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["flows"]);
        assert!(out.tables[0].description.contains("sampling_rate"));
    }
}
