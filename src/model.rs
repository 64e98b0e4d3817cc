//! The model registry, over the operation surface (so a [`crate::Db`] and a
//! [`crate::Txn`] both have it, through the [`Models`] trait).
//!
//! Layout, compatible with the earlier BuffDB (v0.5) model records:
//! - `model:{name}:{version}:metadata` (KV): the version's record, a JSON [`ModelInfo`]
//!   with v0.5's field names (`name`, `version`, `framework`, `description`,
//!   `input_shape`, `output_shape`, `blob_ids`, `created_at`, `parameters`) plus
//!   `files`: the version's files, each a path stream with its size and sha256.
//! - `/models/{name}/{version}/{file}` (path streams): the files written through the
//!   registry ([`Models::model_write_file`]); a record may also list streams stored
//!   elsewhere (the Hugging Face import keeps one stream per distinct file under
//!   `/hf/blobs/`), or blobs in `blob_ids` as v0.5 clients wrote them.
//! - `model:{name}:aliases` (KV): a JSON object alias → version. `latest` follows the
//!   newest registered version; other aliases (`prod`, a hub branch) are set by hand.
//!   All of a model's aliases are one record, so a move is one atomic write.
//!
//! Names and aliases are `/`-separated (a hub id like `org/name`), versions are one
//! segment; none may contain `:`, so keys never run into each other.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::error::{Error, ErrorCode, Result};
use crate::ops::sealed::Sealed;
use crate::ops::Ops;
use crate::reader::Reader;
use crate::storage::Core;

/// Where the registry writes a version's files: `/models/{name}/{version}/{file}`.
pub const MODEL_STREAM_ROOT: &str = "/models/";
/// The alias that follows the newest registered version.
pub const LATEST: &str = "latest";

/// One file of a model version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFile {
    /// The file's name inside the model (`config.json`, `onnx/model.onnx`).
    pub name: String,
    /// The path stream that holds it.
    pub path: String,
    pub size: u64,
    /// Lowercase hex sha256 of the bytes.
    pub sha256: String,
    /// The Hugging Face hub's ETag, for files that came from the hub: the sha256 for
    /// LFS files, the git blob id (40 hex) for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// A model version's record (JSON at `model:{name}:{version}:metadata`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub framework: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub input_shape: Vec<i64>,
    #[serde(default)]
    pub output_shape: Vec<i64>,
    /// Blobs holding weights, as v0.5 clients registered them.
    #[serde(default)]
    pub blob_ids: Vec<u64>,
    /// RFC 3339, UTC; set at registration when empty.
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<ModelFile>,
}

impl ModelInfo {
    pub fn new(name: &str, version: &str) -> ModelInfo {
        ModelInfo { name: name.to_string(), version: version.to_string(), ..ModelInfo::default() }
    }

    /// The file called `name`, if the version has it.
    pub fn file(&self, name: &str) -> Option<&ModelFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The record as stored: compact JSON, fields in declaration order, `etag` only
    /// when set (what serde's derive wrote before; written by hand so the C library
    /// does not carry a derived serializer: README "Sizes").
    pub fn to_json(&self) -> String {
        let mut o = JsonOut::new();
        o.str_field('{', "name", &self.name);
        o.str_field(',', "version", &self.version);
        o.str_field(',', "framework", &self.framework);
        o.str_field(',', "description", &self.description);
        o.key(',', "input_shape");
        o.ints(self.input_shape.iter().map(|n| n.to_string()));
        o.key(',', "output_shape");
        o.ints(self.output_shape.iter().map(|n| n.to_string()));
        o.key(',', "blob_ids");
        o.ints(self.blob_ids.iter().map(|n| n.to_string()));
        o.str_field(',', "created_at", &self.created_at);
        o.key(',', "parameters");
        o.map(&self.parameters);
        o.key(',', "files");
        o.raw("[");
        for (i, f) in self.files.iter().enumerate() {
            if i > 0 {
                o.raw(",");
            }
            o.str_field('{', "name", &f.name);
            o.str_field(',', "path", &f.path);
            o.key(',', "size");
            o.raw(&f.size.to_string());
            o.str_field(',', "sha256", &f.sha256);
            if let Some(etag) = &f.etag {
                o.str_field(',', "etag", etag);
            }
            o.raw("}");
        }
        o.raw("]}");
        o.done()
    }

