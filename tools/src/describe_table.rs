//! `describe_table`: the columns of a table with their types and meanings.

use flowsage_ingest::store::schema::PUBLIC_TABLES;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ToolError, Toolbox};

pub const NAME: &str = "describe_table";
pub const DESCRIPTION: &str = "Describe one table: every column with its ClickHouse type and a \
     comment giving its meaning and unit. Read this before writing SQL for query_sql.";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Table name as list_tables returns it, e.g. "flows".
    pub table: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Output {
    pub table: String,
    pub description: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Column {
    pub name: String,
    pub r#type: String,
    pub comment: String,
}

pub async fn run(toolbox: &Toolbox, args: Args) -> Result<Output, ToolError> {
    let Some((table, description)) = PUBLIC_TABLES.iter().find(|(name, _)| *name == args.table)
    else {
        let known: Vec<&str> = PUBLIC_TABLES.iter().map(|(name, _)| *name).collect();
        return Err(ToolError::InvalidArgument {
            name: "table",
            message: format!("no table {:?}; the tables are: {}", args.table, known.join(", ")),
        });
    };

    // `table` comes from the allow-list above, never from the caller.
    let sql = format!(
        "SELECT name, type, comment FROM system.columns \
         WHERE database = currentDatabase() AND table = '{table}' ORDER BY position"
    );
    let out = toolbox.store.query(&sql).await?;

    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or("").to_string();
    let columns = out
        .rows
        .iter()
        .map(|row| Column {
            name: text(row.first()),
            r#type: text(row.get(1)),
            comment: text(row.get(2)),
        })
        .collect();
    Ok(Output { table: table.to_string(), description: description.to_string(), columns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::toolbox;

    #[tokio::test]
    async fn flows_columns_come_with_types_and_comments() {
        // given
        let toolbox = toolbox().await;

        // when
        let out = run(&toolbox, Args { table: "flows".into() }).await.unwrap();

        // then
        let bytes = out.columns.iter().find(|c| c.name == "bytes").unwrap();
        assert_eq!(bytes.r#type, "UInt64");
        assert!(bytes.comment.contains("sampling_rate"), "{}", bytes.comment);
        let src = out.columns.iter().find(|c| c.name == "src_addr").unwrap();
        assert_eq!(src.r#type, "IPv6");
    }

    #[tokio::test]
    async fn an_unknown_table_names_the_known_ones() {
        // given
        let toolbox = toolbox().await;

        // when
        let err = run(&toolbox, Args { table: "routes".into() }).await.unwrap_err();

        // then
        assert_eq!(
            err.to_string(),
            "invalid argument table: no table \"routes\"; the tables are: flows"
        );
        assert!(!err.retryable());
    }
}
