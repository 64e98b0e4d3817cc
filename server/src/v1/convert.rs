//! Engine types as buffdb.v1 messages.

use prost::bytes::Bytes;

use crate::proto::v1 as pb;

pub fn stream_info(i: buffdb::StreamInfo) -> pb::StreamInfo {
    pb::StreamInfo {
        path: i.path,
        version: i.version,
        size: i.size,
        crc32: i.crc32,
        chunk_count: i.chunk_count,
        chunk_size: i.chunk_size,
        stored_size: i.stored_size,
        created_ms: i.created_ms,
        metadata: i.metadata,
    }
}

pub fn blob_info(i: buffdb::BlobInfo) -> pb::BlobInfo {
    pb::BlobInfo {
        id: i.id,
        size: i.size,
        metadata: i.metadata,
        crc32: i.crc32,
        chunk_count: i.chunk_count,
        created_ms: i.created_ms,
    }
}

pub fn cell(v: buffdb::Value) -> pb::Cell {
    use pb::cell::Value as C;
    let value = match v {
        buffdb::Value::Null => C::Null(true),
        buffdb::Value::Integer(i) => C::Integer(i),
        buffdb::Value::Real(f) => C::Real(f),
        buffdb::Value::Text(s) => C::Text(s),
        buffdb::Value::Blob(b) => C::Blob(Bytes::from(b)),
    };
    pb::Cell { value: Some(value) }
}

pub fn value(c: pb::Cell) -> buffdb::Value {
    use pb::cell::Value as C;
    match c.value {
        None | Some(C::Null(_)) => buffdb::Value::Null,
        Some(C::Integer(i)) => buffdb::Value::Integer(i),
        Some(C::Real(f)) => buffdb::Value::Real(f),
        Some(C::Text(s)) => buffdb::Value::Text(s),
        Some(C::Blob(b)) => buffdb::Value::Blob(b.to_vec()),
    }
}
