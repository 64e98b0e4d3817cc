//! An exact in-process read cache for KV gets.
//!
//! The cache remembers the commit counter (see [`crate::storage::wal::WalIndex`]) it is valid
//! for; a get that sees another value drops the cache first. So a hit never returns a value that some commit has
//! since changed, and costs no SQLite call: the only way past LMDB's ~1 µs get.
//! This process's own KV writes keep the cache warm: when nothing else committed in
//! between, the writer moves the cache to the new counter with its changes applied.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use parking_lot::Mutex;

type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

/// A KV change made by this process: the key and its new value, `None` for a delete.
pub(crate) type Change<'a> = (&'a [u8], Option<&'a [u8]>);

pub(crate) struct ReadCache {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The commit counter the entries are valid for; `None` when empty.
    version: Option<u32>,
    map: HashMap<Box<[u8]>, Option<Arc<[u8]>>>,
    bytes: usize,
}

impl State {
    fn reset(&mut self, version: Option<u32>) {
        self.version = version;
        if !self.map.is_empty() {
            self.map = HashMap::default();
            self.bytes = 0;
        }
    }

    fn insert(&mut self, capacity: usize, key: &[u8], value: Option<&[u8]>) {
        let size = key.len() + value.map_or(0, <[u8]>::len) + 48;
        if size > capacity / 16 {
            self.map.remove(key);
            return;
        }
        if self.bytes + size > capacity {
            // Bounded by clearing: simple, and a full cache is rebuilt by the next gets.
            self.map = HashMap::default();
            self.bytes = 0;
        }
        self.bytes += size;
        self.map.insert(key.into(), value.map(Arc::from));
    }
}

impl ReadCache {
    /// A cache of at most `capacity` bytes; `None` when `capacity` is 0.
    pub fn new(capacity: usize) -> Option<ReadCache> {
        (capacity > 0).then(|| ReadCache { capacity, state: Mutex::new(State::default()) })
    }

    /// A cached value (`Some(None)`: known to be missing) if the cache is valid at `version`.
    pub fn lookup(&self, key: &[u8], version: u32) -> Option<Option<Arc<[u8]>>> {
        let mut s = self.state.lock();
        if s.version != Some(version) {
            s.reset(Some(version));
            return None;
        }
        s.map.get(key).cloned()
    }

    /// Remembers what a read done after seeing `version` returned.
    pub fn fill(&self, key: &[u8], value: Option<&[u8]>, version: u32) {
        let mut s = self.state.lock();
        if s.version == Some(version) {
            s.insert(self.capacity, key, value);
        }
    }

    /// After this process committed `changes` (holding the write lock): `before` and
    /// `after` are the counters around the commit.
    pub fn after_commit(&self, before: Option<u32>, after: Option<u32>, changes: &[Change<'_>]) {
        let mut s = self.state.lock();
        let only_ours = match (before, after) {
            (Some(b), Some(a)) => a == b || a == b.wrapping_add(1),
            _ => false,
        };
        if !only_ours {
            s.reset(after);
            return;
        }
        if s.version != before {
            s.reset(after);
        }
        s.version = after;
        for &(k, v) in changes {
            s.insert(self.capacity, k, v);
        }
    }
}
