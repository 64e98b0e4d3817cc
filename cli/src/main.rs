//! `buffdb`: the command line for one BuffDB store file.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use buffdb::{Db, Error, ErrorCode, OpenOptions, Value};
use clap::{Parser, Subcommand};

mod crypt;
mod hf;
mod index;
mod model;
mod pack;
mod print;
mod remote;
mod replicate;
mod runtime;
mod serve;
mod store;
use indicatif::{ProgressBar, ProgressStyle};
use store::{Input, Store};

/// BuffDB: an embedded database of KV records, blobs, versioned path streams and prefix search, in one file.
///
/// Exit codes: 0 success; 1 a false `eq`/`not-eq`, or a missing key, id or path;
/// 2 a usage error; 3 any other failure (corrupt data, not a BuffDB file, I/O).

#[derive(Parser)]
#[command(name = "buffdb", version, about, long_about)]
struct Cli {
    /// The store file (created when missing).
    #[arg(short, long, global = true, default_value = "buffdb.db")]
    store: PathBuf,
    /// fsync policy for this session's writes: full, normal or none.
    #[arg(long, global = true, default_value = "normal")]
    durability: String,
    /// Run kv, blob, stream, search, query, index, find and model commands against a `buffdb run` server at
    /// ADDR (host:port, http://... or https://... for TLS) instead of a local file; the
    /// token, if the server needs one, comes from BUFFDB_TOKEN (not a flag: command lines
    /// are visible to other users).
    #[arg(long, global = true, value_name = "ADDR")]
    remote: Option<String>,
    /// With --remote: connect over TLS, trusting this PEM certificate (the server's own
    /// self-signed one or its CA's) instead of the system's roots.
    #[arg(long, global = true, value_name = "FILE", env = "BUFFDB_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// The store is encrypted with the key in FILE (a passphrase, or x'<64 hex digits>'
    /// for a raw key); a new store is made encrypted. Never a key on the command line.
    #[arg(long, global = true, value_name = "FILE", env = "BUFFDB_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Open the store read-only: it is never written, created or switched to WAL mode,
    /// and writes fail (READ_ONLY). For a read replica kept current by `buffdb restore
    /// --follow` or `litestream restore -f` (in rollback-journal mode while Litestream
    /// applies changes under it); each read sees whole replicated transactions.
    #[arg(long, global = true)]
    read_only: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Key-value records (keys and values are taken as UTF-8 text).
    #[command(subcommand)]
    Kv(KvCommand),
    /// Binary objects with a metadata string, under numeric ids.
    #[command(subcommand)]
    Blob(BlobCommand),
    /// Large versioned documents stored as checksummed chunks.
    #[command(subcommand)]
    Stream(StreamCommand),
    /// List stream paths starting with PREFIX, in byte order.
    Search {
        prefix: String,
        /// List at most this many paths.
        #[arg(long)]
        limit: Option<usize>,
        /// Start after this path.
        #[arg(long)]
        start_after: Option<String>,
    },
    /// Counts and sizes of the store.
    Stats,
    /// Verify every chunk's checksum and SQLite's structure; names damaged streams and blobs.
    Check,
    /// Run a read-only SQL statement over the views kv, blobs, streams, indexes and index_entries.
    Query {
        sql: String,
        /// Parameters for the statement's `?` placeholders (as text).
        params: Vec<String>,
        /// Stop the query after this many milliseconds (INTERRUPTED) [default: 10000;
        /// with --remote, the server's --query-timeout-ms, which also caps this]
        #[arg(long)]
        timeout_ms: Option<u64>,
        /// Fail (TOO_LARGE) when the query returns more rows than this [default:
        /// 1000000; with --remote, no limit]
        #[arg(long)]
        max_rows: Option<usize>,
    },
    /// Model registry: versions with their files, aliases, safetensors headers.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Hugging Face hub: import/export a hub cache, serve the hub download protocol.
    #[command(subcommand)]
    Hf(hf::HfCommand),
    /// Serve the store over gRPC (see `buffdb run --help`).
    Run(serve::RunArgs),
    /// Replicate the store continuously through Litestream (see `buffdb replicate --help`).
    Replicate(replicate::ReplicateArgs),
    /// Restore a replica into a file, to a point in time, or as a live read replica.
    Restore(replicate::RestoreArgs),
    /// Write a stream, read it back and verify it, with KV and blob round-trips:
    /// BuffDB's main job on its embedded default. Uses a temporary store unless --store is given.
    Demo {
        /// Size of the demo stream in MiB.
        #[arg(long, default_value_t = 64)]
        mib: u64,
    },
    #[command(flatten)]
    Assets(pack::Command),
    #[command(flatten)]
    Indexes(index::Command),
    #[command(flatten)]
    Keys(crypt::Command),
}

