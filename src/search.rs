//! Prefix search over stream paths: byte order, lazy.

use crate::error::{Error, Result};
use crate::kv::{Pager, Source};
use crate::storage::Core;

/// Lazy iterator over stream paths in byte order, fetched a page at a time.
pub struct PathIter {
    pager: Pager,
}

impl Iterator for PathIter {
    type Item = Result<String>;
    fn next(&mut self) -> Option<Result<String>> {
        self.pager.next().map(|r| {
            r.and_then(|(p, _)| String::from_utf8(p).map_err(|_| Error::corrupt("a stored path is not UTF-8")))
        })
    }
}

impl PathIter {
    pub(crate) fn new(core: Core<'_>, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<PathIter> {
        Ok(PathIter { pager: Pager::new(core, Source::Paths, prefix.as_bytes(), after.map(str::as_bytes), limit)? })
    }
}

/// Number of stream paths starting with `prefix`.
pub(crate) fn count(conn: &rusqlite::Connection, prefix: &str) -> Result<u64> {
    crate::kv::count(conn, Source::Paths, prefix.as_bytes())
}

impl std::fmt::Debug for PathIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PathIter")
    }
}
