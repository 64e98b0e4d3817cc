//! Runs the shared JSON cases in tests/cases/ through the Rust API
//! (the C, Python and Node suites run the same files), and again on encrypted
//! databases with the cargo feature `encryption`.

use std::collections::HashMap;

use buffdb::{Db, EncryptionKey, IndexEntry, IndexInfo, ModelInfo, Models, OpenOptions, Ops, Record, StreamInfo, Txn, Value};
use serde_json::{json, Value as J};

fn bytes(v: &J) -> Vec<u8> {
    match v {
        J::String(s) => s.as_bytes().to_vec(),
        J::Object(o) if o.contains_key("hex") => {
            let h = o["hex"].as_str().unwrap();
            (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
        }
        J::Object(o) if o.contains_key("repeat") => {
            // Big values (over MAX_VALUE_SIZE) are generated here, not stored in the JSON.
            o["repeat"].as_str().unwrap().repeat(o["times"].as_u64().unwrap() as usize).into_bytes()
        }
        other => panic!("not bytes: {other}"),
    }
}

fn opt_bytes(v: Option<&J>) -> Option<Vec<u8>> {
    match v {
        None | Some(J::Null) => None,
        Some(v) => Some(bytes(v)),
    }
}

fn b2j(b: Vec<u8>) -> J {
    json!({ "hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
}

fn info_json(i: &StreamInfo) -> J {
    json!({"path": i.path, "version": i.version, "size": i.size, "chunk_count": i.chunk_count, "crc32": i.crc32,
        "metadata": i.metadata})
}

fn index_json(i: &IndexInfo) -> J {
    json!({"name": i.name, "source": i.source, "json_path": i.json_path, "unique": i.unique,
        "key_prefix": i.key_prefix.clone().map(b2j), "entries": i.entries, "ready": i.ready})
}

/// A record as the cases write it: a KV key as bytes, a blob id as a number, a path as text.
fn record_json(r: Record) -> J {
    match r {
        Record::Key(k) => b2j(k),
        Record::Blob(id) => json!(id),
        Record::Path(p) => J::String(p),
    }
}

/// `start_after` of `find_range`: {"value": V, and "key" (bytes) | "blob" (id) | "path"}.
fn entry_arg(v: &J, vars: &HashMap<String, J>) -> buffdb::Result<IndexEntry> {
    let record = if let Some(k) = v.get("key") {
        Record::Key(bytes(k))
    } else if let Some(id) = v.get("blob") {
        Record::Blob(int(id, vars)?)
    } else {
        Record::Path(text(&v["path"])?)
    };
    Ok(IndexEntry { value: v["value"].clone(), record })
}

fn records(it: buffdb::FindIter) -> buffdb::Result<J> {
    Ok(J::Array(it.map(|e| e.map(|e| record_json(e.record))).collect::<Result<_, _>>()?))
}

/// Whether `actual` (as produced by `run_op`) matches the case's `expect`.
fn matches(expect: &J, actual: &J) -> bool {
    match (expect, actual) {
        (J::Null, J::Null) => true,
        (e @ (J::String(_) | J::Object(_)), J::Object(a)) if a.contains_key("hex") && e.get("version").is_none() => {
            is_bytes(e) && bytes(e) == bytes(actual)
        }
        (J::Array(e), J::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a)),
        (J::Object(e), J::Object(a)) => e.iter().all(|(k, v)| a.get(k).map(|av| matches(v, av)).unwrap_or(false)),
        (J::Number(e), J::Number(a)) => e.as_f64() == a.as_f64(),
        (e, a) => e == a,
    }
}

fn is_bytes(v: &J) -> bool {
    matches!(v, J::String(_)) || v.get("hex").is_some() || v.get("repeat").is_some()
}

/// An argument Rust's types cannot carry (a negative or too large number, text that is
/// not UTF-8): the conversion refuses it, as every binding's does, with INVALID_ARGUMENT.
fn unrepresentable(what: &str) -> buffdb::Error {
    buffdb::Error::new(buffdb::ErrorCode::InvalidArgument, format!("{what} cannot be passed to the Rust API"))
}

/// An integer argument: a JSON number or `{"int": "digits"}`, which must fit in a u64.
fn int(v: &J, vars: &HashMap<String, J>) -> buffdb::Result<u64> {
    let v = resolve(v, vars);
    let n = match &v {
        J::Number(n) => n.as_u64(),
        J::Object(o) if o.contains_key("int") => o["int"].as_str().unwrap().parse::<u64>().ok(),
        other => panic!("not an integer: {other}"),
    };
    n.ok_or_else(|| unrepresentable(&format!("the integer {v}")))
}

/// A text argument (path, metadata) from a string or a bytes spec, which must be UTF-8.
fn text(v: &J) -> buffdb::Result<String> {
    String::from_utf8(bytes(v)).map_err(|_| unrepresentable("text that is not UTF-8"))
}

fn ids(step: &J, vars: &HashMap<String, J>) -> buffdb::Result<Vec<u64>> {
    step["ids"].as_array().unwrap().iter().map(|v| int(v, vars)).collect()
}

fn resolve(v: &J, vars: &HashMap<String, J>) -> J {
    match v {
        J::String(s) if s.starts_with('$') && vars.contains_key(&s[1..]) => vars[&s[1..]].clone(),
        // Lists of saved values (blob ids found by an index).
        J::Array(a) => J::Array(a.iter().map(|v| resolve(v, vars)).collect()),
        _ => v.clone(),
    }
}

fn keys(step: &J) -> Vec<Vec<u8>> {
    step["keys"].as_array().unwrap().iter().map(bytes).collect()
}

/// Where a case's database ops run: the database itself or a transaction on it
/// (every op of [`Ops`] is on both; only the `txn` op needs the database).
trait Target: Ops {
    fn db(&self) -> Option<&Db>;
}
impl Target for Db {
    fn db(&self) -> Option<&Db> {
        Some(self)
    }
}
impl Target for Txn {
    fn db(&self) -> Option<&Db> {
        None
    }
}

fn run_op<T: Target>(t: &T, step: &J, vars: &mut HashMap<String, J>) -> buffdb::Result<J> {
    let s = |k: &str| step.get(k);
    let path = || text(&step["path"]);
    let id = || int(&step["id"], vars);
    let prefix = || s("prefix").map(bytes).unwrap_or_default();
    // (`find_range`'s start_after is an entry: {"value": .., "key" | "blob" | "path": ..})
    let after = opt_bytes(s("start_after").filter(|a| a.get("value").is_none()));
    let limit = match s("limit") {
        None | Some(J::Null) => None,
        Some(l) => Some(usize::try_from(int(l, vars)?).unwrap_or(usize::MAX)),
    };
    let metadata = || -> buffdb::Result<Option<String>> {
        match s("metadata") {
            None | Some(J::Null) => Ok(None),
            Some(m) => text(m).map(Some),
        }
    };
    Ok(match step["op"].as_str().unwrap() {
        "put" => t.put(&bytes(&step["key"]), &bytes(&step["value"])).map(|_| J::Null)?,
        "get" => t.get(&bytes(&step["key"]))?.map(b2j).unwrap_or(J::Null),
        "delete" => J::Bool(t.delete(&bytes(&step["key"]))?),
        "contains" => J::Bool(t.contains(&bytes(&step["key"]))?),
        "count" => json!(t.count(&prefix())?),
        "put_many" => {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> =
                step["pairs"].as_array().unwrap().iter().map(|p| (bytes(&p[0]), bytes(&p[1]))).collect();
            t.put_many(&pairs)?;
            J::Null
        }
        "get_many" => J::Array(t.get_many(&keys(step))?.into_iter().map(|v| v.map(b2j).unwrap_or(J::Null)).collect()),
        "eq" => J::Bool(t.eq(&keys(step))?),
        "not_eq" => J::Bool(t.not_eq(&keys(step))?),
        "scan" => {
            let rows: Vec<(Vec<u8>, Vec<u8>)> =
                t.scan(&prefix(), after.as_deref(), limit)?.collect::<Result<_, _>>()?;
            J::Array(rows.into_iter().map(|(k, v)| json!([b2j(k), b2j(v)])).collect())
        }
        "keys" => J::Array(t.keys(&prefix(), after.as_deref(), limit)?.map(|k| k.map(b2j)).collect::<Result<_, _>>()?),
        "blob_put" => {
            let md = metadata()?;
            json!(t.blob_put(&bytes(&step["data"]), md.as_deref())?)
        }
        "blob_get" => t.blob_get(id()?)?.map(b2j).unwrap_or(J::Null),
        "blob_metadata" => t.blob_metadata(id()?)?.map(J::String).unwrap_or(J::Null),
        "blob_update" => {
            let data = s("data").map(bytes);
            let md = metadata()?;
            let md: Option<Option<&str>> = s("metadata").map(|_| md.as_deref());
            t.blob_update(id()?, data.as_deref(), md)?;
            J::Null
        }
        "blob_delete" => J::Bool(t.blob_delete(id()?)?),
        "blob_eq" => J::Bool(t.blob_eq(&ids(step, vars)?)?),
        "blob_not_eq" => J::Bool(t.blob_not_eq(&ids(step, vars)?)?),
        "stream_write" => match s("metadata") {
            None => info_json(&t.stream_write(&path()?, &bytes(&step["data"]))?),
            Some(_) => info_json(&t.stream_write_with_metadata(&path()?, &bytes(&step["data"]), metadata()?.as_deref())?),
        },
        "stream_set_metadata" => info_json(&t.stream_set_metadata(&path()?, metadata()?.as_deref())?),
        "stream_versions_metadata" => {
            J::Array(t.stream_versions(&path()?)?.into_iter().map(|i| json!(i.metadata)).collect())
        }
        "stream_read" => b2j(t.stream_read(&path()?)?),
        "stream_read_range" => {
            b2j(t.stream_read_range(&path()?, int(&step["offset"], vars)?, int(&step["len"], vars)?)?)
        }
        "stream_read_version" => {
            let mut r = t.stream_open(&path()?, Some(int(&step["version"], vars)?))?;
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut out)?;
            b2j(out)
        }
        "stream_stat" => info_json(&t.stream_stat(&path()?)?),
        "stream_versions" => J::Array(t.stream_versions(&path()?)?.iter().map(|i| json!(i.version)).collect()),
        "stream_delete" => J::Bool(t.stream_delete(&path()?)?),
        "search" => {
            let after = s("start_after").map(text).transpose()?;
            J::Array(
                t.search(&text(&step["prefix"])?, after.as_deref(), limit)?
                    .map(|p| p.map(J::String))
                    .collect::<Result<_, _>>()?,
            )
        }
        "search_count" => json!(t.search_count(&text(&step["prefix"])?)?),
        "create_index" => {
            let prefix = opt_bytes(s("key_prefix"));
            let unique = s("unique").and_then(J::as_bool).unwrap_or(false);
            let (name, source, path) = (text(&step["name"])?, text(&step["source"])?, text(&step["json_path"])?);
            index_json(&t.create_index(&name, &source, &path, unique, prefix.as_deref())?)
        }
        "drop_index" => J::Bool(t.drop_index(&text(&step["name"])?)?),
        "list_indexes" => J::Array(t.list_indexes()?.iter().map(index_json).collect()),
        "find" => records(t.find(&text(&step["name"])?, &step["value"])?)?,
        "find_range" => {
            let after = s("start_after").map(|a| entry_arg(a, vars)).transpose()?;
            let reverse = s("reverse").and_then(J::as_bool).unwrap_or(false);
            let (low, high) = (s("low").filter(|v| !v.is_null()), s("high").filter(|v| !v.is_null()));
            records(t.find_range(&text(&step["name"])?, low, high, reverse, after.as_ref(), limit)?)?
        }
        "model_register" | "model_get" | "model_resolve" | "model_names" | "model_versions" | "model_delete"
        | "model_aliases" | "model_set_alias" | "model_read" => model_op(t, step, vars)?,
        "query" => {
            let params: Vec<Value> = s("params")
                .and_then(J::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| match p {
                            J::Null => Value::Null,
                            J::Number(n) if n.is_i64() => Value::Integer(n.as_i64().unwrap()),
                            J::Number(n) => Value::Real(n.as_f64().unwrap()),
                            J::String(s) => Value::Text(s.clone()),
                            other => Value::Blob(bytes(other)),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let res = t.query(step["sql"].as_str().unwrap(), &params)?;
            J::Array(
                res.rows
                    .into_iter()
                    .map(|row| {
                        J::Array(
                            row.into_iter()
                                .map(|v| match v {
                                    Value::Null => J::Null,
                                    Value::Integer(i) => json!(i),
                                    Value::Real(f) => json!(f),
                                    Value::Text(s) => J::String(s),
                                    Value::Blob(b) => b2j(b),
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            )
        }
        "txn" => {
            let db = t.db().expect("txn inside txn");
            let tx = db.begin()?;
            for inner in step["steps"].as_array().unwrap() {
                check_step(&tx, inner, vars);
            }
            if step["commit"].as_bool().unwrap() {
                tx.commit()?;
            } else {
                tx.rollback()?;
            }
            // Steps `after` use the finished transaction: commit and rollback take the
            // Txn by value, so Rust rules them out at compile time.
            J::Null
        }
        other => panic!("unknown op {other}"),
    })
}

/// The model registry's ops (tests/cases/README.md): records as their JSON.
fn model_op<T: Target>(t: &T, step: &J, vars: &HashMap<String, J>) -> buffdb::Result<J> {
    let arg = |k: &str| text(&step[k]);
    let record = |i: ModelInfo| serde_json::from_str::<J>(&i.to_json()).unwrap();
    Ok(match step["op"].as_str().unwrap() {
        "model_register" => {
            let mut info = step.get("info").cloned().unwrap_or_else(|| json!({}));
            info["name"] = J::String(arg("name")?);
            info["version"] = J::String(arg("version")?);
            let info: ModelInfo = serde_json::from_value(info).unwrap();
            let data: Vec<(String, Vec<u8>)> = step
                .get("files")
                .and_then(J::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), bytes(v))).collect())
                .unwrap_or_default();
            let mut readers: Vec<&[u8]> = data.iter().map(|(_, d)| d.as_slice()).collect();
            let mut files: Vec<(&str, &mut dyn std::io::Read)> =
                data.iter().zip(readers.iter_mut()).map(|((n, _), r)| (n.as_str(), r as &mut dyn std::io::Read)).collect();
            record(t.model_register_files(&info, &mut files)?)
        }
        "model_get" => record(t.model_get(&arg("name")?, &arg("version")?)?),
        "model_resolve" => json!(t.model_resolve(&arg("name")?, &arg("version")?)?),
        "model_names" => json!(t.model_names()?),
        "model_versions" => J::Array(t.model_versions(&arg("name")?)?.into_iter().map(|i| json!(i.version)).collect()),
        "model_delete" => J::Bool(t.model_delete(&arg("name")?, &arg("version")?)?),
        "model_aliases" => J::Array(t.model_aliases(&arg("name")?)?.into_iter().map(|(a, v)| json!([a, v])).collect()),
        "model_set_alias" => {
            let version = step.get("version").filter(|v| !v.is_null()).map(text).transpose()?;
            t.model_set_alias(&arg("name")?, &arg("alias")?, version.as_deref())?;
            J::Null
        }
        "model_read" => {
            use std::io::{Read, Seek, SeekFrom};
            let mut r = t.model_open(&arg("name")?, &arg("version")?, &arg("file")?)?;
            r.seek(SeekFrom::Start(step.get("offset").map(|o| int(o, vars)).transpose()?.unwrap_or(0)))?;
            let mut out = Vec::new();
            match step.get("len") {
                Some(n) => r.take(int(n, vars)?).read_to_end(&mut out)?,
                None => r.read_to_end(&mut out)?,
            };
            b2j(out)
        }
        other => panic!("unknown op {other}"),
    })
}

fn check_step<T: Target>(t: &T, step: &J, vars: &mut HashMap<String, J>) {
    if wrong_type(step) {
        return;
    }
    check_result(step, run_op(t, step, vars), vars);
}

/// Steps that pass an argument of the wrong type (a number for a key, ...): Rust's types
/// rule them out at compile time, so only the dynamic languages run them.
fn wrong_type(step: &J) -> bool {
    step.get("wrong_type").and_then(J::as_bool).unwrap_or(false)
}

/// Mismatches of the current case, all reported at its end (not only the first).
static FAILURES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn fail(msg: String) {
    FAILURES.lock().unwrap().push(msg);
}

fn check_result(step: &J, result: buffdb::Result<J>, vars: &mut HashMap<String, J>) {
    match (step.get("error"), result) {
        (Some(code), Err(e)) => {
            if e.code().name() != code.as_str().unwrap() {
                fail(format!("step {step}: expected {code}, got {e}"));
            }
        }
        (Some(code), Ok(v)) => fail(format!("step {step}: expected {code}, got {v}")),
        (None, Err(e)) => fail(format!("step {step}: unexpected error {e}")),
        (None, Ok(v)) => {
            if let Some(expect) = step.get("expect") {
                let expect = resolve(expect, vars);
                if !matches(&expect, &v) {
                    fail(format!("step {step}: expected {expect}, got {v}"));
                }
            }
            if let Some(name) = step.get("save").and_then(J::as_str) {
                vars.insert(name.to_string(), v);
            }
        }
    }
}

fn options(given: Option<&J>, vars: &HashMap<String, J>) -> buffdb::Result<OpenOptions> {
    let mut o = OpenOptions::default();
    let small = |v: &J, what: &str| -> buffdb::Result<u32> {
        u32::try_from(int(v, vars)?).map_err(|_| unrepresentable(&format!("{what} {v}")))
    };
    if let Some(m) = given.and_then(J::as_object) {
        for (k, v) in m {
            match k.as_str() {
                "chunk_size" => o.chunk_size = usize::try_from(int(v, vars)?).unwrap_or(usize::MAX),
                "versions_to_keep" => o.versions_to_keep = small(v, k)?,
                "page_size" => o.page_size = small(v, k)?,
                "cache_size" => o.cache_size = usize::try_from(int(v, vars)?).unwrap_or(usize::MAX),
                "max_document_size" => o.max_document_size = int(v, vars)?,
                "busy_timeout_ms" => o.busy_timeout_ms = int(v, vars)?,
                "compression" => o.compression = v.as_bool().unwrap(),
                "verify_checksums" => o.verify_checksums = v.as_bool().unwrap(),
                "create" => o.create = v.as_bool().unwrap(),
                "read_only" => o.read_only = v.as_bool().unwrap(),
                "durability" => o.durability = v.as_str().unwrap().parse()?,
                other => panic!("unknown option {other}"),
            }
        }
    }
    Ok(o)
}

/// A database path of the `open` op: relative to the case's directory, except "" (kept
/// as is). The bytes are the OS path exactly (they need not be UTF-8).
fn db_path(dir: &std::path::Path, v: &J) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let b = bytes(v);
    if b.is_empty() {
        return std::path::PathBuf::new();
    }
    dir.join(std::ffi::OsStr::from_bytes(&b))
}

/// One case: its directory, its database file and the handle open on it.
struct Case {
    dir: tempfile::TempDir,
    db: Db,
    /// Every database of the case is opened with this key (the encrypted run).
    key: Option<EncryptionKey>,
}

impl Case {
    fn options(&self, given: Option<&J>, vars: &HashMap<String, J>) -> buffdb::Result<OpenOptions> {
        options(given, vars).map(|o| OpenOptions { encryption_key: self.key.clone(), ..o })
    }

    fn file(&self) -> std::path::PathBuf {
        self.dir.path().join("case.db")
    }

    /// The ops on the case's handle and files (`close`, `reopen`, `open`, `write_file`,
    /// `read_file`; `txn` and `comment` are run here too).
    fn handle_step(&mut self, step: &J, vars: &mut HashMap<String, J>) {
        if wrong_type(step) {
            return;
        }
        let result = match step["op"].as_str().unwrap() {
            "comment" => return,
            "close" => self.db.close().map(|_| J::Null),
            "reopen" => {
                let _ = self.db.close();
                self.options(step.get("options"), vars).and_then(|o| Db::open(self.file(), o)).map(|db| {
                    self.db = db;
                    J::Null
                })
            }
            "open" => self
                .options(step.get("options"), vars)
                .and_then(|o| Db::open(db_path(self.dir.path(), &step["path"]), o))
                .and_then(|db| db.close())
                .map(|_| J::Null),
            "write_file" => {
                std::fs::write(db_path(self.dir.path(), &step["path"]), bytes(&step["data"])).unwrap();
                Ok(J::Null)
            }
            "read_file" => Ok(match std::fs::read(db_path(self.dir.path(), &step["path"])) {
                Ok(b) => b2j(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => J::Null,
                Err(e) => panic!("read_file: {e}"),
            }),
            _ => run_op(&self.db, step, vars),
        };
        check_result(step, result, vars);
    }

    /// A run of database ops, as `mode` says.
    fn segment(&mut self, steps: &[J], mode: Mode, vars: &mut HashMap<String, J>) {
        let on_db = |db: &Db, vars: &mut HashMap<String, J>| steps.iter().for_each(|s| check_step(db, s, vars));
        if mode == Mode::Db {
            return on_db(&self.db, vars);
        }
        // A handle that cannot begin (read-only, closed) has no transactions: the
        // steps test the database itself.
        let Ok(tx) = self.db.begin() else { return on_db(&self.db, vars) };
        let before = fingerprint(&self.db);
        steps.iter().for_each(|s| check_step(&tx, s, vars));
        match mode {
            Mode::Commit => {
                if let Err(e) = tx.commit() {
                    fail(format!("commit after {} steps failed: {e}", steps.len()));
                }
            }
            _ => {
                if let Err(e) = tx.rollback() {
                    fail(format!("rollback after {} steps failed: {e}", steps.len()));
                }
                let after = fingerprint(&self.db);
                if after != before {
                    fail(format!("rolled back steps left changes: {before:?} -> {after:?}"));
                }
                // The case goes on from the state the steps make.
                on_db(&self.db, vars);
            }
        }
    }
}

/// How a case's database ops run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Each on the database.
    Db,
    /// Each run of them in a transaction, committed: the same results.
    Commit,
    /// Each run of them in a transaction (the same results), rolled back (nothing
    /// visible afterwards), then again on the database.
    Rollback,
}

/// Ops on the handle or its files, and `txn` (a transaction of its own): never inside one.
const HANDLE_OPS: &[&str] = &["comment", "close", "reopen", "open", "write_file", "read_file", "txn"];

/// Everything the database holds, as the API shows it (or the error that stops it).
fn fingerprint(db: &Db) -> String {
    let all = || -> buffdb::Result<String> {
        let kv: Vec<_> = db.scan(b"", None, None)?.collect::<Result<_, _>>()?;
        let mut blobs = Vec::new();
        for id in db.blob_ids(None, None)? {
            blobs.push((id, db.blob_metadata(id)?, db.blob_get(id)?));
        }
        let mut streams = Vec::new();
        for path in db.search("", None, None)? {
            let path = path?;
            for v in db.stream_versions(&path)? {
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut db.stream_open(&path, Some(v.version))?, &mut data)?;
                streams.push((path.clone(), v.version, data));
            }
        }
        let indexes = db.list_indexes()?;
        let entries = db.query("SELECT name, value, quote(record) FROM index_entries ORDER BY 1, 2, 3", &[])?.rows;
        Ok(format!("{kv:?} {blobs:?} {streams:?} {indexes:?} {entries:?}"))
    };
    match all() {
        Ok(s) => s,
        Err(e) => format!("error {}", e.code().name()),
    }
}

fn run_case(file: &std::path::Path, mode: Mode, key: Option<&EncryptionKey>) -> Vec<String> {
    let case: J = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut vars = HashMap::new();
    let opts = OpenOptions { encryption_key: key.cloned(), ..options(case.get("options"), &vars).unwrap() };
    let db = Db::open(tmp.path().join("case.db"), opts).unwrap();
    let mut c = Case { dir: tmp, db, key: key.cloned() };
    let steps = case["steps"].as_array().unwrap();
    let mut i = 0;
    while i < steps.len() {
        if HANDLE_OPS.contains(&steps[i]["op"].as_str().unwrap()) {
            c.handle_step(&steps[i], &mut vars);
            i += 1;
            continue;
        }
        let end = (i..steps.len()).find(|&j| HANDLE_OPS.contains(&steps[j]["op"].as_str().unwrap()));
        let end = end.unwrap_or(steps.len());
        c.segment(&steps[i..end], mode, &mut vars);
        i = end;
    }
    c.db.close().unwrap();
    if key.is_some() && std::fs::read(c.file()).unwrap().starts_with(b"SQLite format 3") {
        fail("the encrypted run left a plaintext database file".into());
    }
    std::mem::take(&mut *FAILURES.lock().unwrap())
}

/// The case files of a directory, in name order.
fn case_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn shared_cases() {
    run_all(None);
}

/// The same cases on encrypted databases: every open of a case carries the key.
#[cfg(feature = "encryption")]
#[test]
fn shared_cases_encrypted() {
    run_all(Some(&EncryptionKey::passphrase("shared cases").unwrap()));
}

fn run_all(key: Option<&EncryptionKey>) {
    // FAILURES is one list: the plain and the encrypted run take turns.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files = case_files(&dir);
    // tests/cases/pending/: cases of operations not every binding has yet (see the README
    // there); Rust runs them already.
    files.extend(case_files(&dir.join("pending")));
    assert!(files.len() >= 8, "shared cases missing");
    let mut failed = Vec::new();
    for file in files {
        for mode in [Mode::Db, Mode::Commit, Mode::Rollback] {
            let failures = run_case(&file, mode, key);
            let name = file.file_name().unwrap().to_string_lossy();
            for f in &failures {
                eprintln!("{name} ({mode:?}): {}", f.chars().take(600).collect::<String>());
            }
            if failures.is_empty() {
                eprintln!("case {name} ({mode:?}{}) passed", if key.is_some() { ", encrypted" } else { "" });
            } else {
                failed.push(format!("{name} ({mode:?}, {} steps, key: {})", failures.len(), key.is_some()));
            }
        }
    }
    assert!(failed.is_empty(), "failed cases (steps listed above): {failed:?}");
}
