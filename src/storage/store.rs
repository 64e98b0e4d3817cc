//! The store: one writer connection, a pool of reader connections, the WAL bound,
//! the read cache and the pins, shared by every handle on one database.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RawMutex};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, ErrorCode, Result};
use crate::options::{Durability, OpenOptions};
use crate::storage::cache::{Change, ReadCache};
use crate::storage::content;
use crate::storage::crypt::{self, Keying};
use crate::storage::gate::Gate;
use crate::storage::journal;
use crate::storage::owner::{lock_path, OwnerLock, RESERVE_BYTES};
use crate::storage::pool::{Pooled, ReaderPool, SNAPSHOT_MAX_AGE};
use crate::storage::room::Room;
use crate::storage::catalog::Catalog;
use crate::storage::schema::{self, FileKind};
use crate::storage::wal::{replication, WalIndex};
use crate::storage::writeback::EarlyWriteback;

/// Memory map for reader connections: chunk reads run at memcpy speed through it.
const READER_MMAP_SIZE: i64 = 1 << 30;

pub(crate) type WriterGuard = parking_lot::ArcMutexGuard<RawMutex, Option<Connection>>;

/// The database underneath every handle, transaction, reader and writer: its
/// connections, options, caches and pins.
pub struct Store {
    /// Prepares a new reader connection's hot statements (given by the layer above).
    warm: fn(&Connection) -> Result<()>,
    /// The path as given, for messages (lossy where it is not UTF-8).
    path: String,
    /// The file SQLite opens: the OS bytes of the path, exactly.
    target: std::path::PathBuf,
    /// The directory of a `":memory:"` database, removed when the last handle goes.
    scratch_dir: Option<std::path::PathBuf>,
    pub(crate) opts: OpenOptions,
    closed: AtomicBool,
    /// `None` for a read-only database.
    writer: Option<Arc<Mutex<Option<Connection>>>>,
    readers: Arc<ReaderPool>,
    /// Contents being read in this process, by content id: never collected while pinned.
    pins: Mutex<HashMap<i64, usize>>,
    /// The WAL index header, read directly through SQLite's mapping of `-shm`: the
    /// writer connection's, or on a read-only database `wal_owner`'s; taken away
    /// before that connection closes.
    wal: Arc<parking_lot::RwLock<Option<WalIndex>>>,
    /// A read-only database's connection that keeps SQLite's `-shm` mapping (and so
    /// `wal`) alive: with the commit counter, pooled readers keep their snapshot
    /// between reads as on a writable database. Never used for reads.
    wal_owner: Mutex<Option<Connection>>,
    /// Exact KV read cache, kept valid through `wal`.
    pub(crate) cache: Option<ReadCache>,
    checkpointer: Option<Checkpointer>,
    /// Starts writeback early during large writes (files that are synced).
    writeback: Option<EarlyWriteback>,
    /// The file's page size (fixed when it was made).
    page_size: u64,
    /// This handle's writer-liveness lock (writable databases only).
    owner: Option<OwnerLock>,
    /// Opened with SQLite's `immutable` flag: a read-only file on read-only media.
    immutable: bool,
    /// A read-only file in rollback-journal mode (a follow-mode read replica): each
    /// read is one transaction on an empty page cache (see [`journal`]).
    journal_reads: bool,
    /// A writer waits for readers to leave the WAL: pooled readers keep no snapshot.
    draining: AtomicBool,
    /// The disk-space reserve was given up after a full disk; taken again when there is room.
    reserve_released: AtomicBool,
    /// Shared with every handle on the file: closed while a writer resets the WAL.
    gate: Option<Gate>,
    /// A replicator (Litestream) checkpoints this file, not BuffDB (see
    /// [`replication`]); looked up again whenever a checkpoint would run.
    replicated: Arc<AtomicBool>,
    /// The checkpoint thread is copying frames now: a write waiting at the WAL bound
    /// waits for it (it is progress, however long a large WAL takes), not a reader.
    checkpointing: Arc<AtomicBool>,
    /// Allocates a commit's growth in the main file before it commits (writable
    /// databases on Linux), so checkpoints need no room on a full disk.
    room: Option<Room>,
    /// The index definitions writes keep exact, cached (see `catalog`).
    pub(crate) catalog: Catalog,
    /// How connections are keyed (the key taken out of `opts`, derived once); wiped
    /// (dropped) at close.
    key: Mutex<Option<Keying>>,
}

