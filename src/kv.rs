//! Key-value records: byte keys in byte order.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};

use crate::error::{Error, Result};
use crate::options::{check_key, check_value, show_key};
use crate::storage::pool::Pooled;
use crate::index::upkeep::{self, Doc, Old};
use crate::storage::catalog::{IndexDef, IndexSource};
use crate::storage::schema::{open_kv, seal_kv, RowCrc};
use crate::storage::{Core, Store, Via};

/// Rows fetched per page by lazy iterators: each page is its own short read.
const PAGE: usize = 1000;

// Operations on a connection, shared by `Db` (one transaction each) and `Txn`.

pub(crate) fn get(conn: &Connection, key: &[u8]) -> Result<Option<Vec<u8>>> {
    get_with(conn, key, |v| v.map(<[u8]>::to_vec))
}

/// The point get. A `static`, so its address names the pooled readers' kept statement.
static GET_SQL: &str = "SELECT value FROM bdb_kv WHERE key = ?1";

/// Calls `f` with the value of `key`, borrowed, once its record checksum is checked.
pub(crate) fn get_with<R>(conn: &Connection, key: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> Result<R> {
    check_key(key)?;
    let mut stmt = conn.prepare_cached(GET_SQL)?;
    let mut rows = stmt.query([key])?;
    match rows.next()? {
        Some(row) => Ok(f(Some(open_kv(key, blob(row, 0)?)?))),
        None => Ok(f(None)),
    }
}

/// Calls `f` with the value of `key`, borrowed: on the database from the read
/// cache when it is current.
pub(crate) fn cached_get_with<R>(core: Core<'_>, key: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> Result<R> {
    check_key(key)?;
    let inner = match core {
        Core::Db(i) => i,
        Core::Txn(t) => return t.with(|c| get_with(c, key, f)),
    };
    let counter = inner.commit_counter();
    let Some((cache, version)) = inner.cache.as_ref().zip(counter) else {
        return inner.read_pooled(counter, |p| pooled_get(p, key, f));
    };
    inner.check_open()?;
    if let Some(hit) = cache.lookup(key, version) {
        return Ok(f(hit.as_deref()));
    }
    inner.read_pooled(counter, |p| {
        pooled_get(p, key, |v| {
            cache.fill(key, v, version);
            f(v)
        })
    })
}

/// [`get_with`] on a pooled reader, through its kept statement.
#[inline]
fn pooled_get<R>(p: &mut Pooled, key: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> Result<R> {
    p.lookup(GET_SQL, key, |row| match row {
        None => Ok(f(None)),
        Some(Ok(stored)) => Ok(f(Some(open_kv(key, stored)?))),
        Some(Err(())) => Err(Error::corrupt("a stored key or value is not bytes")),
    })
}

/// Values of many keys from one snapshot: on the database, hits from the read
/// cache and misses from one pooled reader at the same commit.
pub(crate) fn get_many(core: Core<'_>, keys: &[impl AsRef<[u8]>]) -> Result<Vec<Option<Vec<u8>>>> {
    for k in keys {
        check_key(k.as_ref())?;
    }
    let read_all = |c: &Connection| keys.iter().map(|k| get(c, k.as_ref())).collect();
    let inner = match core {
        Core::Db(i) => i,
        Core::Txn(t) => return t.with(read_all),
    };
    let counter = inner.commit_counter();
    let Some((cache, version)) = inner.cache.as_ref().zip(counter) else {
        return inner.read_snapshot(read_all);
    };
    inner.check_open()?;
    let mut out: Vec<Option<Option<Vec<u8>>>> =
        keys.iter().map(|k| cache.lookup(k.as_ref(), version).map(|hit| hit.as_deref().map(<[u8]>::to_vec))).collect();
    if out.iter().all(Option::is_some) {
        return Ok(out.into_iter().flatten().collect());
    }
    let filled = inner.read_snapshot(|c| {
        for (k, slot) in keys.iter().zip(out.iter_mut()).filter(|(_, s)| s.is_none()) {
            *slot = Some(get_with(c, k.as_ref(), |v| {
                cache.fill(k.as_ref(), v, version);
                v.map(<[u8]>::to_vec)
            })?);
        }
        Ok(())
    });
    filled?;
    // The hits were valid at `version`; the misses were read in a snapshot taken
    // after it. Unless something committed in between, that is one snapshot.
    if inner.commit_counter() == counter {
        Ok(out.into_iter().flatten().collect())
    } else {
        inner.read_snapshot(read_all)
    }
}

/// Column `i` of a row as bytes: a value of another type is damage.
#[inline]
fn blob<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r [u8]> {
    match row.get_ref(i) {
        Ok(ValueRef::Blob(b)) => Ok(b),
        other => Err(not_blob(other)),
    }
}

#[cold]
fn not_blob(v: rusqlite::Result<ValueRef<'_>>) -> Error {
    match v.and_then(|v| v.as_blob().map(|_| ()).map_err(rusqlite::Error::from)) {
        Err(e) => e.into(),
        Ok(()) => Error::corrupt("a stored key or value is not bytes"),
    }
}

pub(crate) fn put(conn: &Connection, inner: &Store, key: &[u8], value: &[u8]) -> Result<()> {
    check_key(key)?;
    check_value(key, value)?;
    if let Some(defs) = upkeep::covering(conn, inner, IndexSource::Kv, key)? {
        index_change(conn, &defs, key, Some(value))?;
    }
    let mut stored = Vec::with_capacity(value.len() + 4);
    seal_kv(key, value, &mut stored);
    conn.prepare_cached("INSERT OR REPLACE INTO bdb_kv(key, value) VALUES (?1, ?2)")?.execute(params![key, stored])?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, inner: &Store, key: &[u8]) -> Result<bool> {
    check_key(key)?;
    if let Some(defs) = upkeep::covering(conn, inner, IndexSource::Kv, key)? {
        index_change(conn, &defs, key, None)?;
    }
    Ok(conn.prepare_cached("DELETE FROM bdb_kv WHERE key = ?1")?.execute([key])? > 0)
}

/// Index upkeep for a KV write of `key` (`new`: `None` for a delete), before the row
/// changes.
fn index_change(conn: &Connection, defs: &[IndexDef], key: &[u8], new: Option<&[u8]>) -> Result<()> {
    with_old(conn, key, |old| upkeep::change(conn, defs, IndexSource::Kv, key, old, new.map(Doc::Bytes)))
}

/// Calls `f` with what the row of `key` holds now (a damaged one is `Old::Unknown`).
fn with_old<R>(conn: &Connection, key: &[u8], f: impl FnOnce(Old<'_>) -> Result<R>) -> Result<R> {
    let mut stmt = conn.prepare_cached("SELECT value FROM bdb_kv WHERE key = ?1")?;
    let mut rows = stmt.query([key])?;
    match rows.next()? {
        None => f(Old::None),
        Some(r) => f(old_of(key, blob(r, 0))),
    }
}

fn old_of<'a>(key: &[u8], stored: Result<&'a [u8]>) -> Old<'a> {
    match stored.and_then(|s| open_kv(key, s)) {
        Ok(v) => Old::Doc(Doc::Bytes(v)),
        Err(_) => Old::Unknown,
    }
}

/// Index upkeep for `put_many` (`order`: the pairs in key order; of a key given twice
/// the later pair wins), before the rows change, as one `upkeep::Batch`.
fn index_batch<'r, K: AsRef<[u8]>, V: AsRef<[u8]>>(conn: &Connection, defs: &[IndexDef], order: &[&'r (K, V)]) -> Result<()> {
    // The last pair of each key an index covers.
    let mut writes: Vec<(&'r [u8], &'r [u8])> = Vec::new();
    for (k, v) in order.iter().map(|p| (p.0.as_ref(), p.1.as_ref())) {
        match writes.last_mut() {
            Some(last) if last.0 == k => last.1 = v,
            _ if defs.iter().any(|d| d.covers(IndexSource::Kv, k)) => writes.push((k, v)),
            _ => {}
        }
    }
    let mut batch = upkeep::Batch::new(defs, IndexSource::Kv);
    old_values(conn, &writes, |(k, v), old| batch.add(*k, old, Some(Doc::Bytes(v))))?;
    batch.apply(conn)
}