    /// A stored record; what serde's derive accepted: a JSON object with `name` and
    /// `version` strings, the other fields optional (missing means empty), unknown
    /// fields ignored, wrong types refused. (One difference: a field given twice
    /// counts once, the last, where the derive refused the record.) Read through a
    /// `serde_json::Value` so the C library carries no derived deserializer.
    pub fn from_json(json: &[u8]) -> Result<ModelInfo> {
        let text = std::str::from_utf8(json).map_err(|e| not_a_record(format!("not UTF-8 ({e})")))?;
        ModelInfo::from_json_value(serde_json::from_str(text).map_err(|e| not_a_record(e.to_string()))?)
    }

    /// A record from a parsed JSON object, as [`ModelInfo::from_json`].
    pub fn from_json_value(value: Json) -> Result<ModelInfo> {
        let Json::Object(m) = value else { return Err(not_a_record("expected a JSON object".into())) };
        let mut info = ModelInfo::default();
        let (mut name, mut version) = (None, None);
        for (k, v) in m {
            let r = match k.as_str() {
                "name" => string(v).map(|s| name = Some(s)),
                "version" => string(v).map(|s| version = Some(s)),
                "framework" => string(v).map(|s| info.framework = s),
                "description" => string(v).map(|s| info.description = s),
                "input_shape" => numbers(v, serde_json::Number::as_i64, "an i64").map(|l| info.input_shape = l),
                "output_shape" => numbers(v, serde_json::Number::as_i64, "an i64").map(|l| info.output_shape = l),
                "blob_ids" => numbers(v, serde_json::Number::as_u64, "a u64").map(|l| info.blob_ids = l),
                "created_at" => string(v).map(|s| info.created_at = s),
                "parameters" => string_map(v).map(|p| info.parameters = p),
                "files" => match v {
                    Json::Array(a) => a.into_iter().try_for_each(|f| model_file(f).map(|f| info.files.push(f))),
                    other => Err(format!("expected an array, found {other}")),
                },
                _ => Ok(()),
            };
            r.map_err(|e| not_a_record(format!("field `{k}`: {e}")))?;
        }
        info.name = name.ok_or_else(|| not_a_record("missing field `name`".into()))?;
        info.version = version.ok_or_else(|| not_a_record("missing field `version`".into()))?;
        Ok(info)
    }
}

fn model_file(v: Json) -> std::result::Result<ModelFile, String> {
    let Json::Object(m) = v else { return Err(format!("expected a JSON object, found {v}")) };
    let (mut name, mut path, mut size, mut sha256, mut etag) = (None, None, None, None, None);
    for (k, v) in m {
        let r = match k.as_str() {
            "name" => string(v).map(|s| name = Some(s)),
            "path" => string(v).map(|s| path = Some(s)),
            "size" => v.as_u64().map(|n| size = Some(n)).ok_or_else(|| format!("expected a u64, found {v}")),
            "sha256" => string(v).map(|s| sha256 = Some(s)),
            // `null` is no ETag, as for serde's Option.
            "etag" if v.is_null() => Ok(()),
            "etag" => string(v).map(|s| etag = Some(s)),
            _ => Ok(()),
        };
        r.map_err(|e| format!("file field `{k}`: {e}"))?;
    }
    let missing = |f: &str| format!("missing file field `{f}`");
    Ok(ModelFile {
        name: name.ok_or_else(|| missing("name"))?,
        path: path.ok_or_else(|| missing("path"))?,
        size: size.ok_or_else(|| missing("size"))?,
        sha256: sha256.ok_or_else(|| missing("sha256"))?,
        etag,
    })
}

type Json = serde_json::Value;

fn not_a_record(what: String) -> Error {
    Error::invalid(format!("not a model record: {what}"))
}

fn string(v: Json) -> std::result::Result<String, String> {
    match v {
        Json::String(s) => Ok(s),
        other => Err(format!("expected a string, found {other}")),
    }
}

fn numbers<T>(v: Json, item: fn(&serde_json::Number) -> Option<T>, what: &str) -> std::result::Result<Vec<T>, String> {
    let Json::Array(a) = v else { return Err(format!("expected an array, found {v}")) };
    let mut out = Vec::with_capacity(a.len());
    for x in &a {
        match x {
            Json::Number(n) if item(n).is_some() => out.extend(item(n)),
            _ => return Err(format!("expected {what}, found {x}")),
        }
    }
    Ok(out)
}