#[derive(Subcommand)]
enum KvCommand {
    /// Print the value of KEY.
    Get { key: String },
    /// Set KEY to VALUE (`-` reads the value from stdin).
    Set { key: String, value: String },
    /// Delete KEY (exit 1 when it did not exist).
    Delete { key: String },
    /// Exit 0 when all the keys hold equal values, 1 otherwise.
    Eq {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Exit 0 when all the keys hold distinct values, 1 otherwise.
    NotEq {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Print `key<TAB>value` lines of keys starting with PREFIX.
    Scan {
        #[arg(default_value = "")]
        prefix: String,
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        start_after: Option<String>,
    },
}

#[derive(Subcommand)]
enum BlobCommand {
    /// Write the bytes of blob ID to stdout.
    Get { id: u64 },
    /// Store FILE (`-` for stdin) as a new blob; prints its id.
    Store { file: String, metadata: Option<String> },
    /// Replace a blob's data, metadata or both.
    Update {
        id: u64,
        #[command(subcommand)]
        what: UpdateWhat,
    },
    /// Delete blob ID (exit 1 when it did not exist).
    Delete { id: u64 },
    /// Exit 0 when all the blobs hold equal bytes, 1 otherwise.
    EqData {
        #[arg(required = true)]
        ids: Vec<u64>,
    },
    /// Exit 0 when all the blobs hold distinct bytes, 1 otherwise.
    NotEqData {
        #[arg(required = true)]
        ids: Vec<u64>,
    },
}

#[derive(Subcommand)]
enum UpdateWhat {
    /// Replace the data with FILE (`-` for stdin).
    Data { file: String },
    /// Replace the metadata (absent: clear it).
    Metadata { metadata: Option<String> },
    /// Replace data and metadata.
    All { file: String, metadata: Option<String> },
}

#[derive(Subcommand)]
enum StreamCommand {
    /// Store FILE (`-` for stdin) as a new version of PATH.
    Put {
        path: String,
        file: String,
        /// Snappy-compress chunks (kept raw where that is smaller).
        #[arg(long)]
        compress: bool,
        /// The new version's metadata (a string, usually JSON).
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Write PATH's newest version (or --version N) to stdout or to -o FILE.
    Get {
        path: String,
        #[arg(long)]
        version: Option<u64>,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the newest version's size, version, checksum and chunks.
    Stat { path: String },
    /// List the kept versions of PATH.
    Versions { path: String },
    /// Delete every version of PATH (exit 1 when it did not exist).
    Delete { path: String },
}

/// A blob update: new data and/or new metadata (which may clear it).
type Update = (Option<Vec<u8>>, Option<Option<String>>);

impl UpdateWhat {
    /// The new data (read from its file) and the new metadata, each when given.
    fn read(&self) -> Result<Update, Error> {
        Ok(match self {
            UpdateWhat::Data { file } => (Some(read_all(file)?), None),
            UpdateWhat::Metadata { metadata } => (None, Some(metadata.clone())),
            UpdateWhat::All { file, metadata } => (Some(read_all(file)?), Some(metadata.clone())),
        })
    }
}

/// How a command ended, beyond success.
pub(crate) enum Outcome {
    Ok,
    /// A false comparison or a missing item: exit 1.
    No(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::No(msg)) => {
            if !msg.is_empty() {
                eprintln!("buffdb: {msg}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("buffdb: {e}");
            ExitCode::from(match e.code() {
                ErrorCode::NotFound => 1,
                ErrorCode::InvalidArgument | ErrorCode::TooLarge => 2,
                _ => 3,
            })
        }
    }
}

/// The options every command opens a store with: durability, and the key if given.
fn options(cli: &Cli) -> Result<OpenOptions, Error> {
    let mut opts = OpenOptions { durability: cli.durability.parse()?, ..OpenOptions::default() }.read_only(cli.read_only);
    if let Some(file) = &cli.key_file {
        opts = opts.encryption_key(crypt::read_key(file)?);
    }
    Ok(opts)
}

fn open(cli: &Cli) -> Result<Db, Error> {
    open_path(&cli.store, options(cli)?)
}

/// Opens a store for a command or the server.
pub(crate) fn open_path(path: &std::path::Path, opts: OpenOptions) -> Result<Db, Error> {
    if opts.read_only {
        // A replica a stock `litestream restore -f` keeps, before its first change.
        buffdb::replicate::ready_read_replica(path)?;
    }
    Db::open(path, opts)
}

fn input(file: &str) -> Result<Input, Error> {
    if file == "-" {
        Ok(Box::new(io::stdin()))
    } else {
        let f = std::fs::File::open(file).map_err(|e| Error::new(ErrorCode::Io, format!("cannot read {file}: {e}")))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Box::new(progress(len, "writing").wrap_read(f)))
    }
}

fn read_all(file: &str) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    input(file)?.read_to_end(&mut v)?;
    Ok(v)
}

/// A progress bar on stderr for large transfers, only when a person watches.
fn progress(len: u64, what: &str) -> ProgressBar {
    if len < (16 << 20) || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap()
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn run(cli: Cli) -> Result<Outcome, Error> {
    if cli.read_only {
        let opens_no_store = match &cli.command {
            Command::Replicate(_) | Command::Restore(_) | Command::Demo { .. } | Command::Keys(_) => true,
            _ => cli.remote.is_some(),
        };
        if opens_no_store {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "--read-only opens a local store for reading: it does not go with --remote, replicate, restore, demo, \
                 rekey, encrypt or decrypt",
            ));
        }
    }
    if let Command::Demo { mib } = &cli.command {
        return demo(&cli, *mib);
    }
    if let Command::Assets(cmd) = &cli.command {
        return pack::run(&cli, cmd).map(|_| Outcome::Ok);
    }
    if let Command::Keys(cmd) = &cli.command {
        return crypt::run(cmd, &cli.store, cli.key_file.as_deref());
    }
    let local_only = matches!(
        cli.command,
        Command::Stats
            | Command::Check
            | Command::Replicate(_)
            | Command::Restore(_)
            | Command::Run(_)
            | Command::Hf(_)
    );
    if cli.remote.is_some() && local_only {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "--remote works with kv, blob, stream, search, query, index, find and model (run stats, check, replicate, restore and hf where the file is)",
        ));
    }
    if let Command::Replicate(args) = &cli.command {
        return replicate::replicate(args, &cli.store).map(|()| Outcome::Ok);
    }
    if let Command::Restore(args) = &cli.command {
        return replicate::restore(args).map(|()| Outcome::Ok);
    }
    if let Command::Run(args) = &cli.command {
        serve::run(args, &cli.store, options(&cli)?)?;
        return Ok(Outcome::Ok);
    }
    if let Command::Hf(cmd) = &cli.command {
        return hf::run(cmd, open(&cli)?);
    }
    // The file a command stores is opened before the store: a missing one changes nothing.
    let given = match &cli.command {
        Command::Stream(StreamCommand::Put { file, .. }) | Command::Blob(BlobCommand::Store { file, .. }) => {
            Some(input(file)?)
        }
        _ => None,
    };
    let store: Box<dyn Store> = match &cli.remote {
        Some(addr) => Box::new(remote::Remote::connect(&cli, addr)?),
        None => Box::new(open(&cli)?),
    };
    let mut out = Stdout { inner: io::stdout().lock(), closed: false };
    let outcome = command(&*store, &cli.command, given, &mut out).and_then(|o| Ok(out.flush().map(|_| o)?));
    if out.closed {
        // The reader of our output has gone (`buffdb kv scan "" | head`): stop quietly,
        // as Unix tools do, rather than report "IO: Broken pipe".
        store.close()?;
        return Ok(Outcome::Ok);
    }
    let outcome = outcome?;
    store.close()?;
    Ok(outcome)
}

