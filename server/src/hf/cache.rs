//! The hub cache on disk (`HF_HUB_CACHE`, by default `~/.cache/huggingface/hub`),
//! imported into and exported from BuffDB.
//!
//! The layout, as `huggingface_hub` writes and reads it (file_download.py,
//! _snapshot_download.py): `{models,datasets,spaces}--ORG--NAME/` holding
//! `blobs/ETAG` (the bytes), `snapshots/COMMIT/PATH` (a relative symlink into
//! `blobs/`) and `refs/BRANCH` (the commit, no trailing newline).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use buffdb::{Db, Error, ErrorCode, ModelFile, Models, LATEST};

use super::{
    blob_path, check_etag, etag_of, hub_version, is_commit, is_hub_version, verify_etag, GitHasher, Repo, RepoType,
};

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub repos: usize,
    /// Commits registered or completed now (those already whole are skipped).
    pub versions: usize,
    /// Branches and tags set.
    pub refs: usize,
    /// Distinct files written to the store now, and their bytes.
    pub blobs_stored: usize,
    pub bytes_stored: u64,
    /// Files the store already had (listed again, stored once).
    pub blobs_shared: usize,
}

/// What an export did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub repos: usize,
    pub versions: usize,
    pub files: usize,
    pub refs: usize,
    pub bytes_written: u64,
}

fn io_err(what: &str, path: &Path, e: io::Error) -> Error {
    Error::new(ErrorCode::Io, format!("cannot {what} {}: {e}", path.display()))
}

/// The repo a cache folder name stands for (`models--org--name`).
fn repo_of_folder(name: &str) -> Option<Repo> {
    let (plural, id) = name.split_once("--")?;
    Repo::new(RepoType::from_plural(plural)?, &id.replace("--", "/")).ok()
}

/// Stores `reader` (of `size` bytes) as the file with this ETag, unless the store has
/// it: written as it streams, checked against the ETag before it is committed
/// (a mismatch or a short read stores nothing). Returns (sha256, whether written).
pub fn store_blob(db: &Db, etag: &str, size: u64, reader: impl Read) -> Result<(String, bool), Error> {
    check_etag(etag)?;
    let path = blob_path(etag);
    let mut reader = reader;
    if db.stream_stat(&path).is_ok_and(|st| st.size == size) {
        if etag.len() == 64 {
            return Ok((etag.to_string(), false));
        }
        // A small git-tracked file: hash it for its sha256.
        let mut hasher = GitHasher::new(size);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (sha256, oid) = hasher.finish();
        verify_etag(etag, &sha256, &oid)?;
        return Ok((sha256, false));
    }
    let mut hasher = GitHasher::new(size);
    let mut w = db.stream_writer(&path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut seen = 0u64;
    let copied: Result<(), Error> = (|| {
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            hasher.update(&buf[..n]);
            w.write(&buf[..n])?;
            seen += n as u64;
        }
        if seen != size {
            return Err(Error::new(ErrorCode::Corrupt, format!("file {etag}: {seen} bytes arrived, {size} expected")));
        }
        Ok(())
    })();
    let (sha256, oid) = hasher.finish();
    match copied.and_then(|()| verify_etag(etag, &sha256, &oid)) {
        Ok(()) => {
            let md = buffdb::file_metadata(&sha256, size, &[("source", super::SOURCE), ("etag", etag)]);
            w.set_metadata(Some(&md))?;
            w.commit()?;
            Ok((sha256, true))
        }
        Err(e) => {
            let _ = w.abort();
            Err(e)
        }
    }
}