/// Calls `f` with each of `writes` (distinct keys in order) and what its row holds now.
/// The rows are read in one ordered walk from the first key to the last while it mostly
/// meets the keys asked for (one B-tree descent instead of one a key: a batch of new or
/// rewritten keys); past as many other rows as keys asked for, one lookup a key.
fn old_values<'r, T>(conn: &Connection, writes: &[(&'r [u8], T)], mut f: impl FnMut(&(&'r [u8], T), Old<'_>)) -> Result<()> {
    let (Some(first), Some(last)) = (writes.first(), writes.last()) else { return Ok(()) };
    let mut i = 0;
    let mut others = 0;
    {
        let mut stmt = conn.prepare_cached("SELECT key, value FROM bdb_kv WHERE key >= ?1 AND key <= ?2 ORDER BY key")?;
        let mut rows = stmt.query(params![first.0, last.0])?;
        while i < writes.len() && others <= writes.len() {
            let Some(row) = rows.next()? else {
                // Past the last row: the other keys have none.
                writes[i..].iter().for_each(|w| f(w, Old::None));
                return Ok(());
            };
            let k = blob(row, 0)?;
            while i < writes.len() && writes[i].0 < k {
                f(&writes[i], Old::None);
                i += 1;
            }
            if i < writes.len() && writes[i].0 == k {
                f(&writes[i], old_of(k, blob(row, 1)));
                i += 1;
            } else {
                others += 1;
            }
        }
    }
    for w in &writes[i..] {
        with_old(conn, w.0, |old| Ok(f(w, old)))?;
    }
    Ok(())
}

