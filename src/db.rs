//! The `Db` handle: one writer connection, a pool of reader connections.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RawMutex};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::cache::{Change, ReadCache};
use crate::content;
use crate::error::{catch_panic, Error, ErrorCode, Result};
use crate::options::{Durability, OpenOptions};
use crate::pool::{Pooled, ReaderPool};
use crate::schema::{self, FileKind};
use crate::wal::WalIndex;

/// Memory map for reader connections: chunk reads run at memcpy speed through it.
const READER_MMAP_SIZE: i64 = 1 << 30;

pub(crate) type WriterGuard = parking_lot::ArcMutexGuard<RawMutex, Option<Connection>>;

/// A handle on one BuffDB database. Cheap to clone and share between threads;
/// every clone is the same database, and `close()` closes it for all of them.
#[derive(Clone)]
pub struct Db {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    path: String,
    target: String,
    /// The directory of a `":memory:"` database, removed when the last handle goes.
    scratch_dir: Option<std::path::PathBuf>,
    pub(crate) opts: OpenOptions,
    closed: AtomicBool,
    /// `None` for a read-only database.
    writer: Option<Arc<Mutex<Option<Connection>>>>,
    readers: Arc<ReaderPool>,
    /// Contents being read in this process, by content id: never collected while pinned.
    pins: Mutex<HashMap<i64, usize>>,
    /// The WAL index header, read directly through the writer connection's mapping
    /// (writable databases only); taken away before that connection closes.
    wal: Arc<parking_lot::RwLock<Option<WalIndex>>>,
    /// Exact KV read cache, kept valid through `wal`.
    pub(crate) cache: Option<ReadCache>,
    checkpointer: Option<Checkpointer>,
    /// The file's page size (fixed when it was made).
    page_size: u64,
}

static MEMORY_DBS: AtomicU64 = AtomicU64::new(0);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.inner.path).field("closed", &self.is_closed()).finish()
    }
}

impl Db {
    /// Opens (or, with `create`, makes) the database at `path`. `":memory:"` opens
    /// a private in-memory database. A file that is not BuffDB is refused with
    /// `NOT_A_DATABASE` and left untouched.
    pub fn open(path: impl AsRef<Path>, opts: OpenOptions) -> Result<Db> {
        let path = path.as_ref();
        catch_panic(|| Db::open_inner(path, opts))
    }

    fn open_inner(path: &Path, opts: OpenOptions) -> Result<Db> {
        opts.validate()?;
        let shown = path.to_string_lossy().into_owned();
        let memory = shown == ":memory:";
        let mut scratch_dir = None;
        let (target, fresh) = if memory {
            // A private file on tmpfs rather than SQLite's memdb: memdb blocks readers
            // during a write transaction, and ":memory:" must behave like a file.
            let dir = memory_dir()?;
            let file = dir.join("memory.db").to_string_lossy().into_owned();
            scratch_dir = Some(dir);
            (file, true)
        } else {
            let exists = path.exists();
            let fresh = match schema::inspect(path)? {
                FileKind::BuffDb => false,
                FileKind::Empty if opts.read_only || !opts.create => {
                    return Err(Error::new(
                        ErrorCode::NotFound,
                        if exists {
                            format!("{shown} is empty, and creating a database was not allowed")
                        } else {
                            format!("database file {shown} does not exist")
                        },
                    ))
                }
                FileKind::Empty => true,
            };
            (shown.clone(), fresh)
        };
        let mut inner = Inner {
            path: shown,
            target,
            scratch_dir,
            opts,
            closed: AtomicBool::new(false),
            writer: None,
            readers: Arc::default(),
            pins: Mutex::new(HashMap::new()),
            wal: Arc::default(),
            cache: None,
            checkpointer: None,
            page_size: 0,
        };
        if !inner.opts.read_only {
            let conn = inner.connect(true)?;
            if fresh {
                schema::create(&conn, inner.opts.page_size)?;
            } else {
                schema::verify(&conn)?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
            }
            content::collect_abandoned(&conn)?;
            inner.page_size = conn.pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))? as u64;
            let wal = WalIndex::of(&conn);
            let has_wal = wal.is_some();
            *inner.wal.write() = wal;
            if has_wal {
                inner.cache = ReadCache::new(inner.opts.cache_size);
                // Checkpoints move to a thread of their own instead of stalling a commit.
                conn.pragma_update(None, "wal_autocheckpoint", 0)?;
                let c = Checkpointer::start(inner.connect(false)?, inner.readers.clone(), inner.wal.clone())?;
                inner.checkpointer = Some(c);
            }
            inner.writer = Some(Arc::new(Mutex::new(Some(conn))));
            // One reader ready, so the first read does not pay for opening a connection.
            let reader = inner.connect(false)?;
            inner.readers.give(Pooled::new(reader));
        } else {
            let conn = inner.connect(false)?;
            schema::verify(&conn)?;
            inner.readers.give(Pooled::new(conn));
        }
        Ok(Db { inner: Arc::new(inner) })
    }

    /// Closes the database for every clone of this handle. Idempotent; any later
    /// call gives `CLOSED`. Waits up to the busy timeout for an open transaction.
    pub fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.inner.readers.clear();
        if let Some(c) = &self.inner.checkpointer {
            c.stop();
        }
        if let Some(w) = &self.inner.writer {
            // A transaction or writer still holding the lock keeps its connection
            // until it ends; its commit then fails with CLOSED.
            if let Some(mut g) = w.try_lock_for(self.inner.busy_timeout()) {
                // The WAL index is the writer connection's mapping: gone with it.
                *self.inner.wal.write() = None;
                if let Some(conn) = g.take() {
                    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
                    drop(conn);
                }
            }
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// The path the database was opened with.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    pub fn options(&self) -> &OpenOptions {
        &self.inner.opts
    }

    /// Copies WAL pages into the main file now (PASSIVE: never waits for readers; it
    /// waits, up to the busy timeout, for a background checkpoint already running).
    pub fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint()
    }
}

