//! Runs the shared JSON cases in tests/cases/ through the Rust API
//! (the C, Python and Node suites run the same files).

use std::collections::HashMap;

use buffdb::{Db, OpenOptions, StreamInfo, Txn, Value};
use serde_json::{json, Value as J};

fn bytes(v: &J) -> Vec<u8> {
    match v {
        J::String(s) => s.as_bytes().to_vec(),
        J::Object(o) if o.contains_key("hex") => {
            let h = o["hex"].as_str().unwrap();
            (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
        }
        J::Object(o) if o.contains_key("repeat") => {
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
    json!({"path": i.path, "version": i.version, "size": i.size, "chunk_count": i.chunk_count, "crc32": i.crc32})
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

fn ids(step: &J, vars: &HashMap<String, J>) -> Vec<u64> {
    step["ids"].as_array().unwrap().iter().map(|v| resolve(v, vars).as_u64().unwrap()).collect()
}

fn resolve(v: &J, vars: &HashMap<String, J>) -> J {
    match v.as_str() {
        Some(s) if s.starts_with('$') => vars[&s[1..]].clone(),
        _ => v.clone(),
    }
}

fn keys(step: &J) -> Vec<Vec<u8>> {
    step["keys"].as_array().unwrap().iter().map(bytes).collect()
}

/// The ops a transaction supports, on either a Db or a Txn.
trait Target {
    fn db(&self) -> Option<&Db>;
    fn txn(&self) -> Option<&Txn>;
}
impl Target for Db {
    fn db(&self) -> Option<&Db> {
        Some(self)
    }
    fn txn(&self) -> Option<&Txn> {
        None
    }
}
impl Target for Txn {
    fn db(&self) -> Option<&Db> {
        None
    }
    fn txn(&self) -> Option<&Txn> {
        Some(self)
    }
}

macro_rules! either {
    ($t:expr, $m:ident ( $($a:expr),* )) => {
        match ($t.db(), $t.txn()) {
            (Some(d), _) => d.$m($($a),*),
            (_, Some(x)) => x.$m($($a),*),
            _ => unreachable!(),
        }
    };
}

fn run_op(t: &dyn Target, step: &J, vars: &mut HashMap<String, J>) -> buffdb::Result<J> {
    let s = |k: &str| step.get(k);
    let path = || {
        step["path"].as_str().map(str::to_string).unwrap_or_else(|| String::from_utf8(bytes(&step["path"])).unwrap())
    };
    let id = || resolve(&step["id"], vars).as_u64().unwrap();
    let prefix = || s("prefix").map(bytes).unwrap_or_default();
    let after = opt_bytes(s("start_after"));
    let limit = s("limit").and_then(J::as_u64).map(|l| l as usize);
    Ok(match step["op"].as_str().unwrap() {
        "put" => either!(t, put(&bytes(&step["key"]), &bytes(&step["value"]))).map(|_| J::Null)?,
        "get" => either!(t, get(&bytes(&step["key"])))?.map(b2j).unwrap_or(J::Null),
        "delete" => J::Bool(either!(t, delete(&bytes(&step["key"])))?),
        "contains" => J::Bool(either!(t, contains(&bytes(&step["key"])))?),
        "count" => json!(either!(t, count(&prefix()))?),
        "put_many" => {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> =
                step["pairs"].as_array().unwrap().iter().map(|p| (bytes(&p[0]), bytes(&p[1]))).collect();
            either!(t, put_many(&pairs))?;
            J::Null
        }
        "get_many" => J::Array(
            t.db().unwrap().get_many(&keys(step))?.into_iter().map(|v| v.map(b2j).unwrap_or(J::Null)).collect(),
        ),
        "eq" => J::Bool(t.db().unwrap().eq(&keys(step))?),
        "not_eq" => J::Bool(t.db().unwrap().not_eq(&keys(step))?),
        "scan" => {
            let rows: Vec<(Vec<u8>, Vec<u8>)> = match (t.db(), t.txn()) {
                (Some(d), _) => d.scan(&prefix(), after.as_deref(), limit)?.collect::<Result<_, _>>()?,
                (_, Some(x)) => x.scan(&prefix(), after.as_deref(), limit)?,
                _ => unreachable!(),
            };
            J::Array(rows.into_iter().map(|(k, v)| json!([b2j(k), b2j(v)])).collect())
        }
        "keys" => J::Array(
            t.db().unwrap().keys(&prefix(), after.as_deref(), limit)?.map(|k| k.map(b2j)).collect::<Result<_, _>>()?,
        ),
        "blob_put" => {
            let md = s("metadata").and_then(J::as_str);
            json!(either!(t, blob_put(&bytes(&step["data"]), md))?)
        }
        "blob_get" => either!(t, blob_get(id()))?.map(b2j).unwrap_or(J::Null),
        "blob_metadata" => either!(t, blob_metadata(id()))?.map(J::String).unwrap_or(J::Null),
        "blob_update" => {
            let data = s("data").map(bytes);
            let md: Option<Option<&str>> = s("metadata").map(|m| m.as_str());
            either!(t, blob_update(id(), data.as_deref(), md))?;
            J::Null
        }
        "blob_delete" => J::Bool(either!(t, blob_delete(id()))?),
        "blob_eq" => J::Bool(t.db().unwrap().blob_eq(&ids(step, vars))?),
        "blob_not_eq" => J::Bool(t.db().unwrap().blob_not_eq(&ids(step, vars))?),
        "stream_write" => info_json(&either!(t, stream_write(&path(), &bytes(&step["data"])))?),
        "stream_read" => b2j(either!(t, stream_read(&path()))?),
        "stream_read_range" => b2j(t.db().unwrap().stream_read_range(
            &path(),
            step["offset"].as_u64().unwrap(),
            step["len"].as_u64().unwrap(),
        )?),
        "stream_read_version" => {
            let mut r = t.db().unwrap().stream_open(&path(), Some(step["version"].as_u64().unwrap()))?;
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut out)?;
            b2j(out)
        }
        "stream_stat" => info_json(&either!(t, stream_stat(&path()))?),
        "stream_versions" => {
            J::Array(t.db().unwrap().stream_versions(&path())?.iter().map(|i| json!(i.version)).collect())
        }
        "stream_delete" => J::Bool(either!(t, stream_delete(&path()))?),
        "search" => {
            let after = s("start_after").and_then(J::as_str);
            J::Array(
                t.db()
                    .unwrap()
                    .search(&path_prefix(step), after, limit)?
                    .map(|p| p.map(J::String))
                    .collect::<Result<_, _>>()?,
            )
        }
        "search_count" => json!(t.db().unwrap().search_count(&path_prefix(step))?),
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
            let res = t.db().unwrap().query(step["sql"].as_str().unwrap(), &params)?;
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
            J::Null
        }
        other => panic!("unknown op {other}"),
    })
}

fn path_prefix(step: &J) -> String {
    step["prefix"].as_str().unwrap().to_string()
}

fn check_step(t: &dyn Target, step: &J, vars: &mut HashMap<String, J>) {
    let result = run_op(t, step, vars);
    match (step.get("error"), result) {
        (Some(code), Err(e)) => assert_eq!(e.code().name(), code.as_str().unwrap(), "step {step}: {e}"),
        (Some(code), Ok(v)) => panic!("step {step}: expected {code}, got {v}"),
        (None, Err(e)) => panic!("step {step}: unexpected error {e}"),
        (None, Ok(v)) => {
            if let Some(expect) = step.get("expect") {
                let expect = resolve(expect, vars);
                assert!(matches(&expect, &v), "step {step}: expected {expect}, got {v}");
            }
            if let Some(name) = step.get("save").and_then(J::as_str) {
                vars.insert(name.to_string(), v);
            }
        }
    }
}

fn options(case: &J) -> OpenOptions {
    let mut o = OpenOptions::default();
    if let Some(m) = case.get("options").and_then(J::as_object) {
        for (k, v) in m {
            match k.as_str() {
                "chunk_size" => o.chunk_size = v.as_u64().unwrap() as usize,
                "versions_to_keep" => o.versions_to_keep = v.as_u64().unwrap() as u32,
                "compression" => o.compression = v.as_bool().unwrap(),
                "verify_checksums" => o.verify_checksums = v.as_bool().unwrap(),
                other => panic!("unknown option {other}"),
            }
        }
    }
    o
}

#[test]
fn shared_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "shared cases missing");
    for file in files {
        let case: J = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let db = Db::open(tmp.path().join("case.db"), options(&case)).unwrap();
        let mut vars = HashMap::new();
        for step in case["steps"].as_array().unwrap() {
            check_step(&db, step, &mut vars);
        }
        db.close().unwrap();
        eprintln!("case {} passed", case["name"]);
    }
}