pub(crate) fn put_many<K: AsRef<[u8]>, V: AsRef<[u8]>>(conn: &Connection, inner: &Store, pairs: &[(K, V)]) -> Result<()> {
    for (k, v) in pairs {
        check_key(k.as_ref())?;
        check_value(k.as_ref(), v.as_ref())?;
    }
    // Sorted inserts touch each B-tree page once: about 3x faster than random order.
    let mut order: Vec<&(K, V)> = pairs.iter().collect();
    order.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    let defs = inner.catalog.defs(conn)?;
    if defs.iter().any(|d| d.source == IndexSource::Kv) {
        index_batch(conn, &defs, &order)?;
    }
    // Many rows per statement: one step per group instead of one per row.
    let mut groups = order.chunks_exact(PUT_GROUP);
    // The stored values of a group, one after another, and where each ends.
    let mut sealed = Vec::new();
    let mut ends = Vec::with_capacity(PUT_GROUP);
    if groups.len() > 0 {
        let rows = vec!["(?, ?)"; PUT_GROUP].join(", ");
        let mut stmt = conn.prepare_cached(&format!("INSERT OR REPLACE INTO bdb_kv(key, value) VALUES {rows}"))?;
        for group in groups.by_ref() {
            sealed.clear();
            ends.clear();
            for (k, v) in group.iter() {
                seal_kv(k.as_ref(), v.as_ref(), &mut sealed);
                ends.push(sealed.len());
            }
            let mut start = 0;
            for (i, ((k, _), &end)) in group.iter().zip(&ends).enumerate() {
                stmt.raw_bind_parameter(2 * i + 1, k.as_ref())?;
                stmt.raw_bind_parameter(2 * i + 2, &sealed[start..end])?;
                start = end;
            }
            stmt.raw_execute()?;
        }
    }
    let mut stmt = conn.prepare_cached("INSERT OR REPLACE INTO bdb_kv(key, value) VALUES (?1, ?2)")?;
    for (k, v) in groups.remainder() {
        sealed.clear();
        seal_kv(k.as_ref(), v.as_ref(), &mut sealed);
        stmt.execute(params![k.as_ref(), sealed])?;
    }
    Ok(())
}

