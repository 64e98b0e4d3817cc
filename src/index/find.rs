//! Lookups: the entries of an index with one value or in a range, in index order
//! (value, then record), lazy and paged like the scans.

use rusqlite::{params, Connection};

use super::{encode_asked, missing, IndexEntry, Record};
use crate::error::{Error, Result};
use crate::storage::catalog::IndexSource;
use crate::storage::ordered;
use crate::storage::{Core, Via};

/// Rows of the largest page.
const MAX_PAGE: usize = 16_000;

/// Below every encoded value, and above every one (all start with a tag under 0xFF).
const LOWEST: &[u8] = b"";
const HIGHEST: &[u8] = b"\xff";

/// A lazy, ordered iterator over index entries. Each page is its own short read on
/// the database (or a read inside the transaction it came from, `CLOSED` once that
/// ends); an index dropped between pages ends it with `NOT_FOUND`.
pub struct FindIter {
    via: Via,
    name: String,
    low: Vec<u8>,
    high: Vec<u8>,
    reverse: bool,
    /// The last entry handed out (or the one to start after): (value, record).
    after: Option<(Vec<u8>, Vec<u8>)>,
    left: Option<usize>,
    page: std::collections::VecDeque<IndexEntry>,
    page_rows: usize,
    done: bool,
    /// The source of the `start_after` record, checked against the index's.
    start_source: Option<IndexSource>,
}

impl std::fmt::Debug for FindIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FindIter").field("index", &self.name).field("reverse", &self.reverse).finish()
    }
}

impl FindIter {
    pub(crate) fn new(
        core: Core<'_>,
        name: &str,
        low: Option<&serde_json::Value>,
        high: Option<&serde_json::Value>,
        reverse: bool,
        start_after: Option<&IndexEntry>,
        limit: Option<usize>,
    ) -> Result<FindIter> {
        super::check_name(name)?;
        core.check_open()?;
        let low = low.map(encode_asked).transpose()?.unwrap_or_else(|| LOWEST.to_vec());
        let high = high.map(encode_asked).transpose()?.unwrap_or_else(|| HIGHEST.to_vec());
        let after = start_after.map(|e| Ok::<_, Error>((encode_asked(&e.value)?, e.record.to_stored()))).transpose()?;
        let mut it = FindIter {
            via: core.to_owned(),
            name: name.to_string(),
            low,
            high,
            reverse,
            after,
            left: limit,
            page: Default::default(),
            page_rows: 16,
            done: false,
            start_source: None,
        };
        it.start_source = start_after.map(|e| e.record.source());
        // The first page now: an unknown index is an error of the call, not of the iteration.
        it.fill()?;
        Ok(it)
    }

    fn fill(&mut self) -> Result<()> {
        if self.done || !self.page.is_empty() || self.left == Some(0) {
            return Ok(());
        }
        let want = self.left.unwrap_or(usize::MAX).min(self.page_rows);
        self.page_rows = (self.page_rows * 4).min(MAX_PAGE);
        let via = self.via.clone();
        let rows = via.core().read(|c| self.read_page(c, want))?;
        self.done = rows.len() < want;
        self.page.extend(rows);
        Ok(())
    }

    /// Up to `want` entries after `self.after`, within the bounds.
    fn read_page(&mut self, conn: &Connection, want: usize) -> Result<Vec<IndexEntry>> {
        let (id, source, ready) = index_of(conn, &self.name)?;
        if !ready {
            return Err(Error::new(
                crate::ErrorCode::Busy,
                format!("index {:?} is being built (create_index again with its definition finishes an interrupted build)", self.name),
            ));
        }
        if let Some(s) = self.start_source.take() {
            if s != source {
                return Err(Error::invalid(format!(
                    "start_after names a {} record; index {:?} holds {} records",
                    s.name(),
                    self.name,
                    source.name()
                )));
            }
        }
        let (cmp, order) = if self.reverse { ("<", "DESC") } else { (">", "") };
        let sql = if self.after.is_some() {
            format!(
                "SELECT value, record FROM bdb_index_entries WHERE idx = ?1 AND value >= ?2 AND value <= ?3
                 AND (value, record) {cmp} (?4, ?5) ORDER BY value {order}, record {order} LIMIT ?6"
            )
        } else {
            format!(
                "SELECT value, record FROM bdb_index_entries WHERE idx = ?1 AND value >= ?2 AND value <= ?3
                 ORDER BY value {order}, record {order} LIMIT ?6"
            )
        };
        let (av, ar) = self.after.as_ref().map(|(v, r)| (v.as_slice(), r.as_slice())).unwrap_or_default();
        let limit = want.min(i64::MAX as usize) as i64;
        let mut stmt = conn.prepare_cached(&sql)?;
        // Parameters 4 and 5 are unused without a start: binding them is harmless.
        let mut rows = stmt.query(params![id, self.low, self.high, av, ar, limit])?;
        let mut out = Vec::new();
        let mut last = None;
        while let Some(r) = rows.next()? {
            let bytes = |i| match r.get_ref(i) {
                Ok(rusqlite::types::ValueRef::Blob(b)) => Ok(b),
                Ok(_) => Err(Error::corrupt(format!("index {:?}: an entry is not bytes", self.name))),
                Err(e) => Err(e.into()),
            };
            let (v, rec) = (bytes(0)?, bytes(1)?);
            let value = ordered::decode(v).ok_or_else(|| {
                Error::corrupt(format!("index {:?}: an entry's value is damaged", self.name))
            })?;
            out.push(IndexEntry { value, record: Record::from_stored(source, rec)? });
            last = Some((v.to_vec(), rec.to_vec()));
        }
        if last.is_some() {
            self.after = last;
        }
        Ok(out)
    }
}

/// (id, source, ready) of the index named `name`; `NOT_FOUND` when there is none.
fn index_of(conn: &Connection, name: &str) -> Result<(i64, IndexSource, bool)> {
    let d = super::def_named(conn, name)?.ok_or_else(|| missing(name))?;
    Ok((d.id, d.source, d.built.is_none()))
}

impl Iterator for FindIter {
    type Item = Result<IndexEntry>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.via.core().check_open().and_then(|()| self.fill()) {
            self.done = true;
            self.page.clear();
            return Some(Err(e));
        }
        let e = self.page.pop_front()?;
        if let Some(l) = self.left.as_mut() {
            *l -= 1;
        }
        Some(Ok(e))
    }
}
