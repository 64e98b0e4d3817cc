//! `buffdb pack DIR` and `buffdb unpack PREFIX DIR`: a directory tree as path streams, the
//! way a game ships its assets. Packing is incremental (a file whose size and CRC-32 match
//! the stream's newest version is skipped), writes one transaction per batch, compresses
//! where snappy gains, records each file's modification time and checksum in the
//! version's metadata, and checks the whole tree before writing anything. Unpacking
//! gives the files their recorded modification times back.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use buffdb::{Db, Error, ErrorCode};
use clap::{Args, Subcommand, ValueEnum};

#[derive(Subcommand)]
pub enum Command {
    /// Store the files under DIR as path streams (DIR/textures/a.png -> /textures/a.png).
    ///
    /// Incremental: files whose size and content (CRC-32) match the stored version are
    /// skipped. The whole tree is checked first (unreadable files, symlink loops, names
    /// that are not UTF-8): on a problem nothing is written. Then one transaction per
    /// batch: a failure mid-way keeps the batches already committed (each file whole)
    /// and `pack` again finishes the job.
    Pack(PackArgs),
    /// Write the streams under PREFIX back as files under DIR (/textures/a.png with
    /// PREFIX /textures/ -> DIR/a.png); each file appears whole (written aside, renamed).
    Unpack(UnpackArgs),
}

#[derive(Args)]
pub struct PackArgs {
    /// The directory to store.
    dir: PathBuf,
    /// Store the files under this path prefix.
    #[arg(long, default_value = "/")]
    prefix: String,
    /// Also delete the streams under the prefix whose files are gone.
    #[arg(long)]
    delete: bool,
    /// Compression: auto (by file type, then a 64 KiB sample: compressed where snappy
    /// saves over 1/8), always or never.
    #[arg(long, value_enum, default_value_t = Compression::Auto)]
    compression: Compression,
    /// Bytes written per transaction, in MiB (and at most 1000 files).
    #[arg(long, default_value_t = 256)]
    batch_mib: u64,
}

#[derive(Args)]
pub struct UnpackArgs {
    /// The stream path prefix to write out ("/" for everything).
    prefix: String,
    /// The directory to write into (created when missing).
    dir: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Compression {
    Auto,
    Always,
    Never,
}

/// Files written per transaction at most.
const BATCH_FILES: usize = 1000;

/// A file found under DIR.
struct Entry {
    /// The stream path.
    path: String,
    file: PathBuf,
    size: u64,
}

pub fn run(cli: &crate::Cli, cmd: &Command) -> Result<(), Error> {
    if cli.remote.is_some() {
        return Err(Error::new(ErrorCode::InvalidArgument, "pack and unpack work on a local file (no --remote)"));
    }
    let db = crate::open(cli)?;
    match cmd {
        Command::Pack(args) => pack(&db, args)?,
        Command::Unpack(args) => unpack(&db, args)?,
    }
    db.close()
}

/// "/a" and "/a/" both mean the directory prefix "/a/".
fn dir_prefix(prefix: &str) -> Result<String, Error> {
    if !prefix.starts_with('/') {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("the prefix must start with '/': {prefix:?}")));
    }
    Ok(if prefix.ends_with('/') { prefix.to_string() } else { format!("{prefix}/") })
}

fn io_error(what: &str, path: &Path, e: io::Error) -> Error {
    Error::new(ErrorCode::Io, format!("{what} {}: {e}", path.display()))
}

/// Every file under `root` (following symlinks), sorted by stream path; every problem is
/// collected so one run reports them all.
fn walk(root: &Path, prefix: &str, problems: &mut Vec<String>) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut ancestors = Vec::new();
    walk_dir(root, prefix, &mut ancestors, &mut out, problems);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(unix)]
fn file_id(m: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}
#[cfg(not(unix))]
fn file_id(_: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn walk_dir(dir: &Path, prefix: &str, ancestors: &mut Vec<(u64, u64)>, out: &mut Vec<Entry>, problems: &mut Vec<String>) {
    let meta = match fs::metadata(dir) {
        Ok(m) => m,
        Err(e) => return problems.push(format!("cannot read directory {}: {e}", dir.display())),
    };
    let id = file_id(&meta);
    if cfg!(unix) && ancestors.contains(&id) {
        return problems.push(format!("symlink loop: {} leads back to a directory above it", dir.display()));
    }
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => return problems.push(format!("cannot read directory {}: {e}", dir.display())),
    };
    ancestors.push(id);
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("cannot read directory {}: {e}", dir.display()));
                continue;
            }
        };
        let file = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            problems.push(format!("name is not UTF-8 (stream paths are): {}", file.display()));
            continue;
        };
        // fs::metadata follows symlinks: a loop of links fails here with ELOOP.
        let meta = match fs::metadata(&file) {
            Ok(m) => m,
            Err(e) if e.raw_os_error() == Some(40) => {
                problems.push(format!("symlink loop: {}", file.display()));
                continue;
            }
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", file.display()));
                continue;
            }
        };
        let path = format!("{prefix}{name}");
        if meta.is_dir() {
            walk_dir(&file, &format!("{path}/"), ancestors, out, problems);
        } else if meta.is_file() {
            match File::open(&file) {
                Ok(_) => out.push(Entry { path, file, size: meta.len() }),
                Err(e) => problems.push(format!("cannot read {}: {e}", file.display())),
            }
        } else {
            eprintln!("buffdb: skipping {} (not a regular file or directory)", file.display());
        }
    }
    ancestors.pop();
}