/// Rows per INSERT statement in `put_many`.
const PUT_GROUP: usize = 64;

/// Rows under `prefix`, each read and checked: a count from the b-tree's cell
/// counts alone would take a damaged page's garbage for rows.
pub(crate) fn count(conn: &Connection, source: Source, prefix: &[u8]) -> Result<u64> {
    let source = if matches!(source, Source::Keys) { Source::KeyValues } else { source };
    walk(conn, source, prefix, None, None, |_, _| true)
}

/// What a lazy pager lists.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    Keys,
    KeyValues,
    /// Stream paths (the `value` column is empty).
    Paths,
}

impl Source {
    /// The walk's statement: from `?1` on (`>=`), or after it (`>`). Fixed strings, not
    /// formatted per call: a prefix search is every PhysFS directory check, and
    /// formatting the SQL and hashing it into the statement cache cost ~2,000
    /// instructions of one.
    fn walk_sql(self, inclusive: bool) -> &'static str {
        // Key listings read the values too: the checksum covers both.
        match (self, inclusive) {
            (Source::Keys | Source::KeyValues, true) => "SELECT key, value FROM bdb_kv WHERE key >= ?1 ORDER BY key",
            (Source::Keys | Source::KeyValues, false) => "SELECT key, value FROM bdb_kv WHERE key > ?1 ORDER BY key",
            (Source::Paths, true) => {
                "SELECT path, row_crc, latest, next_version FROM bdb_streams WHERE path >= ?1 ORDER BY path"
            }
            (Source::Paths, false) => {
                "SELECT path, row_crc, latest, next_version FROM bdb_streams WHERE path > ?1 ORDER BY path"
            }
        }
    }
}

/// Calls `f` with each row after `after` (or from `prefix`) in byte order, borrowed
/// from the database pages and checked against its record checksum, until `f`
/// returns false or `limit` rows; returns the count.
pub(crate) fn walk(
    conn: &Connection,
    source: Source,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: Option<usize>,
    mut f: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<u64> {
    let (lower, inclusive) = match after {
        Some(a) if a >= prefix => (a, false),
        _ => (prefix, true),
    };
    // No upper bound in SQL: the walk stops at the first key past the prefix itself,
    // which spares SQLite a record comparison per row. No LIMIT either: SQLite
    // re-prepares a statement with `LIMIT ?` at every run (~44,000 instructions, more
    // than a short walk); stepping stops at the limit all the same.
    let limit = limit.unwrap_or(usize::MAX) as u64;
    let mut stmt = conn.prepare_cached(source.walk_sql(inclusive))?;
    let mut rows = stmt.query(params![lower])?;
    let mut seen = 0;
    while seen < limit {
        let Some(row) = rows.next()? else { break };
        let k = blob(row, 0)?;
        if !k.starts_with(prefix) {
            break; // keys in byte order: every later key is past the prefix too
        }
        seen += 1;
        let v = match source {
            Source::Paths => {
                let crc = RowCrc::new().bytes(k).int(row.get(2)?).int(row.get(3)?);
                crc.verify(row.get(1)?, || format!("stream path {}", show_key(k)))?;
                &[][..]
            }
            Source::Keys | Source::KeyValues => {
                let v = open_kv(k, blob(row, 1)?)?;
                if matches!(source, Source::Keys) {
                    &[][..]
                } else {
                    v
                }
            }
        };
        if !f(k, v) {
            break;
        }
    }
    Ok(seen)
}

/// Rows of a lazy scan in one buffer: one allocation per page, not two per row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvPage {
    data: Vec<u8>,
    /// (key start, value start, value end) in `data`.
    rows: Vec<(usize, usize, usize)>,
}

