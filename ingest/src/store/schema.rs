//! The ClickHouse schema, declared once and rendered for both backends.
//!
//! Every table flowsage creates is described here, column by column, with the
//! comment `describe_table` serves to models. The `flows` table is fed through
//! a Null-engine staging table whose materialized view converts the wire
//! types of an Arrow batch (Unix milliseconds, 16-byte addresses) into
//! ClickHouse types (`DateTime64`, `IPv6`): Arrow ingest is positional and
//! cannot produce `IPv6` directly. [`FLOW_COLUMNS`] is the single order that
//! the staging table, the view and the Arrow batch share.
//!
//! Schema creation is idempotent: tables are created if missing, columns added
//! later are added if missing, and the staging table carries a version so a
//! changed layout gets a new staging table instead of an altered one.

/// A column of the `flows` table.
#[derive(Debug, Clone, Copy)]
pub struct FlowColumn {
    pub name: &'static str,
    /// Type in the `flows` table.
    pub stored: &'static str,
    /// Type in the staging table, as Arrow ingest produces it.
    pub staged: &'static str,
    /// Expression turning the staged column into the stored one; `{}` is the
    /// column name.
    pub convert: &'static str,
    /// Meaning and unit, served to models by `describe_table`.
    pub comment: &'static str,
}

const fn col(
    name: &'static str,
    stored: &'static str,
    staged: &'static str,
    convert: &'static str,
    comment: &'static str,
) -> FlowColumn {
    FlowColumn { name, stored, staged, convert, comment }
}

const TIME: &str = "fromUnixTimestamp64Milli({}, 'UTC')";
const ADDR: &str = "CAST({} AS IPv6)";
const SAME: &str = "{}";

/// The columns of `flows`, in the order of the staging table and Arrow batch.
pub const FLOW_COLUMNS: &[FlowColumn] = &[
    col(
        "time_received",
        "DateTime64(3, 'UTC')",
        "Int64",
        TIME,
        "when flowsage received the export datagram (UTC, millisecond precision)",
    ),
    col(
        "time_start",
        "DateTime64(3, 'UTC')",
        "Int64",
        TIME,
        "first packet of the flow as reported by the exporter (UTC); time_received when not exported",
    ),
    col(
        "time_end",
        "DateTime64(3, 'UTC')",
        "Int64",
        TIME,
        "last packet of the flow as reported by the exporter (UTC); time_received when not exported",
    ),
    col(
        "exporter_address",
        "IPv6",
        "FixedString(16)",
        ADDR,
        "source address of the export datagram (the router); IPv4 as ::ffff:a.b.c.d",
    ),
    col(
        "flow_protocol",
        "LowCardinality(String)",
        "String",
        SAME,
        "export protocol: netflow_v5, netflow_v9, ipfix or sflow_v5",
    ),
    col(
        "observation_domain",
        "UInt32",
        "UInt32",
        SAME,
        "NetFlow v9 source id or IPFIX observation domain id of the exporting process",
    ),
    col("ip_version", "UInt8", "UInt8", SAME, "IP version of the flow: 4 or 6; 0 if unknown"),
    col(
        "src_addr",
        "IPv6",
        "FixedString(16)",
        ADDR,
        "source IP address; IPv4 as ::ffff:a.b.c.d (use IPv4NumToString(toIPv4(...)) or IPv6NumToString)",
    ),
    col(
        "dst_addr",
        "IPv6",
        "FixedString(16)",
        ADDR,
        "destination IP address; IPv4 as ::ffff:a.b.c.d",
    ),
    col("src_port", "UInt16", "UInt16", SAME, "source transport port; 0 if none"),
    col(
        "dst_port",
        "UInt16",
        "UInt16",
        SAME,
        "destination transport port; for ICMP some exporters put type*256+code here",
    ),
    col("protocol", "UInt8", "UInt8", SAME, "IP protocol number: 1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6"),
    col(
        "tcp_flags",
        "UInt8",
        "UInt8",
        SAME,
        "OR of the TCP flags seen: 1 FIN, 2 SYN, 4 RST, 8 PSH, 16 ACK, 32 URG",
    ),
    col("tos", "UInt8", "UInt8", SAME, "IPv4 type of service / IPv6 traffic class byte"),
    col(
        "bytes",
        "UInt64",
        "UInt64",
        SAME,
        "bytes in the flow (layer 3), already multiplied by sampling_rate when it is known",
    ),
    col(
        "packets",
        "UInt64",
        "UInt64",
        SAME,
        "packets in the flow, already multiplied by sampling_rate when it is known",
    ),
    col(
        "sampling_rate",
        "UInt32",
        "UInt32",
        SAME,
        "packet sampling rate 1-in-N applied to bytes and packets; 0 means unknown (not scaled)",
    ),
    col("in_if", "UInt32", "UInt32", SAME, "SNMP ifIndex of the input interface; 0 if unknown"),
    col("out_if", "UInt32", "UInt32", SAME, "SNMP ifIndex of the output interface; 0 if unknown"),
    col("src_as", "UInt32", "UInt32", SAME, "source AS number as exported; 0 if unknown"),
    col("dst_as", "UInt32", "UInt32", SAME, "destination AS number as exported; 0 if unknown"),
    col("src_mask", "UInt8", "UInt8", SAME, "source prefix length as exported; 0 if unknown"),
    col("dst_mask", "UInt8", "UInt8", SAME, "destination prefix length as exported; 0 if unknown"),
    col(
        "next_hop",
        "IPv6",
        "FixedString(16)",
        ADDR,
        "IP next hop as exported (BGP next hop if only that is exported); :: if unknown",
    ),
    col("src_vlan", "UInt16", "UInt16", SAME, "source VLAN id; 0 if none"),
    col("dst_vlan", "UInt16", "UInt16", SAME, "destination VLAN id; 0 if none"),
];

