//! Hugging Face hub models in BuffDB: the hub cache imported and exported
//! ([`cache`]), and the hub's download protocol served over HTTP ([`serve`]),
//! optionally as a pull-through cache of another hub ([`upstream`]).
//!
//! How a hub repository is kept (on top of the model registry, `buffdb::Models`):
//! - each distinct file is one path stream `/hf/blobs/{etag}`, whoever lists it (the
//!   hub's ETag is the sha256 of an LFS file, the git blob id of the others), so
//!   revisions and repositories sharing a file store it once;
//! - each commit is a registry version: name = the repo id (`org/name`; datasets and
//!   spaces are `datasets/org/name`, `spaces/org/name`), version = the 40-hex commit,
//!   `files` = the snapshot (file name → its `/hf/blobs/` stream, size, sha256, etag),
//!   `parameters.source = "huggingface"` and `parameters.repo_type`;
//! - each branch or tag is an alias of that model naming its commit.

pub mod cache;
mod hub;
pub mod serve;
pub mod upstream;

use buffdb::{Error, ErrorCode, ModelFile, ModelInfo};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Where the distinct files live.
pub const BLOB_ROOT: &str = "/hf/blobs/";
/// `parameters.source` of a hub version.
pub const SOURCE: &str = "huggingface";

/// A hub repository type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepoType {
    Model,
    Dataset,
    Space,
}

impl RepoType {
    /// `model`, `dataset`, `space`: the hub's spelling in `repo_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    pub fn parse(s: &str) -> Option<RepoType> {
        match s {
            "model" => Some(RepoType::Model),
            "dataset" => Some(RepoType::Dataset),
            "space" => Some(RepoType::Space),
            _ => None,
        }
    }

    /// The plural used in cache folder names (`models--`) and API paths (`/api/models/`).
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    pub fn from_plural(s: &str) -> Option<RepoType> {
        match s {
            "models" => Some(RepoType::Model),
            "datasets" => Some(RepoType::Dataset),
            "spaces" => Some(RepoType::Space),
            _ => None,
        }
    }
}

/// A hub repository: its type and id (`org/name` or a bare `name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    pub kind: RepoType,
    pub id: String,
}

impl Repo {
    /// Checks the id: one or two segments of letters, digits, `-`, `_`, `.`, never
    /// `.`/`..` or starting with `--` (as the hub allows).
    pub fn new(kind: RepoType, id: &str) -> Result<Repo, Error> {
        let segs: Vec<&str> = id.split('/').collect();
        let ok = !id.is_empty()
            && segs.len() <= 2
            && segs.iter().all(|s| {
                !s.is_empty()
                    && s.len() <= 96
                    && *s != "."
                    && *s != ".."
                    && !s.contains("--")
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        if !ok {
            return Err(Error::new(ErrorCode::InvalidArgument, format!("{id:?} is not a hub repo id (org/name)")));
        }
        Ok(Repo { kind, id: id.to_string() })
    }

    /// Its registry model name.
    pub fn model_name(&self) -> String {
        match self.kind {
            RepoType::Model => self.id.clone(),
            k => format!("{}/{}", k.plural(), self.id),
        }
    }

    /// The repo a registry model name stands for (`None` for names that are not hub ids).
    pub fn from_model_name(name: &str) -> Option<Repo> {
        match name.split_once('/') {
            Some((p, rest)) if rest.contains('/') => Repo::new(RepoType::from_plural(p)?, rest).ok(),
            _ => Repo::new(RepoType::Model, name).ok(),
        }
    }

    /// Its folder in a hub cache: `models--org--name`.
    pub fn cache_folder(&self) -> String {
        format!("{}--{}", self.kind.plural(), self.id.replace('/', "--"))
    }
}

/// Whether `s` is a full commit id (40 lowercase hex).
pub fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An ETag usable as a file name: letters, digits, `-`, `_`, `.`, not `.` or `..`.
pub fn check_etag(etag: &str) -> Result<(), Error> {
    let ok = !etag.is_empty()
        && etag.len() <= 128
        && etag != "."
        && etag != ".."
        && etag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::InvalidArgument, format!("{etag:?} is not a usable ETag")))
    }
}

/// The stream holding the file with this ETag.
pub fn blob_path(etag: &str) -> String {
    format!("{BLOB_ROOT}{etag}")
}

/// Whether the hub keeps this file in LFS (its ETag is then the sha256).
pub fn is_lfs(file: &ModelFile) -> bool {
    file.etag.as_deref().map_or(true, is_sha256)
}

/// The ETag the hub gives a file: recorded at import, else the sha256 (as for LFS).
pub fn etag_of(file: &ModelFile) -> &str {
    file.etag.as_deref().unwrap_or(&file.sha256)
}

/// The git blob id of a file: its ETag when not in LFS, else the id of its LFS pointer.
pub fn git_oid(file: &ModelFile) -> String {
    if !is_lfs(file) {
        return etag_of(file).to_string();
    }
    let pointer =
        format!("version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n", file.sha256, file.size);
    let mut h = GitHasher::new(pointer.len() as u64);
    h.update(pointer.as_bytes());
    h.finish().1
}

/// sha256 and git blob id of bytes seen a piece at a time.
pub struct GitHasher {
    sha256: Sha256,
    git: Sha1,
}

impl GitHasher {
    /// For a file of `size` bytes (git hashes a header with the size first).
    pub fn new(size: u64) -> GitHasher {
        let mut git = Sha1::new();
        git.update(format!("blob {size}\0").as_bytes());
        GitHasher { sha256: Sha256::new(), git }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.git.update(data);
    }

    /// (sha256, git blob id), lowercase hex.
    pub fn finish(self) -> (String, String) {
        (format!("{:x}", self.sha256.finalize()), format!("{:x}", self.git.finalize()))
    }
}

/// Checks bytes against the ETag they were stored under: the sha256 for a 64-hex
/// ETag, the git blob id for a 40-hex one (other ETags cannot be checked).
pub fn verify_etag(etag: &str, sha256: &str, git_oid: &str) -> Result<(), Error> {
    let ok = if is_sha256(etag) {
        etag == sha256
    } else if is_commit(etag) {
        etag == git_oid
    } else {
        true
    };
    if ok {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::Corrupt, format!("file content does not match its ETag {etag}")))
    }
}

/// Whether a registry version came from the hub.
pub fn is_hub_version(info: &ModelInfo) -> bool {
    info.parameters.get("source").map(String::as_str) == Some(SOURCE) && is_commit(&info.version)
}

/// A new hub version record for `repo` at `commit`.
pub fn hub_version(repo: &Repo, commit: &str, files: Vec<ModelFile>) -> ModelInfo {
    let mut info = ModelInfo::new(&repo.model_name(), commit);
    info.parameters.insert("source".into(), SOURCE.into());
    info.parameters.insert("repo_type".into(), repo.kind.as_str().into());
    info.parameters.insert("repo_id".into(), repo.id.clone());
    info.files = files;
    info
}