impl Inner {
    pub(crate) fn checkpoint(&self) -> Result<()> {
        self.check_open()?;
        let mut g = self.lock_writer()?;
        let conn = g.as_mut().ok_or_else(Error::closed)?;
        let deadline = std::time::Instant::now() + self.busy_timeout();
        loop {
            // (busy, frames in the WAL, frames copied); busy = another checkpoint runs.
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(0))?;
            if busy == 0 || std::time::Instant::now() >= deadline {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            Err(Error::closed())
        } else {
            Ok(())
        }
    }

    pub(crate) fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.opts.busy_timeout_ms)
    }

    fn connect(&self, writer: bool) -> Result<Connection> {
        let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX;
        flags |= if self.opts.read_only { OpenFlags::SQLITE_OPEN_READ_ONLY } else { OpenFlags::SQLITE_OPEN_READ_WRITE };
        if writer && self.opts.create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(&self.target, flags).map_err(|e| {
            let err = Error::from(e);
            Error::new(err.code(), format!("cannot open {}: {}", self.path, err.message()))
        })?;
        conn.busy_timeout(self.busy_timeout())?;
        conn.pragma_update(None, "cache_size", -((self.opts.cache_size / 1024).max(64) as i64))?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        schema::prepare_connection(&conn)?;
        if writer {
            let sync = match self.opts.durability {
                _ if self.scratch_dir.is_some() => "OFF",
                Durability::Full => "FULL",
                Durability::Normal => "NORMAL",
                Durability::None => "OFF",
            };
            conn.pragma_update(None, "synchronous", sync)?;
        } else {
            conn.pragma_update(None, "query_only", true)?;
            conn.pragma_update(None, "mmap_size", READER_MMAP_SIZE)?;
            // Load the schema and prepare the hot reads now, not inside the first read.
            crate::kv::get(&conn, b"\0")?;
            crate::stream::version_row(&conn, "\0", None)?;
            content::meta(&conn, 0)?;
            content::chunk_refs_from(&conn, 0, 0, Some(1))?;
        }
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `f` on a pooled reader connection (each statement is its own snapshot
    /// unless `f` opens a read transaction).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_at(self.commit_counter(), f)
    }

    /// [`Inner::read`] for a caller that has just read the commit counter.
    pub(crate) fn read_at<T>(&self, counter: Option<u32>, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.check_open()?;
        let mut p = match self.readers.take() {
            Some(p) => p,
            None => Pooled::new(self.connect(false)?),
        };
        p.refresh(counter)?;
        let out = f(&p.conn);
        if out.is_err() {
            p.end();
        }
        if !self.closed.load(Ordering::SeqCst) {
            self.readers.give(p);
        }
        out
    }

    /// Runs `f` on a pooled reader inside one read transaction (one snapshot).
    pub(crate) fn read_snapshot<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read(|conn| {
            if !conn.is_autocommit() {
                return f(conn); // the pooled connection's read transaction already is one
            }
            conn.execute_batch("BEGIN DEFERRED")?;
            let out = f(conn);
            let end = conn.execute_batch("COMMIT");
            let out = out?;
            end?;
            Ok(out)
        })
    }

    /// Takes the single writer, waiting up to the busy timeout.
    pub(crate) fn lock_writer(&self) -> Result<WriterGuard> {
        self.check_open()?;
        let writer = self.writer.as_ref().ok_or_else(Error::read_only)?;
        let guard = writer.try_lock_arc_for(self.busy_timeout()).ok_or_else(|| {
            Error::new(
                ErrorCode::Busy,
                format!(
                    "another writer (a transaction or stream writer) held the write lock for {} ms",
                    self.opts.busy_timeout_ms
                ),
            )
        })?;
        if guard.is_none() {
            return Err(Error::closed());
        }
        // An idle reader's snapshot would stop this write from restarting a fully
        // checkpointed WAL (it would grow instead): end them first.
        self.readers.release_stale(None);
        Ok(guard)
    }

    /// Runs `f` in one write transaction; commits when it returns `Ok`.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.write_kv(&[], f)
    }

    /// Like [`Inner::write`] for `f` making the KV `changes`, so the read cache
    /// stays warm across this process's own commits.
    pub(crate) fn write_kv<T>(&self, changes: &[Change<'_>], f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.lock_writer()?;
        let conn = guard.as_mut().ok_or_else(Error::closed)?;
        let before = self.commit_counter();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        if let Some(cache) = &self.cache {
            cache.after_commit(before, self.commit_counter(), changes);
        }
        self.after_commit();
        Ok(out)
    }

    /// After any commit of this process: idle readers drop their old snapshots, and a
    /// checkpoint starts once the WAL is long.
    pub(crate) fn after_commit(&self) {
        self.readers.release_stale(self.commit_counter());
        if let Some(c) = &self.checkpointer {
            let frames = self.wal.read().as_ref().and_then(WalIndex::frames);
            if frames.is_some_and(|f| f as u64 * self.page_size >= CHECKPOINT_AFTER_BYTES) {
                c.request();
            }
        }
    }

    /// The commit counter of the WAL index (`None` without one, or mid-commit).
    pub(crate) fn commit_counter(&self) -> Option<u32> {
        self.wal.read().as_ref().and_then(WalIndex::commit_counter)
    }

    pub(crate) fn has_wal_index(&self) -> bool {
        self.wal.read().is_some()
    }

    pub(crate) fn pin(&self, content: i64) {
        *self.pins.lock().entry(content).or_insert(0) += 1;
    }

    pub(crate) fn unpin(&self, content: i64) {
        let mut pins = self.pins.lock();
        if let Some(n) = pins.get_mut(&content) {
            *n -= 1;
            if *n == 0 {
                pins.remove(&content);
            }
        }
    }

    pub(crate) fn is_pinned(&self, content: i64) -> bool {
        self.pins.lock().contains_key(&content)
    }
}