static MEMORY_DBS: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (or, with `create`, makes) the database at `path`; `warm` prepares a
    /// new reader connection's hot statements.
    pub(crate) fn open(path: &Path, mut opts: OpenOptions, warm: fn(&Connection) -> Result<()>) -> Result<Store> {
        opts.validate()?;
        let key = opts.encryption_key.take();
        if key.is_some() && !crypt::AVAILABLE {
            return Err(crypt::unavailable());
        }
        if path.as_os_str().is_empty() {
            return Err(Error::invalid("the database path is empty"));
        }
        if path.as_os_str().as_encoded_bytes().contains(&0) {
            return Err(Error::invalid(format!("the database path {path:?} contains a NUL byte")));
        }
        let shown = path.to_string_lossy().into_owned();
        let memory = path.as_os_str() == ":memory:";
        let mut scratch_dir = None;
        let (target, fresh) = if memory {
            // A private file on tmpfs rather than SQLite's memdb: memdb blocks readers
            // during a write transaction, and ":memory:" must behave like a file.
            let dir = memory_dir()?;
            let file = dir.join("memory.db");
            scratch_dir = Some(dir);
            (file, true)
        } else {
            let exists = path.exists();
            let kind = match schema::inspect(path) {
                // An encrypted file has no plaintext header: its key tells.
                Err(e) if key.is_some() && e.code() == ErrorCode::NotADatabase && !crypt::is_plaintext(path) => {
                    FileKind::BuffDb
                }
                Ok(FileKind::BuffDb) if key.is_some() => {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        format!(
                            "{shown} is not encrypted: open it without an encryption key \
                             (or make an encrypted copy with `buffdb encrypt`)"
                        ),
                    ))
                }
                Err(e) if e.code() == ErrorCode::NotADatabase && key.is_none() && !crypt::is_plaintext(path) => {
                    return Err(Error::new(
                        e.code(),
                        format!("{} (if it is an encrypted database, give its encryption key)", e.message()),
                    ))
                }
                other => other?,
            };
            let fresh = match kind {
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
            (path.to_path_buf(), fresh)
        };
        // The passphrase is stretched here, once; the key given is wiped as it drops.
        let keying = match key {
            Some(k) => Some(Keying::for_file(&k, &target, opts.page_size)?),
            None => None,
        };
        let mut inner = Store {
            warm,
            path: shown,
            target,
            scratch_dir,
            opts,
            closed: AtomicBool::new(false),
            writer: None,
            readers: Arc::default(),
            pins: Mutex::new(HashMap::new()),
            wal: Arc::default(),
            wal_owner: Mutex::new(None),
            cache: None,
            checkpointer: None,
            writeback: None,
            page_size: 0,
            owner: None,
            immutable: false,
            journal_reads: false,
            draining: AtomicBool::new(false),
            reserve_released: AtomicBool::new(false),
            gate: None,
            replicated: Arc::default(),
            checkpointing: Arc::default(),
            room: None,
            catalog: Catalog::default(),
            key: Mutex::new(keying),
        };
        if !fresh && inner.is_keyed() {
            inner.find_page_size()?;
        }
        if !inner.opts.read_only {
            let owner = OwnerLock::acquire(&inner.target)?;
            inner.gate = Gate::open(&lock_path(&inner.target), true);
            inner.reserve_released = AtomicBool::new(!owner.reserve());
            inner.owner = Some(owner);
            let conn = inner.connect(true)?;
            if fresh {
                schema::create(&conn, inner.opts.page_size)?;
                inner.size_page_cache(&conn)?;
            } else {
                match schema::verify(&conn) {
                    // A process killed while it created the file left its first pages
                    // and a hot journal: SQLite has just rolled that back, and the file
                    // is empty again. It is made now, as a new file would have been.
                    Err(e) if e.code() == ErrorCode::NotADatabase && schema::is_empty(&conn) => {
                        schema::create(&conn, inner.opts.page_size)?;
                        inner.size_page_cache(&conn)?;
                    }
                    other => {
                        other.map_err(|e| inner.key_error(e, inner.is_keyed()))?;
                        conn.pragma_update(None, "journal_mode", "WAL")?;
                    }
                }
            }
            content::collect_abandoned(&conn, inner.owner.as_ref().expect("taken above"))?;
            inner.replicated.store(replication::present(&conn)?, Ordering::SeqCst);
            // Past wal_max_bytes a checkpoint resets the WAL; this trims the file back.
            conn.pragma_update(None, "journal_size_limit", inner.opts.wal_max_bytes as i64)?;
            inner.page_size = crypt::page_size(&conn)?;
            inner.room = Room::new(&conn, &inner.target, inner.page_size);
            let wal = WalIndex::of(&conn);
            let has_wal = wal.is_some();
            *inner.wal.write() = wal;
            if has_wal {
                inner.cache = ReadCache::new(inner.opts.cache_size);
                // Checkpoints move to a thread of their own instead of stalling a commit.
                conn.pragma_update(None, "wal_autocheckpoint", 0)?;
                // No memory map on the checkpointer's connection: SQLite writes pages
                // inside a mapping by memcpy, a page fault per 4 KiB of new file,
                // where pwrite copies them in one call (~10% faster stream writes).
                let checkpoint_conn = inner.connect(false)?;
                checkpoint_conn.pragma_update(None, "mmap_size", 0)?;
                // The checkpoint syncs as the writer's commits do: not at all with
                // `Durability::None` (it synced with SQLite's default before).
                checkpoint_conn.pragma_update(None, "synchronous", inner.synchronous())?;
                if inner.synchronous() != "OFF" {
                    inner.writeback = Some(EarlyWriteback::new(&inner.target, &conn));
                }
                let c = Checkpointer::start(
                    Some(checkpoint_conn),
                    inner.readers.clone(),
                    inner.wal.clone(),
                    inner.replicated.clone(),
                    inner.checkpointing.clone(),
                )?;
                inner.checkpointer = Some(c);
            }
            inner.writer = Some(Arc::new(Mutex::new(Some(conn))));
            // One reader ready, so the first read does not pay for opening a connection.
            let reader = inner.connect(false)?;
            inner.readers.give(Pooled::new(reader));
        } else {
            let keyed = inner.is_keyed();
            let conn = match inner
                .connect(false)
                .and_then(|c| schema::verify(&c).map(|()| c))
                .map_err(|e| inner.key_error(e, keyed))
            {
                Ok(c) => c,
                // On read-only media SQLite cannot make the -shm file a WAL reader needs.
                Err(e) if e.code() == ErrorCode::Io || e.code() == ErrorCode::ReadOnly => {
                    if !inner.can_open_immutable() {
                        return Err(e);
                    }
                    inner.immutable = true;
                    let c = inner.connect(false)?;
                    schema::verify(&c)?;
                    c
                }
                Err(e) => return Err(e),
            };
            inner.journal_reads = !inner.immutable && journal::needed(&conn)?;
            // A WAL-mode file: a connection of its own keeps the WAL index mapped, so
            // pooled readers keep their read transaction between reads while nothing
            // is committed (each statement and blob open began one of its own: ~1/7
            // of a PhysFS open). A thread ends idle snapshots after SNAPSHOT_MAX_AGE,
            // as the checkpointer does on a writable database, so a reader that went
            // quiet never holds another process's checkpoint back. Without it (it
            // could not be opened), reads work as before, a snapshot per statement.
            let owned = match inner.immutable || inner.journal_reads {
                true => None,
                false => inner.wal_owner_connection().ok().and_then(|c| WalIndex::of(&c).map(|w| (w, c))),
            };
            if let Some((wal, owner)) = owned {
                *inner.wal.write() = Some(wal);
                *inner.wal_owner.lock() = Some(owner);
                let (readers, wal) = (inner.readers.clone(), inner.wal.clone());
                let c = Checkpointer::start(None, readers, wal, inner.replicated.clone(), inner.checkpointing.clone());
                inner.checkpointer = Some(c?);
            }
            inner.readers.give(Pooled::new(conn));
            inner.gate = Gate::open(&lock_path(&inner.target), false);
        }
        Ok(inner)
    }

    /// Closes the database for every clone of this handle. Idempotent; any later
    /// call gives `CLOSED`. Waits up to the busy timeout for an open transaction.
    pub(crate) fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.readers.clear();
        if let Some(c) = &self.checkpointer {
            c.stop();
        }
        if let Some(owner) = self.wal_owner.lock().take() {
            // The WAL index is this connection's mapping: gone with it.
            *self.wal.write() = None;
            drop(owner);
        }
        // Wiped (Zeroizing) as it drops: connections opened from now on fail CLOSED.
        drop(self.key.lock().take());
        if let Some(w) = &self.writer {
            // A transaction or writer still holding the lock keeps its connection
            // until it ends; its commit then fails with CLOSED.
            if let Some(mut g) = w.try_lock_for(self.busy_timeout()) {
                // The WAL index is the writer connection's mapping: gone with it.
                *self.wal.write() = None;
                if let Some(w) = &self.writeback {
                    w.forget_main_file();
                }
                if let Some(r) = &self.room {
                    r.forget_main_file();
                }
                if let Some(conn) = g.take() {
                    if !self.replicated.load(Ordering::SeqCst) {
                        let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
                    }
                    drop(conn);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The path the database was opened with.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }
}

impl Store {
    pub(crate) fn checkpoint(&self) -> Result<()> {
        self.check_open()?;
        let mut g = self.lock_writer()?;
        let conn = g.as_mut().ok_or_else(Error::closed)?;
        let mut deadline = std::time::Instant::now() + self.busy_timeout();
        loop {
            // (busy, frames in the WAL, frames copied); busy = another checkpoint runs.
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(0))?;
            if busy == 0 {
                return Ok(());
            }
            // This handle's checkpoint thread is copying: wait for it to finish, then
            // copy what it left.
            if self.checkpointing.load(Ordering::SeqCst) {
                deadline = std::time::Instant::now() + self.busy_timeout();
            }
            if std::time::Instant::now() >= deadline {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A read-only file whose WAL is empty or gone can be read as immutable: nothing
    /// can change it while its directory is read-only, and no pages wait in a WAL.
    fn can_open_immutable(&self) -> bool {
        let mut wal = self.target.as_os_str().to_owned();
        wal.push("-wal");
        let wal_empty = std::fs::metadata(&wal).map(|m| m.len() == 0).unwrap_or(true);
        let dir_writable = self
            .target
            .parent()
            .map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d })
            .is_some_and(dir_is_writable);
        wal_empty && !dir_writable
    }

    /// The id that unfinished contents of this handle record as their owner.
    pub(crate) fn owner_id(&self) -> i64 {
        self.owner.as_ref().map_or(0, OwnerLock::id)
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
        let conn = if self.immutable {
            Connection::open_with_flags(immutable_uri(&self.target), flags | OpenFlags::SQLITE_OPEN_URI)
        } else {
            Connection::open_with_flags(&self.target, flags)
        };
        let conn = conn.map_err(|e| {
            let err = Error::from(e);
            Error::new(err.code(), format!("cannot open {}: {}", self.path, err.message()))
        })?;
        let keyed = {
            let key = self.key.lock();
            match key.as_ref() {
                Some(k) => {
                    k.apply(&conn)?;
                    true
                }
                None if self.is_closed() => return Err(Error::closed()),
                None => false,
            }
        };
        self.setup_connection(&conn, writer).map_err(|e| self.key_error(e, keyed))?;
        Ok(conn)
    }

    /// A read-only handle's connection that only keeps SQLite's `-shm` mapping (the WAL
    /// index) alive: one read of the header opens the WAL; no schema is parsed and no
    /// statement prepared (a reader connection costs ~1.1M instructions: it doubled a
    /// PhysFS mount).
    fn wal_owner_connection(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_READ_ONLY;
        let conn = Connection::open_with_flags(&self.target, flags)?;
        if let Some(k) = self.key.lock().as_ref() {
            k.apply(&conn)?;
        }
        conn.busy_timeout(self.busy_timeout())?;
        conn.query_row("PRAGMA schema_version", [], |_| Ok(()))?;
        Ok(conn)
    }

    /// `NOT_A_DATABASE` from a keyed connection: the key does not fit.
    fn key_error(&self, e: Error, keyed: bool) -> Error {
        match e.code() {
            ErrorCode::NotADatabase if keyed => crypt::wrong_key(&self.path),
            _ => e,
        }
    }

    fn is_keyed(&self) -> bool {
        self.key.lock().is_some()
    }

    /// A read-write connection of its own to this file, keyed as every other (for
    /// work outside the pool and the writer: an encrypted or plaintext copy).
    pub(crate) fn side_connection(&self) -> Result<Connection> {
        self.check_open()?;
        self.connect(true)
    }

    /// How this file's connections are keyed (`None`: not encrypted, or closed).
    pub(crate) fn keying(&self) -> Option<Keying> {
        self.key.lock().clone()
    }

    /// An encrypted file's page size is inside its encrypted first page: the one asked
    /// for is tried first, then the others (a wrong one reads as a wrong key). The key
    /// was derived once, so each try costs a connection, not a PBKDF2 run.
    fn find_page_size(&self) -> Result<()> {
        let asked = self.keying().expect("keyed");
        for size in crypt::page_sizes(asked.page_size) {
            *self.key.lock() = Some(asked.with_page_size(size));
            match self.connect(false) {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == ErrorCode::NotADatabase => continue,
                // Not the key (e.g. read-only media): the open below reports it.
                Err(_) => break,
            }
        }
        *self.key.lock() = Some(asked);
        Ok(())
    }

    /// Settings and prepared statements of a new connection (its first reads).
    fn setup_connection(&self, conn: &Connection, writer: bool) -> Result<()> {
        conn.busy_timeout(self.busy_timeout())?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        schema::prepare_connection(conn)?;
        // After the first read: the page size is known now (see `size_page_cache`).
        self.size_page_cache(conn)?;
        if writer {
            conn.pragma_update(None, "synchronous", self.synchronous())?;
        } else {
            conn.pragma_update(None, "query_only", true)?;
            conn.pragma_update(None, "mmap_size", READER_MMAP_SIZE)?;
            // Load the schema and prepare the hot reads now, not inside the first read.
            (self.warm)(conn)?;
            content::meta(conn, 0)?;
            content::chunk_refs_from(conn, 0, 0, Some(1))?;
        }
        conn.set_prepared_statement_cache_capacity(64);
        Ok(())
    }

    /// Bounds SQLite's page cache to `cache_size` bytes. SQLite turns a cache size
    /// in KiB into pages with the page size it knows when the size is set, and keeps
    /// that count when the page size changes (reading the file's header, or
    /// `page_size` on a new file): set before, a 16 KiB-page cache held 4x its
    /// bytes (a 64 MiB cache grew to 250 MiB during a large write).
    pub(crate) fn size_page_cache(&self, conn: &Connection) -> Result<()> {
        conn.pragma_update(None, "cache_size", -((self.opts.cache_size / 1024).max(64) as i64))?;
        Ok(())
    }

    /// Runs `f` on a pooled reader connection (each statement is its own snapshot
    /// unless `f` opens a read transaction).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_at(self.commit_counter(), f)
    }

    /// [`Store::read`] for a caller that has just read the commit counter.
    pub(crate) fn read_at<T>(&self, counter: Option<u32>, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_pooled(counter, |p| f(&p.conn))
    }

    /// [`Store::read_at`] with the pooled connection itself (for its kept statement).
    pub(crate) fn read_pooled<T>(&self, counter: Option<u32>, f: impl FnOnce(&mut Pooled) -> Result<T>) -> Result<T> {
        self.check_open()?;
        let mut p = match self.readers.take() {
            Some(p) => p,
            None => Pooled::new(self.connect(false)?),
        };
        if let Some(g) = &self.gate {
            p.end_if_closed(g); // a writer (in any process) is resetting the WAL
        }
        let draining = self.draining.load(Ordering::Relaxed);
        p.refresh(if draining { None } else { counter })?;
        if self.journal_reads {
            journal::begin(&p.conn)?;
        }
        let out = f(&mut p);
        if self.journal_reads {
            journal::end(&p.conn);
        }
        if out.is_err() || draining {
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
        match self.bound_wal(&guard) {
            // The checkpoint itself could not grow the main file: the disk is full.
            // The reserve goes to the checkpoint, so deletes can commit; this write
            // still fails FULL (the reserve is for getting out, not for more data).
            Err(e) if e.code() == ErrorCode::Full => {
                self.after_full(guard.as_ref().ok_or_else(Error::closed)?);
                return Err(e);
            }
            other => other?,
        }
        Ok(guard)
    }

    /// SQLite's `synchronous` setting for the writer and checkpointer connections.
    fn synchronous(&self) -> &'static str {
        match self.opts.durability {
            _ if self.scratch_dir.is_some() => "OFF",
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
            Durability::None => "OFF",
        }
    }

    /// Bytes of WAL frames not yet reset (0 without a WAL index).
    fn wal_bytes(&self) -> u64 {
        self.wal.read().as_ref().and_then(WalIndex::frames).map_or(0, |f| f as u64 * self.page_size)
    }

    /// Keeps the WAL bounded whatever readers do: once it holds `wal_max_bytes`, the
    /// next write first checkpoints everything and restarts the WAL (RESTART waits
    /// for readers still using it, which end within a call or, when idle, within
    /// [`SNAPSHOT_MAX_AGE`] in any process), so the WAL never runs past `wal_max_bytes`
    /// by more than one transaction. A reader that keeps it busy past the busy
    /// timeout makes this write fail `BUSY` rather than let the WAL grow.
    /// RESTART rather than TRUNCATE: the next commit writes from the WAL's start and
    /// trims the file to `journal_size_limit` (= `wal_max_bytes`), so a WAL cycling
    /// under the bound keeps its file instead of freeing and regrowing it each time
    /// (truncating 256 MiB of WAL cost ~150 ms, a quarter of that checkpoint).
    /// After a full disk (the reserve given up) the bound is [`LOW_SPACE_WAL_BYTES`] and
    /// the checkpoint truncates the WAL, whose room the next writes need.
    fn bound_wal(&self, guard: &WriterGuard) -> Result<()> {
        let replicated = self.replicated.load(Ordering::Relaxed);
        let low = self.reserve_released.load(Ordering::Relaxed);
        let bound = if low { self.opts.wal_max_bytes.min(LOW_SPACE_WAL_BYTES) } else { self.opts.wal_max_bytes };
        if self.wal_bytes() < if replicated { self.wal_bound(true) } else { bound } {
            return Ok(());
        }
        let conn = guard.as_ref().ok_or_else(Error::closed)?;
        // A replicator may have taken the file since this handle last looked.
        let replicated = replication::present(conn)?;
        self.replicated.store(replicated, Ordering::SeqCst);
        if replicated {
            return self.wait_for_replicator(conn);
        }
        if self.wal_bytes() < bound {
            return Ok(());
        }
        self.reset_wal(conn, bound, if low { "TRUNCATE" } else { "RESTART" })
    }

    /// Checkpoints everything and restarts (`mode` RESTART) or truncates (TRUNCATE)
    /// the WAL, getting readers in every process out of the way, until the WAL holds
    /// less than `bound` bytes; `BUSY` when readers keep it for the busy timeout.
    fn reset_wal(&self, conn: &Connection, bound: u64, mode: &str) -> Result<()> {
        let mut deadline = std::time::Instant::now() + self.busy_timeout();
        self.draining.store(true, Ordering::SeqCst);
        if let Some(g) = &self.gate {
            g.close_until(now_ms() as u64 + self.opts.busy_timeout_ms);
        }
        let _drained = scopeguard(|| {
            self.draining.store(false, Ordering::SeqCst);
            if let Some(g) = &self.gate {
                g.open_now();
            }
        });
        self.readers.release_stale(None);
        loop {
            // (busy, frames in the WAL, frames copied); busy: a reader or another
            // checkpoint is still in the way after SQLite's own busy wait.
            let busy: i64 = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(0))?;
            if busy == 0 || self.wal_bytes() < bound {
                return Ok(());
            }
            // The checkpoint thread is copying a large WAL (a long transaction's
            // frames take seconds to write on a busy disk): that is progress, so the
            // busy timeout counts from when it ends, not from when this write came.
            if self.checkpointing.load(Ordering::SeqCst) {
                deadline = std::time::Instant::now() + self.busy_timeout();
            }
            if std::time::Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorCode::Busy,
                    format!(
                        "the WAL holds {} bytes (bound {}) and readers (or another process's checkpoint) kept it from being checkpointed for {} ms",
                        self.wal_bytes(),
                        bound,
                        self.opts.busy_timeout_ms
                    ),
                ));
            }
            self.readers.release_stale(None);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The WAL size at which the next write first has the WAL checkpointed.
    fn wal_bound(&self, replicated: bool) -> u64 {
        if replicated {
            replication::bound(self.opts.wal_max_bytes, self.page_size)
        } else {
            self.opts.wal_max_bytes
        }
    }

    /// [`Store::bound_wal`] on a replicated file: waits, holding no SQLite lock (the
    /// replicator needs the write lock to checkpoint), until the replicator has
    /// checkpointed the WAL; the next commit then starts it over. Idle readers of
    /// this process keep no snapshot meanwhile, so the checkpoint can copy every
    /// frame and the WAL can restart. Past [`replication::GRACE`] without one, a
    /// PASSIVE checkpoint of its own (see [`replication`]); `BUSY` only after
    /// [`replication::MAX_WAIT`].
    fn wait_for_replicator(&self, conn: &Connection) -> Result<()> {
        let bound = self.wal_bound(true);
        let start = std::time::Instant::now();
        let mut tried = start;
        self.draining.store(true, Ordering::SeqCst);
        let _drained = scopeguard(|| self.draining.store(false, Ordering::SeqCst));
        loop {
            let done = self.wal.read().as_ref().map_or(true, WalIndex::fully_checkpointed);
            if done || self.wal_bytes() < bound {
                return Ok(());
            }
            self.readers.release_stale(None);
            if tried.elapsed() >= replication::GRACE {
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
                tried = std::time::Instant::now();
                continue;
            }
            if start.elapsed() >= replication::MAX_WAIT {
                return Err(Error::new(
                    ErrorCode::Busy,
                    format!(
                        "the WAL holds {} bytes (bound {bound}) and the replicator has not checkpointed it for {} s",
                        self.wal_bytes(),
                        start.elapsed().as_secs()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// After a write failed with `FULL`: frees the disk-space reserve and truncates
    /// the WAL (its checkpoint needs no room: see [`crate::storage::room`]), so a
    /// delete has room to commit. Until a later commit finds room to take the reserve
    /// again, growing the file leaves its size free and the WAL is kept short.
    pub(crate) fn after_full(&self, conn: &Connection) {
        if let Some(owner) = &self.owner {
            owner.release_reserve();
            self.reserve_released.store(true, Ordering::SeqCst);
        }
        if self.replicated.load(Ordering::SeqCst) {
            // TRUNCATE would hold the write lock against a replicator's reader.
            self.readers.release_stale(None);
            let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            return;
        }
        let _ = self.reset_wal(conn, 1, "TRUNCATE");
    }

    /// Before a commit on the writer connection: allocates the database's growth in
    /// the main file (`FULL` when it does not fit; the caller rolls back). With the
    /// reserve given up, growth must leave as much room free.
    pub(crate) fn cover_growth(&self, conn: &Connection) -> Result<()> {
        let Some(room) = &self.room else { return Ok(()) };
        let keep_free = if self.reserve_released.load(Ordering::Relaxed) { RESERVE_BYTES } else { 0 };
        room.cover(conn, keep_free)
    }

    /// After a commit failed (see [`Room::forget`]).
    pub(crate) fn forget_growth(&self) {
        if let Some(r) = &self.room {
            r.forget();
        }
    }

    /// Runs `f` in one write transaction, making the KV `changes`; commits when it
    /// returns `Ok`. The read cache stays warm across this process's own commits.
    pub(crate) fn write_kv<T>(&self, changes: &[Change<'_>], f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.lock_writer()?;
        let conn = guard.as_mut().ok_or_else(Error::closed)?;
        let before = self.commit_counter();
        let wal_before = self.wal_bytes();
        let result = (|| -> Result<T> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            self.cover_growth(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        self.catalog.after_txn(conn, result.is_ok());
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                self.forget_growth();
                if e.code() == ErrorCode::Full {
                    self.after_full(conn);
                }
                return Err(e);
            }
        };
        if let Some(cache) = &self.cache {
            cache.after_commit(before, self.commit_counter(), changes);
        }
        let wal_after = self.wal_bytes();
        if wal_after.checked_sub(wal_before).unwrap_or(wal_after) >= SHED_AFTER_BYTES {
            shed_page_cache(conn);
        }
        self.after_commit();
        Ok(out)
    }

    /// After any commit of this process: idle readers drop their old snapshots, and a
    /// checkpoint starts once the WAL is long.
    pub(crate) fn after_commit(&self) {
        self.readers.release_stale(self.commit_counter());
        if self.reserve_released.load(Ordering::Relaxed) {
            if let Some(owner) = &self.owner {
                self.reserve_released.store(!owner.reserve_if_room(self.opts.wal_max_bytes), Ordering::SeqCst);
            }
        }
        if let Some(w) = &self.writeback {
            w.after_commit(self.wal_bytes());
        }
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

    /// A number that changes whenever anything is committed to the file, by any handle
    /// or process: the WAL index's commit counter; 0 on an immutable file (nothing can
    /// change it); where neither tells (a file in rollback-journal mode, or while a
    /// commit rewrites the counter), a new number at every call, equal to no other.
    #[cfg_attr(not(feature = "capi"), allow(dead_code))] // the C API's buffdb_data_version
    pub(crate) fn data_version(&self) -> u64 {
        static NEVER_SAME: AtomicU64 = AtomicU64::new(1 << 32);
        match self.commit_counter() {
            Some(c) => c as u64,
            None if self.immutable => 0,
            None => NEVER_SAME.fetch_add(1, Ordering::Relaxed),
        }
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

/// A commit that added this much WAL was a bulk write (a stream batch, a large blob,
/// a big `put_many`): its pages are not worth keeping cached.
const SHED_AFTER_BYTES: u64 = 1 << 20;

/// Frees the clean pages of `conn`'s page cache. After a bulk write the cache is full
/// of chunk pages nobody reads again through it (chunks are read by blob I/O through
/// the mmap); left there, a 1 GiB stream write kept the writer's whole `cache_size`
/// (64 MiB by default) of them. The B-tree pages a later write needs come back from
/// the mmap or the WAL for a few microseconds.
pub(crate) fn shed_page_cache(conn: &Connection) {
    // SAFETY: a valid, open connection handle, used by this thread only.
    unsafe { rusqlite::ffi::sqlite3_db_release_memory(conn.handle()) };
}

/// The WAL bound after a full disk, until the reserve is taken again.
const LOW_SPACE_WAL_BYTES: u64 = RESERVE_BYTES / 4;

/// WAL size that starts a background checkpoint (SQLite's default is 1000 pages).
const CHECKPOINT_AFTER_BYTES: u64 = 16 << 20;

/// Runs PASSIVE checkpoints on a connection and thread of its own, when asked.
/// PASSIVE never waits for readers or writers; what it cannot copy yet waits for
/// the next request. On a read-only database (no connection) it only ends idle
/// readers' snapshots.
struct Checkpointer {
    signal: Mutex<Option<std::sync::mpsc::SyncSender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    /// Also ends, every [`SNAPSHOT_MAX_AGE`], idle readers' snapshots that are stale or
    /// have been idle that long (another process may be waiting to checkpoint).
    fn start(
        conn: Option<Connection>,
        readers: Arc<ReaderPool>,
        wal: Arc<parking_lot::RwLock<Option<WalIndex>>>,
        replicated: Arc<AtomicBool>,
        checkpointing: Arc<AtomicBool>,
    ) -> Result<Checkpointer> {
        use std::sync::mpsc::RecvTimeoutError;
        if let Some(conn) = &conn {
            conn.pragma_update(None, "query_only", false)?;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("buffdb-checkpoint".into())
            .spawn(move || loop {
                let counter = || wal.read().as_ref().and_then(WalIndex::commit_counter);
                match rx.recv_timeout(SNAPSHOT_MAX_AGE) {
                    Ok(()) => {
                        readers.release_old(counter());
                        let Some(conn) = &conn else { continue };
                        // A replicator checkpoints a replicated file itself.
                        let theirs = replication::present(&conn).unwrap_or(true);
                        replicated.store(theirs, Ordering::SeqCst);
                        if !theirs {
                            checkpointing.store(true, Ordering::SeqCst);
                            let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
                            checkpointing.store(false, Ordering::SeqCst);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => readers.release_old(counter()),
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

impl Drop for Store {
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

/// `file:` URI with `immutable=1` for `path` (its bytes percent-encoded exactly).
fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn dir_is_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return false };
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Runs `f` when dropped.
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

#[cfg(test)]
mod tests {
    use crate::{Db, OpenOptions};

    /// Bytes of page cache a connection holds now (SQLite's own count).
    fn cache_used(conn: &rusqlite::Connection) -> i64 {
        let (mut cur, mut hi) = (0, 0);
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                conn.handle(),
                rusqlite::ffi::SQLITE_DBSTATUS_CACHE_USED,
                &mut cur,
                &mut hi,
                0,
            )
        };
        assert_eq!(rc, 0);
        cur as i64
    }

    /// The writer's page cache stays within `cache_size` after a write many times
    /// that size, on a new file (page size set by `page_size`) and reopened (page
    /// size read from the header).
    #[test]
    fn the_page_cache_stays_within_cache_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let cache = 16 << 20;
        let data: Vec<u8> = (0..96u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
        for round in ["new file", "reopened"] {
            let db = Db::open(&path, OpenOptions::default().cache_size(cache)).unwrap();
            crate::Ops::stream_write(&db, &format!("/{round}"), &data).unwrap();
            let writer = db.inner.write_kv(&[], |c| Ok(cache_used(c))).unwrap();
            // SQLite counts each page with its header: a few percent over.
            let limit = cache as i64 * 11 / 10;
            assert!(writer <= limit, "{round}: the writer holds {writer} bytes of cache, cache_size {cache}");
            db.close().unwrap();
        }
    }

    /// A write at the WAL bound while the checkpoint thread is still copying a large
    /// transaction's frames waits for it, however long that takes, instead of
    /// failing `BUSY` after the busy timeout as if a reader held the WAL (a 10M-key
    /// bulk load on a busy disk did).
    #[test]
    fn a_write_at_the_bound_waits_for_the_checkpoint_thread() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let opts = OpenOptions::default().wal_max_bytes(crate::options::MIN_WAL_MAX_BYTES).busy_timeout_ms(1);
        let db = Db::open(dir.path().join("w.db"), opts).unwrap();
        // One transaction of 128 MiB: its checkpoint takes far longer than 1 ms.
        let value = vec![7u8; 64 << 10];
        let pairs: Vec<(Vec<u8>, &[u8])> = (0..2048u32).map(|i| (i.to_be_bytes().to_vec(), &value[..])).collect();
        crate::Ops::put_many(&db, &pairs).unwrap();
        let start = std::time::Instant::now();
        while !db.inner.checkpointing.load(Ordering::SeqCst) {
            assert!(start.elapsed() < std::time::Duration::from_secs(10), "the checkpoint thread never started");
            std::hint::spin_loop();
        }
        crate::Ops::put(&db, b"after", b"the checkpoint").unwrap();
        assert_eq!(crate::Ops::get(&db, b"after").unwrap().as_deref(), Some(&b"the checkpoint"[..]));
        assert!(db.inner.wal_bytes() < crate::options::MIN_WAL_MAX_BYTES, "the WAL was not restarted");
        db.close().unwrap();
    }
}