/// Bumped whenever [`FLOW_COLUMNS`] changes order or staged types.
pub const FLOWS_STAGING_VERSION: u32 = 1;

/// The tables a query may read, with what each holds.
pub const PUBLIC_TABLES: &[(&str, &str)] = &[(
    "flows",
    "one row per flow record received from NetFlow v9 / IPFIX exporters; bytes and packets are \
     scaled by sampling_rate; kept for the configured TTL",
)];

/// Name of the staging table for the current layout.
pub fn flows_staging_table() -> String {
    format!("flows_ingest_v{FLOWS_STAGING_VERSION}")
}

/// Drops the flows TTL. ClickHouse refuses it on a table without one, so
/// [`Store::init_schema`](super::Store::init_schema) runs it only when the
/// table has a TTL.
pub const REMOVE_TTL: &str = "ALTER TABLE flows REMOVE TTL";

/// The statements that create or update the schema, in order.
///
/// `ttl_days` of 0 keeps flows forever.
pub fn create_statements(ttl_days: u32) -> Vec<String> {
    let mut statements = Vec::new();

    let columns: Vec<String> = FLOW_COLUMNS
        .iter()
        .map(|c| format!("    {} {} COMMENT '{}'", c.name, c.stored, escape(c.comment)))
        .collect();
    statements.push(format!(
        "CREATE TABLE IF NOT EXISTS flows (\n{}\n)\nENGINE = MergeTree\n\
         PARTITION BY toDate(time_received)\n\
         ORDER BY (exporter_address, time_received)\n{}\nCOMMENT '{}'",
        columns.join(",\n"),
        ttl_clause(ttl_days),
        escape(PUBLIC_TABLES[0].1),
    ));
    for c in FLOW_COLUMNS {
        statements.push(format!(
            "ALTER TABLE flows ADD COLUMN IF NOT EXISTS {} {} COMMENT '{}'",
            c.name,
            c.stored,
            escape(c.comment)
        ));
    }
    statements.push(if ttl_days == 0 {
        REMOVE_TTL.to_string()
    } else {
        format!("ALTER TABLE flows MODIFY {}", ttl_clause(ttl_days))
    });

    let staging = flows_staging_table();
    let staged: Vec<String> =
        FLOW_COLUMNS.iter().map(|c| format!("    {} {}", c.name, c.staged)).collect();
    statements.push(format!(
        "CREATE TABLE IF NOT EXISTS {staging} (\n{}\n) ENGINE = Null \
         COMMENT 'internal: Arrow batches land here and flow into flows'",
        staged.join(",\n")
    ));
    let converted: Vec<String> = FLOW_COLUMNS
        .iter()
        .map(|c| format!("{} AS {}", c.convert.replace("{}", c.name), c.name))
        .collect();
    statements.push(format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {staging}_mv TO flows AS SELECT {} FROM {staging}",
        converted.join(", ")
    ));
    statements
}

fn ttl_clause(ttl_days: u32) -> String {
    if ttl_days == 0 {
        String::new()
    } else {
        format!("TTL toDateTime(time_received) + INTERVAL {ttl_days} DAY")
    }
}

/// Escapes a string for a single-quoted ClickHouse literal.
pub fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flow_column_has_a_comment_and_a_unique_name() {
        // given
        let mut names = std::collections::BTreeSet::new();

        // then
        for c in FLOW_COLUMNS {
            assert!(c.comment.len() > 10, "{} needs a comment", c.name);
            assert!(names.insert(c.name), "{} appears twice", c.name);
        }
    }

    #[test]
    fn ttl_of_zero_removes_the_ttl() {
        // when
        let kept = create_statements(0);
        let expiring = create_statements(30);

        // then
        assert!(kept.iter().any(|s| s == "ALTER TABLE flows REMOVE TTL"));
        assert!(expiring.iter().any(
            |s| s == "ALTER TABLE flows MODIFY TTL toDateTime(time_received) + INTERVAL 30 DAY"
        ));
    }
}