/// WAL size that starts a background checkpoint (SQLite's default is 1000 pages).
const CHECKPOINT_AFTER_BYTES: u64 = 16 << 20;

/// Runs PASSIVE checkpoints on a connection and thread of its own, when asked.
/// PASSIVE never waits for readers or writers; what it cannot copy yet waits for
/// the next request.
struct Checkpointer {
    signal: Mutex<Option<std::sync::mpsc::SyncSender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    /// Also ends, once a second, idle readers' snapshots that another process's
    /// commits made stale.
    fn start(
        conn: Connection,
        readers: Arc<ReaderPool>,
        wal: Arc<parking_lot::RwLock<Option<WalIndex>>>,
    ) -> Result<Checkpointer> {
        use std::sync::mpsc::RecvTimeoutError;
        conn.pragma_update(None, "query_only", false)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("buffdb-checkpoint".into())
            .spawn(move || loop {
                let counter = || wal.read().as_ref().and_then(WalIndex::commit_counter);
                match rx.recv_timeout(Duration::from_secs(1)) {
                    Ok(()) => {
                        readers.release_stale(counter());
                        let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
                    }
                    Err(RecvTimeoutError::Timeout) => readers.release_stale(counter()),
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            })
            .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer { signal: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)) })
    }

    fn request(&self) {
        if let Some(tx) = &*self.signal.lock() {
            let _ = tx.try_send(()); // full: a checkpoint is already due
        }
    }

    fn stop(&self) {
        self.signal.lock().take();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(c) = &self.checkpointer {
            c.stop();
        }
        if let Some(dir) = &self.scratch_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A new private directory for a `":memory:"` database, on tmpfs where there is one.
fn memory_dir() -> Result<std::path::PathBuf> {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    let n = MEMORY_DBS.fetch_add(1, Ordering::Relaxed);
    let dir = base.join(format!("buffdb-memory-{}-{n}-{}", std::process::id(), now_ms()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot make {}: {e}", dir.display())))?;
    Ok(dir)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