/// The CRC-32 of a file (the engine keeps the same checksum for each stream version).
fn file_crc(file: &Path) -> Result<u32, Error> {
    let mut f = File::open(file).map_err(|e| io_error("cannot read", file, e))?;
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| io_error("cannot read", file, e))?;
        if n == 0 {
            return Ok(crc.finalize());
        }
        crc.update(&buf[..n]);
    }
}

/// A reader that checksums what passes through it.
struct Crc<R> {
    inner: R,
    crc: crc32fast::Hasher,
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// The metadata of a packed version: where it came from, its source file's
/// modification time (ms since the epoch), size and CRC-32.
fn metadata(mtime: SystemTime, size: u64, crc: u32) -> String {
    let ms = mtime.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    format!("{{\"packed_by\":\"buffdb pack\",\"mtime_ms\":{ms},\"size\":{size},\"crc32\":\"{crc:08x}\"}}")
}

/// The modification time recorded by `metadata`, if any.
fn recorded_mtime(metadata: Option<&str>) -> Option<SystemTime> {
    let rest = metadata?.split("\"mtime_ms\":").nth(1)?;
    let ms: u64 = rest[..rest.find(|c: char| !c.is_ascii_digit())?].parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(ms))
}

/// Formats whose data is compressed already: stored as they are.
const COMPRESSED: &[&str] = &[
    "png", "jpg", "jpeg", "webp", "gif", "avif", "heic", "ktx2", "basis", "ogg", "oga", "opus", "mp3", "m4a", "aac", "flac",
    "mp4", "m4v", "webm", "mkv", "mov", "avi", "zip", "gz", "tgz", "bz2", "xz", "zst", "lz4", "7z", "rar", "br", "jar", "apk",
    "woff", "woff2",
];

/// Whether to compress a file: never for known compressed formats, else when snappy
/// saves more than 1/8 of a 64 KiB sample.
fn compress(e: &Entry, how: Compression) -> Result<bool, Error> {
    match how {
        Compression::Always => return Ok(true),
        Compression::Never => return Ok(false),
        Compression::Auto => {}
    }
    let ext = e.file.extension().and_then(|x| x.to_str()).map(str::to_ascii_lowercase);
    if ext.is_some_and(|x| COMPRESSED.contains(&x.as_str())) || e.size < 512 {
        return Ok(false);
    }
    let mut sample = Vec::with_capacity(64 << 10);
    File::open(&e.file)
        .and_then(|f| f.take(64 << 10).read_to_end(&mut sample))
        .map_err(|err| io_error("cannot read", &e.file, err))?;
    let packed = snap::raw::Encoder::new().compress_vec(&sample).map_err(|err| Error::new(ErrorCode::Internal, err.to_string()))?;
    Ok(packed.len() < sample.len() - sample.len() / 8)
}

