//! Flow records to Arrow record batches, the one insert format of both backends.
//!
//! The batch follows [`FLOW_COLUMNS`](super::schema::FLOW_COLUMNS) field by
//! field: chDB ingests Arrow positionally, and a ClickHouse server receives the
//! same batch as an `ArrowStream` body. A test keeps the two lists in step.

use std::sync::{Arc, LazyLock};

use arrow_array::builder::{
    FixedSizeBinaryBuilder, Int64Builder, StringBuilder, UInt8Builder, UInt16Builder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use crate::flow::FlowRecord;

/// Arrow type of each staged ClickHouse type used by the staging table.
fn arrow_type(staged: &str) -> DataType {
    match staged {
        "Int64" => DataType::Int64,
        "UInt8" => DataType::UInt8,
        "UInt16" => DataType::UInt16,
        "UInt32" => DataType::UInt32,
        "UInt64" => DataType::UInt64,
        "String" => DataType::Utf8,
        "FixedString(16)" => DataType::FixedSizeBinary(16),
        other => unreachable!("staged type {other} has no Arrow mapping"),
    }
}

static FLOW_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let fields: Vec<Field> = super::schema::FLOW_COLUMNS
        .iter()
        .map(|c| Field::new(c.name, arrow_type(c.staged), false))
        .collect();
    Arc::new(Schema::new(fields))
});

/// The Arrow schema of a flow batch.
pub fn flow_schema() -> SchemaRef {
    FLOW_SCHEMA.clone()
}

/// Builds one record batch from `records`, columns in schema order.
pub fn flow_batch(records: &[FlowRecord]) -> Result<RecordBatch, ArrowError> {
    let n = records.len();
    macro_rules! column {
        ($builder:ty, $field:ident) => {{
            let mut b = <$builder>::with_capacity(n);
            for r in records {
                b.append_value(r.$field);
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    let addr = |get: fn(&FlowRecord) -> [u8; 16]| -> Result<ArrayRef, ArrowError> {
        let mut b = FixedSizeBinaryBuilder::with_capacity(n, 16);
        for r in records {
            b.append_value(get(r))?;
        }
        Ok(Arc::new(b.finish()))
    };
    let mut protocol = StringBuilder::with_capacity(n, n * 10);
    for r in records {
        protocol.append_value(r.flow_protocol.as_str());
    }

    let columns: Vec<ArrayRef> = vec![
        column!(Int64Builder, time_received_ms),
        column!(Int64Builder, time_start_ms),
        column!(Int64Builder, time_end_ms),
        addr(|r| r.exporter.octets())?,
        Arc::new(protocol.finish()),
        column!(UInt32Builder, observation_domain),
        column!(UInt8Builder, ip_version),
        addr(|r| r.src_addr.octets())?,
        addr(|r| r.dst_addr.octets())?,
        column!(UInt16Builder, src_port),
        column!(UInt16Builder, dst_port),
        column!(UInt8Builder, protocol),
        column!(UInt8Builder, tcp_flags),
        column!(UInt8Builder, tos),
        column!(UInt64Builder, bytes),
        column!(UInt64Builder, packets),
        column!(UInt32Builder, sampling_rate),
        column!(UInt32Builder, in_if),
        column!(UInt32Builder, out_if),
        column!(UInt32Builder, src_as),
        column!(UInt32Builder, dst_as),
        column!(UInt8Builder, src_mask),
        column!(UInt8Builder, dst_mask),
        addr(|r| r.next_hop.octets())?,
        column!(UInt16Builder, src_vlan),
        column!(UInt16Builder, dst_vlan),
    ];
    RecordBatch::try_new(flow_schema(), columns)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::flow::FlowProtocol;

    #[test]
    fn batch_columns_follow_the_schema_order_and_values() {
        // given
        let mut record =
            FlowRecord::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), FlowProtocol::Ipfix, 7, 1_000);
        record.bytes = 1500;
        record.dst_vlan = 42;

        // when
        let batch = flow_batch(&[record.clone(), record]).unwrap();

        // then
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.num_columns(), super::super::schema::FLOW_COLUMNS.len());
        let bytes = batch.column_by_name("bytes").unwrap();
        let bytes = bytes.as_any().downcast_ref::<arrow_array::UInt64Array>().unwrap();
        assert_eq!(bytes.value(1), 1500);
        let vlan = batch.column_by_name("dst_vlan").unwrap();
        let vlan = vlan.as_any().downcast_ref::<arrow_array::UInt16Array>().unwrap();
        assert_eq!(vlan.value(0), 42);
        let exporter = batch.column_by_name("exporter_address").unwrap();
        let exporter =
            exporter.as_any().downcast_ref::<arrow_array::FixedSizeBinaryArray>().unwrap();
        assert_eq!(exporter.value(0), Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped().octets());
    }
}
