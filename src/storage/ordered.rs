//! The order-preserving encoding of index values: JSON scalars as bytes whose byte
//! order is the index order (by JSON type: null < false < true < numbers < strings,
//! then numbers numerically and strings by their UTF-8 bytes), so finding a value or
//! a range is one walk of `bdb_index_entries`' primary key.

use serde_json::Value as Json;

use super::jsonpath::Scalar;

const NULL: u8 = 0x10;
const FALSE: u8 = 0x20;
const TRUE: u8 = 0x21;
const NUMBER: u8 = 0x30;
const STRING: u8 = 0x40;

/// The encoding of a JSON value; `None` for arrays and objects (never indexed).
pub(crate) fn encode(v: &Json) -> Option<Vec<u8>> {
    Some(encode_scalar(&match v {
        Json::Null => Scalar::Null,
        Json::Bool(b) => Scalar::Bool(*b),
        Json::Number(n) => Scalar::Number(n.as_f64()?),
        Json::String(s) => Scalar::Str(s.as_str().into()),
        Json::Array(_) | Json::Object(_) => return None,
    }))
}

/// The encoding of a scalar found in a record.
pub(crate) fn encode_scalar(v: &Scalar<'_>) -> Vec<u8> {
    match v {
        Scalar::Null => vec![NULL],
        Scalar::Bool(false) => vec![FALSE],
        Scalar::Bool(true) => vec![TRUE],
        Scalar::Number(f) => {
            let mut out = Vec::with_capacity(9);
            out.push(NUMBER);
            out.extend_from_slice(&number(*f));
            out
        }
        Scalar::Str(s) => {
            let mut out = Vec::with_capacity(1 + s.len());
            out.push(STRING);
            out.extend_from_slice(s.as_bytes());
            out
        }
    }
}

/// An f64 as 8 bytes in numeric order (IEEE 754 with the sign bit flipped for
/// positives, every bit flipped for negatives); -0 is 0.
fn number(f: f64) -> [u8; 8] {
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    let ordered = if bits >> 63 == 1 { !bits } else { bits | 1 << 63 };
    ordered.to_be_bytes()
}

/// The JSON value of an encoding (numbers that are whole and fit an i64 as integers).
pub(crate) fn decode(b: &[u8]) -> Option<Json> {
    let (&tag, rest) = b.split_first()?;
    Some(match tag {
        NULL if rest.is_empty() => Json::Null,
        FALSE if rest.is_empty() => Json::Bool(false),
        TRUE if rest.is_empty() => Json::Bool(true),
        NUMBER => {
            let ordered = u64::from_be_bytes(rest.try_into().ok()?);
            let bits = if ordered >> 63 == 1 { ordered & !(1 << 63) } else { !ordered };
            let f = f64::from_bits(bits);
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Json::from(f as i64)
            } else {
                Json::from(serde_json::Number::from_f64(f)?)
            }
        }
        STRING => Json::String(String::from_utf8(rest.to_vec()).ok()?),
        _ => return None,
    })
}

/// A blob id as an index record: big-endian, so records sort by id.
pub(crate) fn blob_record(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// The blob id of an index record.
pub(crate) fn blob_of(record: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(record.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn byte_order_is_json_order() {
        let values = [
            json!(null),
            json!(false),
            json!(true),
            json!(-1e300),
            json!(-2.5),
            json!(-1),
            json!(0),
            json!(1e-300),
            json!(1),
            json!(2.5),
            json!(10),
            json!(1e300),
            json!(""),
            json!("A"),
            json!("a"),
            json!("ab"),
            json!("b"),
        ];
        let enc: Vec<Vec<u8>> = values.iter().map(|v| encode(v).unwrap()).collect();
        for w in enc.windows(2) {
            assert!(w[0] < w[1], "{w:?}");
        }
        for (v, e) in values.iter().zip(&enc) {
            assert_eq!(decode(e).as_ref(), Some(v));
        }
        assert_eq!(encode(&json!(-0.0)), encode(&json!(0)));
        assert_eq!(encode(&json!([1])), None);
        assert_eq!(encode(&json!({"a": 1})), None);
    }
}
