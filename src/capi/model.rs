//! The model registry (`buffdb::Models`, on a database and in a transaction).
//!
//! Records, lists and aliases come back as JSON text (the stored record: the earlier
//! BuffDB's field names plus `files`) in the caller's buffer, as buffdb_get returns a
//! value: not NUL-terminated, `*len` its length, `BUFFDB_BUFFER_TOO_SMALL` with the
//! needed length in `*len` when it does not fit. A file opens as a `buffdb_reader`.
use std::ffi::c_char;

use super::*;
use crate::{ModelInfo, Models};

/// One file of a model version to register (buffdb_model_register): its name inside
/// the model (`config.json`, `onnx/model.onnx`) and its bytes, borrowed for the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct buffdb_model_file_data {
    pub name: *const c_char,
    pub data: *const u8,
    pub len: usize,
}

// ---------------------------------------------------------------------------------------
// The operations, once each (on a database or a transaction)

unsafe fn register(
    o: &impl Ops,
    name: *const c_char,
    version: *const c_char,
    info_json: *const c_char,
    files: *const buffdb_model_file_data,
    n_files: usize,
) -> Result<()> {
    let (name, version) = (string(name, "name")?, string(version, "version")?);
    let mut fields = match opt_string(info_json, "info_json")? {
        None => serde_json::Map::new(),
        Some(j) => match serde_json::from_str(j) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return Err(invalid("info_json must be a JSON object of record fields")),
        },
    };
    fields.insert("name".into(), name.into());
    fields.insert("version".into(), version.into());
    let info = ModelInfo::from_json_value(serde_json::Value::Object(fields))?;
    let mut data = Vec::new();
    for (i, f) in array(files, n_files, "files")?.iter().enumerate() {
        data.push((string(f.name, &format!("files[{i}].name"))?, bytes(f.data, f.len, &format!("files[{i}].data"))?));
    }
    let mut readers: Vec<&[u8]> = data.iter().map(|(_, d)| *d).collect();
    let mut files: Vec<(&str, &mut dyn std::io::Read)> =
        data.iter().zip(readers.iter_mut()).map(|((n, _), r)| (*n, r as &mut dyn std::io::Read)).collect();
    o.model_register_files(&info, &mut files).map(drop)
}

/// JSON text into the caller's buffer.
unsafe fn json_out(text: &str, buf: *mut c_char, cap: usize, len: &Out<usize>) -> Result<()> {
    copy_out(text.as_bytes(), bytes_mut(buf.cast(), cap, "buf")?, len, "the JSON text")
}

unsafe fn get(o: &impl Ops, name: *const c_char, version: *const c_char, buf: *mut c_char, cap: usize, len: *mut usize) -> Result<()> {
    let len = Out::new(len, "len")?;
    json_out(&o.model_get(string(name, "name")?, string(version, "version")?)?.to_json(), buf, cap, &len)
}

#[allow(clippy::too_many_arguments)]
unsafe fn resolve(
    o: &impl Ops,
    name: *const c_char,
    version: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
    found: *mut bool,
) -> Result<()> {
    let (len, found) = (Out::new(len, "len")?, Out::new(found, "found")?);
    let v = o.model_resolve(string(name, "name")?, string(version, "version")?)?;
    match &v {
        Some(v) => copy_out(v.as_bytes(), bytes_mut(buf.cast(), cap, "buf")?, &len, "the version")?,
        None => len.set(0),
    }
    found.set(v.is_some());
    Ok(())
}

unsafe fn names(o: &impl Ops, buf: *mut c_char, cap: usize, len: *mut usize) -> Result<()> {
    let len = Out::new(len, "len")?;
    json_out(&serde_json::Value::from(o.model_names()?).to_string(), buf, cap, &len)
}

unsafe fn versions(o: &impl Ops, name: *const c_char, buf: *mut c_char, cap: usize, len: *mut usize) -> Result<()> {
    let len = Out::new(len, "len")?;
    let all = o.model_versions(string(name, "name")?)?;
    json_out(&format!("[{}]", all.iter().map(ModelInfo::to_json).collect::<Vec<_>>().join(",")), buf, cap, &len)
}

unsafe fn delete(o: &impl Ops, name: *const c_char, version: *const c_char, existed: *mut bool) -> Result<()> {
    Out::opt(existed).set(o.model_delete(string(name, "name")?, string(version, "version")?)?);
    Ok(())
}

unsafe fn aliases(o: &impl Ops, name: *const c_char, buf: *mut c_char, cap: usize, len: *mut usize) -> Result<()> {
    let len = Out::new(len, "len")?;
    let all = o.model_aliases(string(name, "name")?)?;
    json_out(&crate::model::aliases_json(&all), buf, cap, &len)
}

unsafe fn set_alias(o: &impl Ops, name: *const c_char, alias: *const c_char, version: *const c_char) -> Result<()> {
    o.model_set_alias(string(name, "name")?, string(alias, "alias")?, opt_string(version, "version")?)
}