impl KvPage {
    /// Appends a row.
    pub fn push(&mut self, k: &[u8], v: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(k);
        self.data.extend_from_slice(v);
        self.rows.push((start, start + k.len(), self.data.len()));
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i` as (key, value); the value is empty for key and path listings.
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.rows.get(i).map(|&(k, v, e)| (&self.data[k..v], &self.data[v..e]))
    }

    /// The rows in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        (0..self.rows.len()).filter_map(|i| self.get(i))
    }

    fn last_key(&self) -> Option<&[u8]> {
        self.rows.last().map(|&(k, v, _)| &self.data[k..v])
    }

    /// Empties the page for `rows` more rows of about `bytes` in all, keeping its buffers.
    fn reset_for(&mut self, rows: usize, bytes: usize) {
        self.data.clear();
        self.rows.clear();
        self.data.reserve(bytes);
        self.rows.reserve(rows);
    }
}

/// Appends up to `limit` rows to `out`.
fn fill_page(
    conn: &Connection,
    source: Source,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
    out: &mut KvPage,
) -> Result<u64> {
    walk(conn, source, prefix, after, Some(limit), |k, v| {
        out.push(k, v);
        true
    })
}

/// Lazy ordered iterator over (key, value) pairs under a prefix.
pub struct KvIter {
    pager: Pager,
}

/// Lazy ordered iterator over keys under a prefix.
pub struct KeyIter {
    pager: Pager,
}

pub(crate) struct Pager {
    via: Via,
    source: Source,
    prefix: Vec<u8>,
    after: Option<Vec<u8>>,
    left: Option<usize>,
    page: KvPage,
    /// Rows of `page` already handed out.
    pos: usize,
    done: bool,
    page_rows: usize,
}

impl Pager {
    pub(crate) fn new(
        core: Core<'_>,
        source: Source,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: Option<usize>,
    ) -> Result<Pager> {
        core.check_open()?;
        Ok(Pager {
            via: core.to_owned(),
            source,
            prefix: prefix.to_vec(),
            after: after.map(|a| a.to_vec()),
            left: limit,
            page: KvPage::default(),
            pos: 0,
            done: false,
            page_rows: 64,
        })
    }

    /// Makes sure unread rows are at hand; `false` at the end.
    fn fill(&mut self) -> Result<bool> {
        if self.left == Some(0) || self.done && self.pos >= self.page.len() {
            return Ok(false);
        }
        if let Err(e) = self.via.core().check_open() {
            // Report CLOSED once, then end.
            self.done = true;
            self.page = KvPage::default();
            self.pos = 0;
            return Err(e);
        }
        if self.pos < self.page.len() {
            return Ok(true);
        }
        if self.done {
            return Ok(false);
        }
        // Pages grow so a short scan stays cheap and a long one amortizes each read.
        let want = self.left.unwrap_or(usize::MAX).min(self.page_rows);
        self.page_rows = (self.page_rows * 4).min(PAGE * 16);
        // The buffers of the page just read are reused, sized once from its rows:
        // growing them a row at a time copied and faulted in each page again.
        let row_bytes = if self.page.is_empty() { 0 } else { self.page.data.len() / self.page.len() };
        self.page.reset_for(want, want.saturating_mul(row_bytes));
        self.pos = 0;
        let (prefix, after, source, out) = (&self.prefix, self.after.as_deref(), self.source, &mut self.page);
        match self.via.core().read(|c| fill_page(c, source, prefix, after, want, out)) {
            Ok(_) => {
                self.done = self.page.len() < want;
                if let Some(last) = self.page.last_key() {
                    match &mut self.after {
                        Some(a) => {
                            a.clear();
                            a.extend_from_slice(last);
                        }
                        None => self.after = Some(last.to_vec()),
                    }
                }
                Ok(self.pos < self.page.len())
            }
            Err(e) => {
                self.done = true;
                self.page = KvPage::default();
                Err(e)
            }
        }
    }

    fn took(&mut self, n: usize) {
        self.pos += n;
        if let Some(l) = self.left.as_mut() {
            *l -= n;
        }
    }

    pub(crate) fn next(&mut self) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        match self.fill() {
            Ok(true) => {
                let row = self.page.get(self.pos).map(|(k, v)| (k.to_vec(), v.to_vec()));
                self.took(1);
                row.map(Ok)
            }
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// The unread rows of the current page, or the next page: at most `limit` rows in all.
    pub(crate) fn next_page(&mut self) -> Option<Result<KvPage>> {
        match self.fill() {
            Ok(true) => {
                let end = self.page.len().min(self.pos.saturating_add(self.left.unwrap_or(usize::MAX)));
                let n = end - self.pos;
                let out = if self.pos == 0 && end == self.page.len() {
                    std::mem::take(&mut self.page) // the whole page, as fetched: no copy
                } else {
                    let mut p = KvPage::default();
                    for i in self.pos..end {
                        let (k, v) = self.page.get(i).expect("in range");
                        p.push(k, v);
                    }
                    self.pos = end;
                    p
                };
                if self.page.is_empty() {
                    self.pos = 0;
                }
                if let Some(l) = self.left.as_mut() {
                    *l -= n;
                }
                Some(Ok(out))
            }
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl KvIter {
    pub(crate) fn new(core: Core<'_>, prefix: &[u8], after: Option<&[u8]>, limit: Option<usize>) -> Result<KvIter> {
        Ok(KvIter { pager: Pager::new(core, Source::KeyValues, prefix, after, limit)? })
    }

    /// The next rows as one page (one buffer): the cheapest way through a long scan.
    pub fn next_page(&mut self) -> Option<Result<KvPage>> {
        self.pager.next_page()
    }

    /// `CLOSED` once the database is closed or the transaction it came from has ended:
    /// for bindings that hand out the rows of a page one at a time.
    pub fn check_open(&self) -> Result<()> {
        self.pager.via.core().check_open()
    }
}

impl KeyIter {
    pub(crate) fn new(core: Core<'_>, prefix: &[u8], after: Option<&[u8]>, limit: Option<usize>) -> Result<KeyIter> {
        Ok(KeyIter { pager: Pager::new(core, Source::Keys, prefix, after, limit)? })
    }

    /// The next keys as one page (values empty).
    pub fn next_page(&mut self) -> Option<Result<KvPage>> {
        self.pager.next_page()
    }

    /// As [`KvIter::check_open`].
    pub fn check_open(&self) -> Result<()> {
        self.pager.via.core().check_open()
    }
}

impl Iterator for KvIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        self.pager.next()
    }
}

impl Iterator for KeyIter {
    type Item = Result<Vec<u8>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.pager.next().map(|r| r.map(|(k, _)| k))
    }
}

pub(crate) fn all_equal(values: &[Vec<u8>]) -> bool {
    values.windows(2).all(|w| w[0] == w[1])
}

pub(crate) fn all_distinct(values: &[Vec<u8>]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(values.len());
    values.iter().all(|v| seen.insert(v.as_slice()))
}

fn values_of<K: AsRef<[u8]>>(conn: &Connection, keys: &[K]) -> Result<Vec<Vec<u8>>> {
    keys.iter()
        .map(|k| get(conn, k.as_ref())?.ok_or_else(|| Error::not_found(format!("key {}", show_key(k.as_ref())))))
        .collect()
}

pub(crate) fn values_equal<K: AsRef<[u8]>>(conn: &Connection, keys: &[K], distinct: bool) -> Result<bool> {
    let v = values_of(conn, keys)?;
    Ok(if distinct { all_distinct(&v) } else { all_equal(&v) })
}

impl std::fmt::Debug for KvIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KvIter")
    }
}

impl std::fmt::Debug for KeyIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyIter")
    }
}
