//! `query_sql`: read-only ClickHouse SQL, checked by the SQL guard, bounded
//! by the engine.
//!
//! The guard validates the parse tree; the original text is what runs,
//! wrapped as `SELECT * FROM (...) LIMIT n+1` so the result is capped and a
//! truncation is detected. The limits that count are the engine's own on the
//! reader connections (time, memory, rows read, `readonly`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ToolError, Toolbox};
use flowsage_ingest::store::ColumnMeta;

pub const NAME: &str = "query_sql";
pub const DESCRIPTION: &str = "Run one read-only ClickHouse SELECT (CTEs allowed) over flowsage's \
     tables and get columns, rows, whether the result was truncated, the elapsed time and the SQL \
     actually run. Only tables from list_tables; no table functions, SETTINGS or FORMAT. Write \
     INTERVAL 1 HOUR, not INTERVAL '1 hour'. Aggregate in SQL: results are capped in rows. Ports \
     mean something for protocol 6 (TCP) and 17 (UDP) only: for ICMP, dst_port holds type * 256 + \
     code, so filter on protocol when ranking ports.";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// One ClickHouse SELECT statement, e.g.
    /// "SELECT dst_port, sum(bytes) AS bytes FROM flows GROUP BY dst_port ORDER BY bytes DESC LIMIT 10".
    pub sql: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Output {
    pub columns: Vec<ColumnMeta>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub row_count: usize,
    /// True when the result had more rows than the cap and was cut.
    pub truncated: bool,
    pub elapsed_ms: u64,
    /// The SQL the engine ran: the query as given, wrapped with the row cap.
    pub sql: String,
    /// Tables the query reads.
    pub tables: Vec<String>,
}

pub async fn run(toolbox: &Toolbox, args: Args) -> Result<Output, ToolError> {
    let checked = toolbox.guard.check(&args.sql)?;
    let cap = toolbox.config.max_rows;
    let run_sql = checked.wrapped(cap + 1);

    let out = toolbox.store.query(&run_sql).await?;

    let mut rows = out.rows;
    let truncated = rows.len() as u64 > cap;
    rows.truncate(cap as usize);
    Ok(Output {
        columns: out.columns,
        row_count: rows.len(),
        rows,
        truncated,
        elapsed_ms: out.elapsed.as_millis() as u64,
        sql: run_sql,
        tables: checked.tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::toolbox;
    use serde_json::json;

    fn sql(text: &str) -> Args {
        Args { sql: text.to_string() }
    }

    #[tokio::test]
    async fn a_select_returns_typed_columns_and_the_sql_run() {
        // given
        let toolbox = toolbox().await;

        // when
        let out = run(&toolbox, sql("SELECT count() AS n, toUInt8(7) AS seven FROM flows WHERE 0"))
            .await
            .unwrap();

        // then
        assert_eq!(out.rows, vec![vec![json!(0), json!(7)]]);
        assert_eq!(out.columns[0].r#type, "UInt64");
        assert!(!out.truncated);
        assert_eq!(
            out.sql,
            format!(
                "SELECT * FROM (\nSELECT count() AS n, toUInt8(7) AS seven FROM flows WHERE 0\n) LIMIT {}",
                toolbox.config.max_rows + 1
            )
        );
        assert_eq!(out.tables, ["flows"]);
    }

    #[tokio::test]
    async fn results_over_the_cap_are_truncated_and_say_so() {
        // given
        let mut toolbox = toolbox().await;
        toolbox.config.max_rows = 3;

        // when
        let out = run(&toolbox, sql("WITH t AS (SELECT 1 AS x FROM flows) SELECT x FROM t UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5"))
            .await
            .unwrap();

        // then
        assert_eq!(out.row_count, 3);
        assert!(out.truncated);
    }

    #[tokio::test]
    async fn writes_and_table_functions_are_refused_before_the_engine() {
        // given
        let toolbox = toolbox().await;

        let cases = [
            ("INSERT INTO flows (bytes) VALUES (1)", "INSERT"),
            ("ALTER TABLE flows DELETE WHERE 1", "ALTER"),
            ("DROP TABLE flows", "DROP"),
            ("SYSTEM FLUSH LOGS", "SYSTEM"),
            ("SELECT 1; SELECT 2", "2"),
            ("SELECT * FROM url('http://127.0.0.1/', CSV)", "url"),
            ("SELECT * FROM secrets", "secrets"),
        ];

        for (query, named) in cases {
            // when
            let err = run(&toolbox, sql(query)).await.unwrap_err();

            // then
            let message = err.to_string();
            assert!(message.starts_with("query rejected: "), "{query}: {message}");
            assert!(message.contains(named), "{query}: {message}");
            assert!(!err.retryable());
        }
    }

    #[tokio::test]
    async fn an_engine_error_is_reported_not_panicked() {
        // given
        let toolbox = toolbox().await;

        // when
        let err = run(&toolbox, sql("SELECT no_such_column FROM flows")).await.unwrap_err();

        // then
        assert!(err.to_string().contains("no_such_column"), "{err}");
        assert!(!err.retryable());
    }
}