unsafe fn open(
    o: &impl Ops,
    name: *const c_char,
    version: *const c_char,
    file: *const c_char,
    out: *mut *mut buffdb_reader,
) -> Result<()> {
    let out = Out::new(out, "out")?;
    let r = o.model_open(string(name, "name")?, string(version, "version")?, string(file, "file")?)?;
    new_handle(&out, buffdb_reader { r });
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Exports: each operation on a database (buffdb_X) and in a transaction (buffdb_txn_X)

/// Registers version `version` of model `name` with its files, in one transaction: each
/// of the `n_files` files is written to the stream `/models/NAME/VERSION/FILE` with its
/// sha256 and size, the record (`info_json`: a JSON object of the other record fields,
/// e.g. `{"framework":"onnx","input_shape":[1,3]}`, or NULL) is stored at
/// `model:NAME:VERSION:metadata`, and the alias `latest` moves to this version.
/// BUFFDB_CONFLICT when the version exists; nothing is written on any failure.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_register(
    db: *const buffdb_db,
    name: *const c_char,
    version: *const c_char,
    info_json: *const c_char,
    files: *const buffdb_model_file_data,
    n_files: usize,
) -> buffdb_status {
    ffi(|| register(&db_ops(db)?, name, version, info_json, files, n_files))
}

/// buffdb_model_register inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_register(
    txn: *const buffdb_txn,
    name: *const c_char,
    version: *const c_char,
    info_json: *const c_char,
    files: *const buffdb_model_file_data,
    n_files: usize,
) -> buffdb_status {
    ffi(|| register(&txn_ops(txn)?, name, version, info_json, files, n_files))
}

/// The record (JSON) of `version`, or of the version the alias `version` names
/// (`"latest"`, `"prod"`), into `buf`; BUFFDB_NOT_FOUND when neither exists.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_get(
    db: *const buffdb_db,
    name: *const c_char,
    version: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| get(&db_ops(db)?, name, version, buf, cap, len))
}

/// buffdb_model_get inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_get(
    txn: *const buffdb_txn,
    name: *const c_char,
    version: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| get(&txn_ops(txn)?, name, version, buf, cap, len))
}

/// The version `version` stands for (itself when registered, else what the alias
/// names) into `buf` with `*found` true, or `*found` false and `*len` 0.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_resolve(
    db: *const buffdb_db,
    name: *const c_char,
    version: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
    found: *mut bool,
) -> buffdb_status {
    ffi(|| resolve(&db_ops(db)?, name, version, buf, cap, len, found))
}

/// buffdb_model_resolve inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_resolve(
    txn: *const buffdb_txn,
    name: *const c_char,
    version: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
    found: *mut bool,
) -> buffdb_status {
    ffi(|| resolve(&txn_ops(txn)?, name, version, buf, cap, len, found))
}

/// The names of the registered models, sorted, as a JSON array of strings.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_names(db: *const buffdb_db, buf: *mut c_char, cap: usize, len: *mut usize) -> buffdb_status {
    ffi(|| names(&db_ops(db)?, buf, cap, len))
}

/// buffdb_model_names inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_names(
    txn: *const buffdb_txn,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| names(&txn_ops(txn)?, buf, cap, len))
}

/// The records of a model's versions, oldest first, as a JSON array.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_versions(
    db: *const buffdb_db,
    name: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| versions(&db_ops(db)?, name, buf, cap, len))
}

/// buffdb_model_versions inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_versions(
    txn: *const buffdb_txn,
    name: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| versions(&txn_ops(txn)?, name, buf, cap, len))
}

/// Deletes a version: its record, the files it wrote, the aliases naming it (`latest`
/// moves to the newest version left). `*existed` (may be NULL) says whether it existed.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_delete(
    db: *const buffdb_db,
    name: *const c_char,
    version: *const c_char,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| delete(&db_ops(db)?, name, version, existed))
}

/// buffdb_model_delete inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_delete(
    txn: *const buffdb_txn,
    name: *const c_char,
    version: *const c_char,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| delete(&txn_ops(txn)?, name, version, existed))
}

/// A model's aliases as a JSON object alias -> version.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_aliases(
    db: *const buffdb_db,
    name: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| aliases(&db_ops(db)?, name, buf, cap, len))
}

/// buffdb_model_aliases inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_aliases(
    txn: *const buffdb_txn,
    name: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| aliases(&txn_ops(txn)?, name, buf, cap, len))
}

/// Points `alias` at `version` (which must exist: BUFFDB_NOT_FOUND) in one atomic
/// write; `version` NULL removes the alias.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_set_alias(
    db: *const buffdb_db,
    name: *const c_char,
    alias: *const c_char,
    version: *const c_char,
) -> buffdb_status {
    ffi(|| set_alias(&db_ops(db)?, name, alias, version))
}

/// buffdb_model_set_alias inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_set_alias(
    txn: *const buffdb_txn,
    name: *const c_char,
    alias: *const c_char,
    version: *const c_char,
) -> buffdb_status {
    ffi(|| set_alias(&txn_ops(txn)?, name, alias, version))
}

/// Opens the file `file` of a version (or alias) as a reader (`*out`, free with
/// buffdb_reader_free): buffdb_reader_seek / buffdb_reader_read_at read only the bytes
/// asked for. BUFFDB_NOT_FOUND when the version or the file is missing.
#[no_mangle]
pub unsafe extern "C" fn buffdb_model_open(
    db: *const buffdb_db,
    name: *const c_char,
    version: *const c_char,
    file: *const c_char,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| open(&db_ops(db)?, name, version, file, out))
}

/// buffdb_model_open inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_model_open(
    txn: *const buffdb_txn,
    name: *const c_char,
    version: *const c_char,
    file: *const c_char,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| open(&txn_ops(txn)?, name, version, file, out))
}