/// Standard output that remembers whether its reader closed the pipe.
struct Stdout {
    inner: io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::BrokenPipe) {
            self.closed = true;
        }
        r
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}

/// Runs a command on a local file or a server: written once for both.
fn command(store: &dyn Store, cmd: &Command, given: Option<Input>, mut out: &mut dyn Write) -> Result<Outcome, Error> {
    let mut given = given;
    let mut given = move || given.take().expect("opened before the store for this command");
    Ok(match cmd {
        Command::Kv(cmd) => match cmd {
            KvCommand::Get { key } => match store.get(key.as_bytes())? {
                Some(v) => {
                    print::value(&mut out, &v)?;
                    Outcome::Ok
                }
                None => print::no_key(key),
            },
            KvCommand::Set { key, value } => {
                let v = if value == "-" { read_all("-")? } else { value.clone().into_bytes() };
                store.put(key.as_bytes(), &v)?;
                Outcome::Ok
            }
            KvCommand::Delete { key } => print::found(store.delete(key.as_bytes())?, print::no_key(key)),
            KvCommand::Eq { keys } => print::yes_no(&mut out, store.kv_compare(keys, false)?)?,
            KvCommand::NotEq { keys } => print::yes_no(&mut out, store.kv_compare(keys, true)?)?,
            KvCommand::Scan { prefix, limit, start_after } => {
                let after = start_after.as_deref().map(str::as_bytes);
                store.scan(prefix.as_bytes(), after, *limit, &mut |k, v| Ok(print::pair(&mut out, k, v)?))?;
                Outcome::Ok
            }
        },
        Command::Blob(cmd) => match cmd {
            BlobCommand::Get { id } => match store.blob_get_to(*id, &mut out) {
                Ok(()) => Outcome::Ok,
                Err(e) if e.code() == ErrorCode::NotFound => print::no_blob(*id),
                Err(e) => return Err(e),
            },
            BlobCommand::Store { metadata, .. } => {
                let id = store.blob_put_from(given(), metadata.as_deref())?;
                writeln!(out, "{id}")?;
                Outcome::Ok
            }
            BlobCommand::Update { id, what } => {
                let (data, md) = what.read()?;
                store.blob_update(*id, data, md)?;
                Outcome::Ok
            }
            BlobCommand::Delete { id } => print::found(store.blob_delete(*id)?, print::no_blob(*id)),
            BlobCommand::EqData { ids } => print::yes_no(&mut out, store.blob_compare(ids, false)?)?,
            BlobCommand::NotEqData { ids } => print::yes_no(&mut out, store.blob_compare(ids, true)?)?,
        },
        Command::Stream(cmd) => match cmd {
            StreamCommand::Put { path, compress, metadata, .. } => {
                print::info(&mut out, &store.stream_put(path, given(), *compress, metadata.as_deref())?)?;
                Outcome::Ok
            }
            StreamCommand::Get { path, version, output } => {
                match output {
                    Some(file) => {
                        let f = std::fs::File::create(file)
                            .map_err(|e| Error::new(ErrorCode::Io, format!("cannot write {}: {e}", file.display())))?;
                        let mut w = io::BufWriter::with_capacity(1 << 20, f);
                        store.stream_get_to(path, *version, &mut w)?;
                        w.flush()?;
                    }
                    None => store.stream_get_to(path, *version, &mut out)?,
                }
                Outcome::Ok
            }
            StreamCommand::Stat { path } => {
                print::info(&mut out, &store.stream_stat(path)?)?;
                Outcome::Ok
            }
            StreamCommand::Versions { path } => print::versions(&mut out, path, &store.stream_versions(path)?)?,
            StreamCommand::Delete { path } => print::found(store.stream_delete(path)?, print::no_stream(path)),
        },
        Command::Search { prefix, limit, start_after } => {
            store.search(prefix, start_after.as_deref(), *limit, &mut |p| Ok(writeln!(out, "{p}")?))?;
            Outcome::Ok
        }
        Command::Query { sql, params, timeout_ms, max_rows } => {
            // Rows are printed as they arrive: memory stays flat.
            let params: Vec<Value> = params.iter().map(|p| Value::Text(p.clone())).collect();
            let mut table = print::Table::new(&mut out);
            let columns =
                store.query(sql, &params, *timeout_ms, *max_rows, &mut |columns, row| table.row(columns, row));
            match columns {
                Ok(columns) => table.finish(&columns)?,
                Err(e) => {
                    table.error()?; // a write error says more than the stop it caused
                    return Err(e);
                }
            }
            Outcome::Ok
        }
        Command::Indexes(cmd) => index::run(store, cmd, &mut out)?,
        Command::Model(cmd) => model::run(cmd, store, &mut out)?,
        Command::Stats => {
            let s = store.local().expect("refused with --remote").stats()?;
            writeln!(
                out,
                "kv records: {}\nblobs: {}\nstreams: {}\nstream versions: {}\nchunks: {}\nstored bytes: {}\nfile size: {}\npage size: {}\nformat version: {}",
                s.kv_count, s.blob_count, s.stream_count, s.version_count, s.chunk_count, s.stored_bytes, s.file_size, s.page_size, s.format_version
            )?;
            Outcome::Ok
        }
        Command::Check => {
            let r = store.local().expect("refused with --remote").check()?;
            writeln!(out, "records checked: {}\nchunks checked: {}", r.records_checked, r.chunks_checked)?;
            // Each line says what is wrong and where (SQLite's findings start with "sqlite:").
            for p in &r.problems {
                writeln!(out, "{p}")?;
            }
            if r.ok {
                writeln!(out, "ok")?;
                Outcome::Ok
            } else {
                out.flush()?;
                return Err(Error::new(ErrorCode::Corrupt, "the store has damage (listed above)"));
            }
        }
        Command::Demo { .. }
        | Command::Run(_)
        | Command::Assets(_)
        | Command::Replicate(_)
        | Command::Restore(_)
        | Command::Hf(_)
        | Command::Keys(_) => unreachable!("handled before a store is opened"),
    })
}