/// A JSON object of strings (record `parameters`, a model's aliases).
fn string_map(v: Json) -> std::result::Result<BTreeMap<String, String>, String> {
    let Json::Object(m) = v else { return Err(format!("expected a JSON object, found {v}")) };
    let mut out = BTreeMap::new();
    for (k, v) in m {
        out.insert(k, string(v)?);
    }
    Ok(out)
}

/// Compact JSON text, written by hand; strings are escaped by serde_json.
struct JsonOut(Vec<u8>);

impl JsonOut {
    fn new() -> JsonOut {
        JsonOut(Vec::with_capacity(256))
    }
    fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }
    fn str(&mut self, s: &str) {
        serde_json::to_writer(&mut self.0, s).expect("writing to a Vec does not fail");
    }
    /// `sep` (`{` or `,`; NUL for none) then `"key":`.
    fn key(&mut self, sep: char, key: &str) {
        if sep != '\0' {
            self.0.push(sep as u8);
        }
        self.str(key);
        self.0.push(b':');
    }
    fn str_field(&mut self, sep: char, key: &str, value: &str) {
        self.key(sep, key);
        self.str(value);
    }
    fn ints(&mut self, items: impl Iterator<Item = String>) {
        self.0.push(b'[');
        for (i, n) in items.enumerate() {
            if i > 0 {
                self.0.push(b',');
            }
            self.raw(&n);
        }
        self.0.push(b']');
    }
    fn map(&mut self, m: &BTreeMap<String, String>) {
        self.0.push(b'{');
        for (i, (k, v)) in m.iter().enumerate() {
            self.str_field(if i == 0 { '\0' } else { ',' }, k, v);
        }
        self.0.push(b'}');
    }
    fn done(self) -> String {
        String::from_utf8(self.0).expect("JSON text from strings is UTF-8")
    }
}

/// A model's aliases as stored and returned: a compact JSON object alias -> version.
pub fn aliases_json(aliases: &BTreeMap<String, String>) -> String {
    let mut o = JsonOut::new();
    o.map(aliases);
    o.done()
}

/// The KV key of a version's record.
pub fn model_key(name: &str, version: &str) -> String {
    format!("model:{name}:{version}:metadata")
}

fn aliases_key(name: &str) -> String {
    format!("model:{name}:aliases")
}

/// The stream path of a file written through the registry.
pub fn model_file_path(name: &str, version: &str, file: &str) -> String {
    format!("{MODEL_STREAM_ROOT}{name}/{version}/{file}")
}

/// A `/`-separated name: segments not empty, not `.` or `..`, no `:`, `\` or control bytes.
fn check_segments(what: &str, s: &str, slashes: bool) -> Result<()> {
    let bad = s.is_empty()
        || s.len() > 512
        || s.chars().any(|c| c == ':' || c == '\\' || c.is_control() || (!slashes && c == '/'))
        || s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        let rule = if slashes { "non-empty `/`-separated segments" } else { "one segment" };
        return Err(Error::invalid(format!(
            "model {what} {s:?} must be {rule} without `.`/`..`, `:`, `\\` or control characters"
        )));
    }
    Ok(())
}

pub fn check_name(name: &str) -> Result<()> {
    check_segments("name", name, true)
}
pub fn check_version(version: &str) -> Result<()> {
    check_segments("version", version, false)
}
pub fn check_alias(alias: &str) -> Result<()> {
    check_segments("alias", alias, true)
}
pub fn check_file_name(file: &str) -> Result<()> {
    check_segments("file name", file, true)
}

/// Now as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let (secs, ms) = ((ms / 1000) as i64, ms % 1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Runs `$body` with `$o` bound to the surface of the transaction `$s` is in, or
/// (on a `Db`) of a new one, committed when `$body` is `Ok`. The body is one closure
/// over the run-time surface ([`Core`]): compiled once per caller type, not again
/// for the `Txn` a `Db` opens (the C library has one caller type, `Core`).
macro_rules! atomic {
    ($s:expr, |$o:ident| $body:expr) => {{
        #[allow(unused_mut)]
        let mut body = |$o: &Core<'_>| $body;
        match $s.core() {
            Core::Db(store) => Db { inner: store.clone() }.transaction(|t| body(&t.core())),
            txn => body(&txn),
        }
    }};
}

