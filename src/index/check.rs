//! `check` for indexes: every entry against its record, every record against its
//! entry, and unique indexes without a repeated value; findings name the index.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::upkeep::{entry_value, Doc};
use super::Record;
use crate::error::Result;
use crate::kv::{self, Source};
use crate::storage::catalog::{self, IndexDef, IndexSource};
use crate::storage::ordered;

/// The findings for every index, one line each (naming the index), and how many
/// entries were checked. A damaged definition is a finding too.
pub(crate) fn check(conn: &Connection) -> Result<(u64, Vec<String>)> {
    let defs = match catalog::load(conn) {
        Ok(d) => d,
        Err(e) if e.code() == crate::ErrorCode::Corrupt => return Ok((0, vec![e.message().to_string()])),
        Err(e) => return Err(e),
    };
    let mut problems = Vec::new();
    let mut checked = 0;
    for def in &defs {
        checked += check_one(conn, def, &mut problems)?;
    }
    Ok((checked, problems))
}

/// The entries `def` may hold, from the records, each with whether it must be there
/// (of an index being built, records past the build cursor need not be yet).
fn expected(conn: &Connection, def: &IndexDef) -> Result<BTreeMap<(Vec<u8>, Vec<u8>), bool>> {
    let mut want = BTreeMap::new();
    let upto = def.built.clone();
    let in_build = |r: &[u8]| upto.as_deref().map_or(true, |u| !u.is_empty() && r <= u);
    let prefix = def.key_prefix.clone().unwrap_or_default();
    let mut add = |record: &[u8], doc: Doc<'_>| {
        if let Some(v) = entry_value(def, &doc) {
            want.insert((v, record.to_vec()), in_build(record));
        }
        true
    };
    match def.source {
        IndexSource::Kv => {
            kv::walk(conn, Source::KeyValues, &prefix, None, None, |k, v| add(k, Doc::Bytes(v)))?;
        }
        IndexSource::Blob => {
            crate::blob::metadata_walk(conn, 0, usize::MAX, |id, m| add(&ordered::blob_record(id), Doc::Text(m)))?;
        }
        IndexSource::Stream => {
            crate::stream::metadata_walk(conn, &prefix, None, usize::MAX, |p, m| add(p.as_bytes(), Doc::Text(m)))?;
        }
    }
    Ok(want)
}

fn check_one(conn: &Connection, def: &IndexDef, problems: &mut Vec<String>) -> Result<u64> {
    let name = &def.name;
    let mut want = match expected(conn, def) {
        Ok(w) => w,
        Err(e) => {
            // Damaged records are reported as such; the index cannot be compared with them.
            problems.push(format!("index {name:?}: its records cannot all be read ({})", e.message()));
            return Ok(0);
        }
    };
    let show = |v: &[u8], r: &[u8]| {
        let value = ordered::decode(v).map_or_else(|| "(damaged value)".to_string(), |j| j.to_string());
        let record = Record::from_stored(def.source, r).map_or_else(|_| "(damaged record)".into(), |r| r.to_string());
        format!("{record} = {value}")
    };
    let mut stmt = conn.prepare("SELECT value, record FROM bdb_index_entries WHERE idx = ?1 ORDER BY value, record")?;
    let mut rows = stmt.query([def.id])?;
    let mut n = 0;
    let mut last_value: Option<Vec<u8>> = None;
    while let Some(r) = rows.next()? {
        n += 1;
        let (v, rec): (Vec<u8>, Vec<u8>) = (r.get(0)?, r.get(1)?);
        if def.unique && last_value.as_deref() == Some(v.as_slice()) {
            problems.push(format!("index {name:?}: unique, but the value of {} is held twice", show(&v, &rec)));
        }
        if want.remove(&(v.clone(), rec.clone())).is_none() {
            problems.push(format!("index {name:?}: entry {} does not match its record", show(&v, &rec)));
        }
        last_value = Some(v);
    }
    for ((v, rec), _) in want.into_iter().filter(|(_, required)| *required) {
        problems.push(format!("index {name:?}: entry {} is missing", show(&v, &rec)));
    }
    Ok(n)
}