/// The main job end to end: KV, a blob, and a large stream written, read back and verified.
fn demo(cli: &Cli, mib: u64) -> Result<Outcome, Error> {
    let tmp;
    let store = if std::env::args().any(|a| a == "-s" || a == "--store" || a.starts_with("--store=")) {
        cli.store.clone()
    } else {
        tmp = std::env::temp_dir().join(format!("buffdb-demo-{}", std::process::id()));
        std::fs::create_dir_all(&tmp)?;
        tmp.join("demo.db")
    };
    println!("BuffDB {} demo, store {}", buffdb::version(), store.display());
    let db = Db::open(&store, options(cli)?)?;

    db.put(b"config:level", b"{\"difficulty\": 3}")?;
    println!("kv: config:level = {}", String::from_utf8_lossy(&db.get(b"config:level")?.unwrap_or_default()));
    let id = db.blob_put(b"\x89PNG fake icon bytes", Some("icon.png"))?;
    println!("blob {id}: metadata {:?}", db.blob_metadata(id)?);

    let size = mib << 20;
    let pattern: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let mut expect_crc = crc32fast::Hasher::new();
    let t = Instant::now();
    let mut w = db.stream_writer("/models/demo/weights.bin")?;
    let mut left = size;
    while left > 0 {
        let n = left.min(pattern.len() as u64) as usize;
        w.write(&pattern[..n])?;
        expect_crc.update(&pattern[..n]);
        left -= n as u64;
    }
    let info = w.commit()?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "stream write: {} MiB in {:.3}s ({:.0} MiB/s), version {}, {} chunks, crc32 {:08x}",
        mib,
        secs,
        mib as f64 / secs,
        info.version,
        info.chunk_count,
        info.crc32
    );
    let t = Instant::now();
    let mut r = db.stream_open("/models/demo/weights.bin", None)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut crc = crc32fast::Hasher::new();
    let mut total = 0u64;
    loop {
        let n = r.read_into(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        total += n as u64;
    }
    let secs = t.elapsed().as_secs_f64();
    let (got, want) = (crc.finalize(), expect_crc.finalize());
    println!("stream read: {} MiB in {:.3}s ({:.0} MiB/s), crc32 {:08x}", total >> 20, secs, mib as f64 / secs, got);
    let paths: Vec<String> = db.search("/models/", None, None)?.collect::<Result<_, _>>()?;
    println!("search /models/: {paths:?}");
    db.close()?;
    if got != want || total != size || info.crc32 != want {
        return Err(Error::new(ErrorCode::Corrupt, "the stream read back differs from what was written"));
    }
    println!("ok: the stream read back byte for byte");
    if store != cli.store {
        let _ = std::fs::remove_dir_all(store.parent().unwrap_or(&store));
    }
    Ok(Outcome::Ok)
}