/// The model registry, on every [`Ops`] implementor (`Db`, `Txn`).
pub trait Models: Ops {
    /// Writes `reader` as the file `file` of model `name` at `version`, at
    /// `/models/{name}/{version}/{file}`, computing its size and sha256 as it streams;
    /// the stream's metadata is `{"sha256", "size", "model", "version", "file"}` (JSON).
    /// Register the version afterwards (in the same transaction) to make it part of it.
    fn model_write_file(&self, name: &str, version: &str, file: &str, reader: impl Read) -> Result<ModelFile> {
        check_name(name)?;
        check_version(version)?;
        check_file_name(file)?;
        let path = model_file_path(name, version, file);
        let mut hashing = HashingReader { inner: reader, hash: Sha256::new() };
        let mut w = self.stream_writer(&path)?;
        std::io::copy(&mut hashing, &mut w)?;
        let sha256 = format!("{:x}", hashing.hash.finalize());
        let size = w.written();
        w.set_metadata(Some(&file_metadata(&sha256, size, &[("model", name), ("version", version), ("file", file)])))?;
        let info = w.commit()?;
        Ok(ModelFile { name: file.to_string(), path, size: info.size, sha256, etag: None })
    }

    /// Registers a version: its record, whose files must exist as streams of the
    /// sizes given (and of the sha256 their stream metadata names, if any; an empty
    /// `sha256` is taken from there), and `latest` moved to it, in one transaction.
    /// `created_at` is set when empty. `CONFLICT` when the version exists (versions
    /// are kept as registered: delete it first, or [`Models::model_update`] it).
    /// Returns the record as stored.
    fn model_register(&self, info: &ModelInfo) -> Result<ModelInfo> {
        let mut info = checked(info)?;
        atomic!(self, |o| {
            let key = model_key(&info.name, &info.version);
            if o.contains(key.as_bytes())? {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!("model {} version {} is already registered", info.name, info.version),
                ));
            }
            check_files(o, &mut info)?;
            o.put(key.as_bytes(), info.to_json().as_bytes())?;
            let mut aliases = read_aliases(o, &info.name)?;
            aliases.insert(LATEST.to_string(), info.version.clone());
            write_aliases(o, &info.name, &aliases)?;
            Ok(info.clone())
        })
    }

    /// Replaces the record of a registered version (`NOT_FOUND` when it is not),
    /// with the checks of [`Models::model_register`]; aliases stay. Streams the old
    /// record listed and the new one does not are left in place.
    fn model_update(&self, info: &ModelInfo) -> Result<ModelInfo> {
        let mut info = checked(info)?;
        atomic!(self, |o| {
            let key = model_key(&info.name, &info.version);
            if !o.contains(key.as_bytes())? {
                return Err(Error::not_found(format!("model {} version {}", info.name, info.version)));
            }
            check_files(o, &mut info)?;
            o.put(key.as_bytes(), info.to_json().as_bytes())?;
            Ok(info.clone())
        })
    }

    /// Writes each `(file name, reader)` with [`Models::model_write_file`] and
    /// registers the version with them, all in one transaction.
    fn model_register_files(&self, info: &ModelInfo, files: &mut [(&str, &mut dyn Read)]) -> Result<ModelInfo> {
        atomic!(self, |o| {
            let mut info = info.clone();
            for (file, reader) in files.iter_mut() {
                let f = o.model_write_file(&info.name, &info.version, file, &mut **reader)?;
                info.files.retain(|x| x.name != f.name);
                info.files.push(f);
            }
            o.model_register(&info)
        })
    }

    /// The record of `version`, or of the version an alias names (a version of that
    /// name wins); `NOT_FOUND` when neither exists.
    fn model_get(&self, name: &str, version_or_alias: &str) -> Result<ModelInfo> {
        check_name(name)?;
        match self.model_resolve(name, version_or_alias)? {
            Some(v) => match self.get(model_key(name, &v).as_bytes())? {
                Some(json) => ModelInfo::from_json(&json),
                None => Err(Error::not_found(format!("model {name} version {v}"))),
            },
            None => Err(Error::not_found(format!("model {name} version or alias {version_or_alias}"))),
        }
    }

    /// The version `version_or_alias` stands for, or `None`.
    fn model_resolve(&self, name: &str, version_or_alias: &str) -> Result<Option<String>> {
        check_name(name)?;
        if check_version(version_or_alias).is_ok() && self.contains(model_key(name, version_or_alias).as_bytes())? {
            return Ok(Some(version_or_alias.to_string()));
        }
        check_alias(version_or_alias)?;
        Ok(read_aliases(self, name)?.remove(version_or_alias))
    }

    /// Names of the registered models, in byte order.
    fn model_names(&self) -> Result<Vec<String>> {
        let mut names = Vec::<String>::new();
        for key in self.keys(b"model:", None, None)? {
            let key = key?;
            if let Some((name, _)) = split_record_key(&key) {
                if names.last().map(String::as_str) != Some(name) {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// A model's versions, oldest first (by `created_at`, then version).
    fn model_versions(&self, name: &str) -> Result<Vec<ModelInfo>> {
        check_name(name)?;
        let prefix = format!("model:{name}:");
        let mut out = Vec::new();
        for row in self.scan(prefix.as_bytes(), None, None)? {
            let (key, value) = row?;
            if split_record_key(&key).is_some_and(|(n, _)| n == name) {
                out.push(ModelInfo::from_json(&value)?);
            }
        }
        out.sort_by(|a, b| (&a.created_at, &a.version).cmp(&(&b.created_at, &b.version)));
        Ok(out)
    }

    /// A model's aliases (alias → version).
    fn model_aliases(&self, name: &str) -> Result<BTreeMap<String, String>> {
        check_name(name)?;
        read_aliases(self, name)
    }

    /// Points `alias` at `version` (which must exist), or removes it with `None`;
    /// one atomic write.
    fn model_set_alias(&self, name: &str, alias: &str, version: Option<&str>) -> Result<()> {
        check_name(name)?;
        check_alias(alias)?;
        atomic!(self, |o| {
            let mut aliases = read_aliases(o, name)?;
            match version {
                Some(v) => {
                    check_version(v)?;
                    if !o.contains(model_key(name, v).as_bytes())? {
                        return Err(Error::not_found(format!("model {name} version {v}")));
                    }
                    aliases.insert(alias.to_string(), v.to_string());
                }
                None => {
                    aliases.remove(alias);
                }
            }
            write_aliases(o, name, &aliases)
        })
    }

    /// Deletes a version: its record, the streams it wrote under
    /// `/models/{name}/{version}/`, streams it listed elsewhere that no other version
    /// lists, and the aliases naming it (`latest` moves to the newest one left).
    /// Blobs in `blob_ids` are left alone. Returns whether it existed.
    fn model_delete(&self, name: &str, version: &str) -> Result<bool> {
        check_name(name)?;
        check_version(version)?;
        atomic!(self, |o| {
            let key = model_key(name, version);
            let Some(json) = o.get(key.as_bytes())? else { return Ok(false) };
            let info = ModelInfo::from_json(&json)?;
            o.delete(key.as_bytes())?;
            let own = model_file_path(name, version, "");
            let mut shared: Vec<&str> =
                info.files.iter().map(|f| f.path.as_str()).filter(|p| !p.starts_with(&own)).collect();
            for f in &info.files {
                if f.path.starts_with(&own) {
                    o.stream_delete(&f.path)?;
                }
            }
            if !shared.is_empty() {
                // Keep what another version still lists.
                for row in o.scan(b"model:", None, None)? {
                    let (k, v) = row?;
                    if split_record_key(&k).is_some() {
                        if let Ok(other) = ModelInfo::from_json(&v) {
                            shared.retain(|p| !other.files.iter().any(|f| f.path == *p));
                        }
                    }
                }
                for p in shared {
                    o.stream_delete(p)?;
                }
            }
            let mut aliases = read_aliases(o, name)?;
            aliases.retain(|_, v| v != version);
            if !aliases.contains_key(LATEST) {
                if let Some(newest) = o.model_versions(name)?.pop() {
                    aliases.insert(LATEST.to_string(), newest.version);
                }
            }
            write_aliases(o, name, &aliases)?;
            Ok(true)
        })
    }

    /// A reader over one file of a version (or alias): range reads with
    /// `seek`/`read_at`. `NOT_FOUND` when the version or the file is missing.
    fn model_open(&self, name: &str, version_or_alias: &str, file: &str) -> Result<Reader> {
        let info = self.model_get(name, version_or_alias)?;
        let f = info
            .file(file)
            .ok_or_else(|| Error::not_found(format!("file {file:?} in model {name} version {}", info.version)))?;
        self.stream_open(&f.path, None)
    }
}

impl<T: Ops> Models for T {}

/// The record with its names checked and `created_at` set.
fn checked(info: &ModelInfo) -> Result<ModelInfo> {
    check_name(&info.name)?;
    check_version(&info.version)?;
    let mut info = info.clone();
    if info.created_at.is_empty() {
        info.created_at = now_rfc3339();
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in &info.files {
        check_file_name(&f.name)?;
        if !seen.insert(f.name.as_str()) {
            return Err(Error::invalid(format!("file {:?} is listed twice", f.name)));
        }
    }
    Ok(info)
}

/// Each listed file's stream exists with the record's size, and the sha256 of its
/// stream metadata (when it has one) agrees; an empty `sha256` is filled from there.
fn check_files<O: Ops + ?Sized>(o: &O, info: &mut ModelInfo) -> Result<()> {
    for f in &mut info.files {
        let st = o.stream_stat(&f.path).map_err(|e| match e.code() {
            ErrorCode::NotFound => Error::not_found(format!("stream {} for file {:?}", f.path, f.name)),
            _ => e,
        })?;
        if st.size != f.size {
            return Err(Error::invalid(format!(
                "file {:?}: stream {} holds {} bytes, the record says {}",
                f.name, f.path, st.size, f.size
            )));
        }
        let stored = st
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str::<Json>(m).ok())
            .and_then(|m| m.get("sha256").and_then(|v| v.as_str()).map(str::to_string));
        match stored {
            Some(sha) if f.sha256.is_empty() => f.sha256 = sha,
            Some(sha) if sha != f.sha256 => {
                return Err(Error::invalid(format!(
                    "file {:?}: stream {} holds sha256 {sha}, the record says {}",
                    f.name, f.path, f.sha256
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The metadata of a file's stream: its sha256 and size, and what else names it.
pub fn file_metadata(sha256: &str, size: u64, extra: &[(&str, &str)]) -> String {
    let mut m = serde_json::Map::new();
    for (k, v) in extra {
        m.insert(k.to_string(), serde_json::Value::from(*v));
    }
    m.insert("sha256".into(), sha256.into());
    m.insert("size".into(), size.into());
    serde_json::Value::Object(m).to_string()
}

/// `(name, version)` of a record key `model:{name}:{version}:metadata`.
fn split_record_key(key: &[u8]) -> Option<(&str, &str)> {
    let rest = std::str::from_utf8(key).ok()?.strip_prefix("model:")?.strip_suffix(":metadata")?;
    let (name, version) = rest.rsplit_once(':')?;
    (!name.contains(':') && !name.is_empty() && !version.is_empty()).then_some((name, version))
}

fn read_aliases<O: Ops + ?Sized>(o: &O, name: &str) -> Result<BTreeMap<String, String>> {
    match o.get(aliases_key(name).as_bytes())? {
        Some(json) => std::str::from_utf8(&json)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(t).map_err(|e| e.to_string()))
            .and_then(string_map)
            .map_err(|e| Error::corrupt(format!("aliases of model {name} are not a JSON object of strings: {e}"))),
        None => Ok(BTreeMap::new()),
    }
}

fn write_aliases<O: Ops + ?Sized>(o: &O, name: &str, aliases: &BTreeMap<String, String>) -> Result<()> {
    let key = aliases_key(name);
    if aliases.is_empty() {
        o.delete(key.as_bytes())?;
        return Ok(());
    }
    o.put(key.as_bytes(), aliases_json(aliases).as_bytes())
}

/// Hashes what passes through.
struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control characters, DEL, non-ASCII, astral.
        proptest::string::string_regex("[a-z\"\\\\\\x00-\\x1f\\x7f é€😀/:.]{0,12}").unwrap()
    }

    fn file() -> impl Strategy<Value = ModelFile> {
        (text(), text(), any::<u64>(), text(), proptest::option::of(text()))
            .prop_map(|(name, path, size, sha256, etag)| ModelFile { name, path, size, sha256, etag })
    }

    fn info() -> impl Strategy<Value = ModelInfo> {
        use proptest::collection::vec as v;
        (
            (text(), text(), text(), text(), text()),
            (v(any::<i64>(), 0..4), v(any::<i64>(), 0..4), v(any::<u64>(), 0..4)),
            proptest::collection::btree_map(text(), text(), 0..4),
            v(file(), 0..4),
        )
            .prop_map(|((name, version, framework, description, created_at), (i, o, b), parameters, files)| {
                ModelInfo {
                    name,
                    version,
                    framework,
                    description,
                    input_shape: i,
                    output_shape: o,
                    blob_ids: b,
                    created_at,
                    parameters,
                    files,
                }
            })
    }

    proptest! {
        /// The hand-written record is byte for byte what serde's derive wrote, and reads back.
        #[test]
        fn record_json_is_serdes(info in info()) {
            let json = info.to_json();
            prop_assert_eq!(&json, &serde_json::to_string(&info).unwrap());
            prop_assert_eq!(ModelInfo::from_json(json.as_bytes()).unwrap(), info.clone());
            prop_assert_eq!(aliases_json(&info.parameters), serde_json::to_string(&info.parameters).unwrap());
        }
    }

    /// The hand-written reader accepts and refuses what serde's derive did.
    #[test]
    fn record_reader_agrees_with_serde() {
        let cases = [
            r#"{"name":"a","version":"1"}"#,
            r#"{"version":"1","name":"a","framework":"onnx","extra":{"x":[1,2]},"files":[]}"#,
            r#"{"name":"a","version":"1","input_shape":[-1,3],"blob_ids":[18446744073709551615],"parameters":{}}"#,
            r#"{"name":"a","version":"1","files":[{"name":"f","path":"/p","size":3,"sha256":"","etag":null}]}"#,
            r#"{"name":"a","version":"1","files":[{"name":"f","path":"/p","size":3,"sha256":"x","etag":"e","more":1}]}"#,
            r#" { "name" : "a\u00e9\n" , "version" : "1" } "#,
            r#"{"name":"a"}"#,
            r#"{"version":"1"}"#,
            r#"{"name":1,"version":"1"}"#,
            r#"{"name":null,"version":"1"}"#,
            r#"{"name":"a","version":"1","framework":null}"#,
            r#"{"name":"a","version":"1","input_shape":[1.0]}"#,
            r#"{"name":"a","version":"1","input_shape":[9223372036854775808]}"#,
            r#"{"name":"a","version":"1","blob_ids":[-1]}"#,
            r#"{"name":"a","version":"1","blob_ids":"1"}"#,
            r#"{"name":"a","version":"1","parameters":{"k":1}}"#,
            r#"{"name":"a","version":"1","parameters":[]}"#,
            r#"{"name":"a","version":"1","files":[{"name":"f","path":"/p","sha256":""}]}"#,
            r#"{"name":"a","version":"1","files":[{"name":"f","path":"/p","size":-3,"sha256":""}]}"#,
            r#"{"name":"a","version":"1","files":[{"name":"f","path":"/p","size":3,"sha256":"","etag":5}]}"#,
            r#"{"name":"a","version":"1","files":{}}"#,
            r#"{"name":"a","version":"1"} x"#,
            r#"{"name":"a","version":"1""#,
            r#""a""#,
            "null",
            "",
            "\u{feff}{}",
        ];
        for case in cases {
            let serde = serde_json::from_str::<ModelInfo>(case).ok();
            let hand = ModelInfo::from_json(case.as_bytes());
            assert_eq!(hand.as_ref().ok(), serde.as_ref(), "{case}: {hand:?}");
            if let Err(e) = hand {
                assert_eq!(e.code(), ErrorCode::InvalidArgument, "{case}");
                assert!(e.message().starts_with("not a model record: "), "{e}");
            }
        }
        assert!(ModelInfo::from_json(b"{\"name\":\"\xff\",\"version\":\"1\"}").is_err());
    }
}