fn pack(db: &Db, args: &PackArgs) -> Result<(), Error> {
    let start = Instant::now();
    let prefix = dir_prefix(&args.prefix)?;
    if !fs::metadata(&args.dir).map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("not a directory: {}", args.dir.display())));
    }
    let mut problems = Vec::new();
    let entries = walk(&args.dir, &prefix, &mut problems);
    if !problems.is_empty() {
        return Err(Error::new(
            ErrorCode::Io,
            format!("nothing was written; {} problem(s) in {}:\n  {}", problems.len(), args.dir.display(), problems.join("\n  ")),
        ));
    }

    // What changed: a new path, another size, or other bytes.
    let mut todo = Vec::new();
    let mut unchanged = 0usize;
    let mut added = 0usize;
    for e in &entries {
        match db.stream_stat(&e.path) {
            Ok(info) if info.size == e.size && info.crc32 == file_crc(&e.file)? => unchanged += 1,
            Ok(_) => todo.push(e),
            Err(err) if err.code() == ErrorCode::NotFound => {
                added += 1;
                todo.push(e)
            }
            Err(err) => return Err(err),
        }
    }
    let gone: Vec<String> = if args.delete {
        let present: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        // "/dir/" markers (empty directories made through PhysFS) are left alone.
        db.search(&prefix, None, None)?
            .filter(|p| p.as_ref().map_or(true, |p| !p.ends_with('/') && !present.contains(p.as_str())))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };

    let total: u64 = todo.iter().map(|e| e.size).sum();
    let bar = crate::progress(total, "packing");
    let batch_bytes = args.batch_mib.max(1) << 20;
    let (mut stored, mut committed) = (0u64, 0usize);
    let mut batch = todo.iter().peekable();
    while batch.peek().is_some() {
        let txn = db.begin()?;
        let mut bytes = 0u64;
        let mut files = 0usize;
        // Bounded in files too: a transaction's stream writes get slower the more it holds.
        while let Some(e) = batch.next_if(|_| bytes < batch_bytes && files < BATCH_FILES) {
            let mut w = txn.stream_writer_with(&e.path, Some(compress(e, args.compression)?))?;
            let f = File::open(&e.file).map_err(|err| io_error("cannot read", &e.file, err))?;
            let mtime = f.metadata().and_then(|m| m.modified()).map_err(|err| io_error("cannot read", &e.file, err))?;
            let mut src = Crc { inner: bar.wrap_read(f), crc: crc32fast::Hasher::new() };
            let copied = io::copy(&mut src, &mut w).map_err(|err| {
                let what = format!("cannot store {} (batches committed before it stay; run pack again)", e.file.display());
                Error::new(ErrorCode::Io, format!("{what}: {err}"))
            })?;
            if copied != e.size {
                return Err(Error::new(ErrorCode::Io, format!("{} changed while it was being packed; run pack again", e.file.display())));
            }
            w.set_metadata(Some(&metadata(mtime, e.size, src.crc.finalize())))?;
            stored += w.commit()?.stored_size;
            bytes += e.size;
            files += 1;
        }
        txn.commit()?;
        committed += files;
    }
    if !gone.is_empty() {
        let txn = db.begin()?;
        for p in &gone {
            txn.stream_delete(p)?;
        }
        txn.commit()?;
    }
    bar.finish_and_clear();
    println!(
        "packed {} files into {} in {:.2} s: {} added, {} changed, {} unchanged, {} deleted; {:.1} MiB written, {:.1} MiB stored",
        entries.len(),
        prefix,
        start.elapsed().as_secs_f64(),
        added,
        committed - added,
        unchanged,
        gone.len(),
        total as f64 / 1048576.0,
        stored as f64 / 1048576.0
    );
    Ok(())
}

/// The file a stream path becomes under DIR; refuses what would land outside it.
fn target(dir: &Path, rel: &str) -> Result<PathBuf, Error> {
    let parts: Vec<&str> = rel.trim_end_matches('/').split('/').collect();
    if rel.is_empty() || parts.iter().any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\\')) {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("refusing to unpack {rel:?}: not a plain relative path")));
    }
    Ok(parts.iter().fold(dir.to_path_buf(), |d, p| d.join(p)))
}

fn unpack(db: &Db, args: &UnpackArgs) -> Result<(), Error> {
    let start = Instant::now();
    let prefix = dir_prefix(&args.prefix)?;
    let paths: Vec<String> = db.search(&prefix, None, None)?.collect::<Result<_, _>>()?;
    let mut files = Vec::with_capacity(paths.len());
    for p in &paths {
        files.push((p, target(&args.dir, &p[prefix.len()..])?)); // every path checked before writing
    }
    fs::create_dir_all(&args.dir).map_err(|e| io_error("cannot create", &args.dir, e))?;
    let (mut count, mut bytes) = (0usize, 0u64);
    for (path, file) in files {
        if path.ends_with('/') {
            fs::create_dir_all(&file).map_err(|e| io_error("cannot create", &file, e))?;
            continue;
        }
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, e))?;
        }
        let mut r = db.stream_open(path, None)?;
        let mtime = recorded_mtime(r.info().and_then(|i| i.metadata.as_deref()));
        let bar = crate::progress(r.size(), "unpacking");
        let tmp = file.with_file_name(format!(".{}.buffdb-unpack", file.file_name().and_then(|n| n.to_str()).unwrap_or("file")));
        let out = File::create(&tmp).map_err(|e| io_error("cannot write", &tmp, e))?;
        let mut w = io::BufWriter::with_capacity(1 << 20, out);
        let written = io::copy(&mut bar.wrap_read(&mut r), &mut w)
            .and_then(|n| w.flush().map(|_| n))
            .and_then(|n| Ok((n, w.into_inner().map_err(|e| e.into_error())?)))
            .and_then(|(n, out)| mtime.map_or(Ok(()), |t| out.set_modified(t)).map(|_| n));
        bar.finish_and_clear();
        match written {
            Ok(n) => bytes += n,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(io_error("cannot write", &file, e));
            }
        }
        fs::rename(&tmp, &file).map_err(|e| io_error("cannot write", &file, e))?;
        count += 1;
    }
    println!(
        "unpacked {count} files ({:.1} MiB) from {prefix} into {} in {:.2} s",
        bytes as f64 / 1048576.0,
        args.dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