/// Every file under `dir`, as (relative `/`-path, full path), sorted.
fn walk(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut out = Vec::new();
    let mut todo = vec![(String::new(), dir.to_path_buf())];
    while let Some((rel, p)) = todo.pop() {
        for e in fs::read_dir(&p).map_err(|e| io_err("read", &p, e))? {
            let e = e.map_err(|e| io_err("read", &p, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            // Symlinks count as files (snapshots are links into blobs/).
            if fs::metadata(e.path()).map_err(|er| io_err("read", &e.path(), er))?.is_dir() {
                todo.push((r, e.path()));
            } else {
                out.push((r, e.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Imports every repository of the hub cache at `dir`: every revision and file,
/// each distinct file stored once, branches as aliases.
pub fn import(db: &Db, dir: &Path) -> Result<ImportReport, Error> {
    let mut report = ImportReport::default();
    let mut folders: Vec<_> = fs::read_dir(dir)
        .map_err(|e| io_err("read", dir, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((repo_of_folder(&e.file_name().to_string_lossy())?, e.path())))
        .collect();
    folders.sort_by(|a, b| a.1.cmp(&b.1));
    for (repo, path) in folders {
        import_repo(db, &repo, &path, &mut report)?;
        report.repos += 1;
    }
    Ok(report)
}

fn import_repo(db: &Db, repo: &Repo, root: &Path, report: &mut ImportReport) -> Result<(), Error> {
    let name = repo.model_name();
    let mut versions: BTreeMap<String, Vec<ModelFile>> = BTreeMap::new();
    // sha256 of each ETag already handled in this import.
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    let snapshots = root.join("snapshots");
    if snapshots.is_dir() {
        for e in fs::read_dir(&snapshots).map_err(|e| io_err("read", &snapshots, e))? {
            let e = e.map_err(|e| io_err("read", &snapshots, e))?;
            let commit = e.file_name().to_string_lossy().into_owned();
            if !is_commit(&commit) || !e.path().is_dir() {
                continue;
            }
            let mut files = Vec::new();
            for (rel, path) in walk(&e.path())? {
                let size = fs::metadata(&path).map_err(|er| io_err("read", &path, er))?.len();
                // A link into blobs/ names the ETag; a plain copy (caches made without
                // symlinks) is hashed and kept under its sha256.
                let etag = match fs::read_link(&path) {
                    Ok(target) => target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    Err(_) => String::new(),
                };
                let etag = if etag.is_empty() {
                    let mut h = GitHasher::new(size);
                    let mut f = fs::File::open(&path).map_err(|er| io_err("read", &path, er))?;
                    let mut buf = vec![0u8; 1 << 20];
                    loop {
                        let n = f.read(&mut buf).map_err(|er| io_err("read", &path, er))?;
                        if n == 0 {
                            break;
                        }
                        h.update(&buf[..n]);
                    }
                    h.finish().0
                } else {
                    etag
                };
                let sha256 = match known.get(&etag) {
                    Some(s) => s.clone(),
                    None => {
                        let f = fs::File::open(&path).map_err(|er| io_err("read", &path, er))?;
                        let (sha, written) = store_blob(db, &etag, size, f)
                            .map_err(|er| Error::new(er.code(), format!("{}: {}", path.display(), er.message())))?;
                        if written {
                            report.blobs_stored += 1;
                            report.bytes_stored += size;
                        } else {
                            report.blobs_shared += 1;
                        }
                        known.insert(etag.clone(), sha.clone());
                        sha
                    }
                };
                files.push(ModelFile { name: rel, path: blob_path(&etag), size, sha256, etag: Some(etag) });
            }
            versions.insert(commit, files);
        }
    }
    let mut refs = Vec::new();
    let refs_dir = root.join("refs");
    if refs_dir.is_dir() {
        for (branch, path) in walk(&refs_dir)? {
            let commit = fs::read_to_string(&path).map_err(|e| io_err("read", &path, e))?.trim().to_string();
            if versions.contains_key(&commit) {
                refs.push((branch, commit));
            }
        }
    }
    db.transaction(|t| {
        for (commit, files) in &versions {
            if t.model_resolve(&name, commit)?.as_deref() == Some(commit.as_str()) {
                // Known (perhaps in part, from a pull-through): add what it lacks.
                let mut info = t.model_get(&name, commit)?;
                let before = info.files.len();
                for f in files {
                    if info.file(&f.name).is_none() {
                        info.files.push(f.clone());
                    }
                }
                if info.files.len() != before {
                    t.model_update(&info)?;
                    report.versions += 1;
                }
                continue;
            }
            t.model_register(&hub_version(repo, commit, files.clone()))?;
            report.versions += 1;
        }
        for (branch, commit) in &refs {
            t.model_set_alias(&name, branch, Some(commit))?;
            report.refs += 1;
        }
        // `latest` is the hub's default branch, not whichever commit sorted last.
        if let Some((_, commit)) = refs.iter().find(|(branch, _)| branch == "main") {
            t.model_set_alias(&name, buffdb::LATEST, Some(commit))?;
        }
        Ok(())
    })
}

/// Writes every hub model the store holds as a hub cache at `dir`, which
/// `huggingface_hub` reads with `HF_HUB_OFFLINE=1`. Files already there with the
/// right size are kept; blobs are written to a temporary name and renamed.
pub fn export(db: &Db, dir: &Path) -> Result<ExportReport, Error> {
    let mut report = ExportReport::default();
    for name in db.model_names()? {
        let versions: Vec<_> = db.model_versions(&name)?.into_iter().filter(is_hub_version).collect();
        let Some(first) = versions.first() else { continue };
        let repo = first
            .parameters
            .get("repo_type")
            .and_then(|t| RepoType::parse(t))
            .zip(first.parameters.get("repo_id"))
            .and_then(|(k, id)| Repo::new(k, id).ok())
            .or_else(|| Repo::from_model_name(&name))
            .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("model {name} is not a hub repo id")))?;
        let root = dir.join(repo.cache_folder());
        let blobs = root.join("blobs");
        fs::create_dir_all(&blobs).map_err(|e| io_err("create", &blobs, e))?;
        for v in &versions {
            for f in &v.files {
                let etag = etag_of(f);
                check_etag(etag)?;
                let blob = blobs.join(etag);
                if fs::metadata(&blob).map(|m| m.len() == f.size).unwrap_or(false) {
                    // Already there (another revision lists it too).
                } else {
                    let tmp = blobs.join(format!("{etag}.incomplete"));
                    let mut out = io::BufWriter::with_capacity(
                        1 << 20,
                        fs::File::create(&tmp).map_err(|e| io_err("create", &tmp, e))?,
                    );
                    let mut r = db.stream_open(&f.path, None)?;
                    report.bytes_written += io::copy(&mut r, &mut out).map_err(|e| io_err("write", &tmp, e))?;
                    out.flush().map_err(|e| io_err("write", &tmp, e))?;
                    drop(out);
                    fs::rename(&tmp, &blob).map_err(|e| io_err("rename", &tmp, e))?;
                }
                let link = root.join("snapshots").join(&v.version).join(&f.name);
                let parent = link.parent().expect("a snapshot file has a folder");
                fs::create_dir_all(parent).map_err(|e| io_err("create", parent, e))?;
                let up = "../".repeat(f.name.split('/').count() + 1);
                let target = PathBuf::from(format!("{up}blobs/{etag}"));
                if fs::read_link(&link).ok().as_deref() != Some(target.as_path()) {
                    let _ = fs::remove_file(&link);
                    link_or_copy(&target, &blob, &link)?;
                }
                report.files += 1;
            }
            report.versions += 1;
        }
        for (alias, commit) in db.model_aliases(&name)? {
            if alias == LATEST || !versions.iter().any(|v| v.version == commit) {
                continue;
            }
            let file = root.join("refs").join(&alias);
            let parent = file.parent().expect("a ref has a folder");
            fs::create_dir_all(parent).map_err(|e| io_err("create", parent, e))?;
            // No trailing newline: the client reads the whole file as the commit.
            fs::write(&file, commit.as_bytes()).map_err(|e| io_err("write", &file, e))?;
            report.refs += 1;
        }
        report.repos += 1;
    }
    Ok(report)
}

#[cfg(unix)]
fn link_or_copy(target: &Path, _blob: &Path, link: &Path) -> Result<(), Error> {
    std::os::unix::fs::symlink(target, link).map_err(|e| io_err("link", link, e))
}

#[cfg(not(unix))]
fn link_or_copy(_target: &Path, blob: &Path, link: &Path) -> Result<(), Error> {
    // As huggingface_hub does where symlinks are not available.
    fs::copy(blob, link).map(|_| ()).map_err(|e| io_err("copy", link, e))
}
