//! Prefix search over stream paths: byte order, lazy.

use crate::db::Db;
use crate::error::{Error, Result};
use crate::kv::{count, Pager, Source};

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

impl Db {
    /// Paths of streams starting with `prefix` (a real prefix: `/tex` finds
    /// `/textures/a.png`, not `/a/tex`), in byte order, after `start_after`, at most `limit`.
    pub fn search(&self, prefix: &str, start_after: Option<&str>, limit: Option<usize>) -> Result<PathIter> {
        Ok(PathIter {
            pager: Pager::new(&self.inner, Source::Paths, prefix.as_bytes(), start_after.map(str::as_bytes), limit)?,
        })
    }

    /// Number of stream paths starting with `prefix`.
    pub fn search_count(&self, prefix: &str) -> Result<u64> {
        self.inner.read(|c| count(c, Source::Paths, prefix.as_bytes()))
    }
}

impl std::fmt::Debug for PathIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PathIter")
    }
}
