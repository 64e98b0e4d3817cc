//! `buffdb model`: the model registry (register, list, show, delete, alias, inspect).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use buffdb::{Error, ErrorCode, ModelInfo};
use clap::Subcommand;

use super::Outcome;
use crate::store::{Input, Store};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Register VERSION of model NAME with its files (each stored at
    /// /models/NAME/VERSION/FILE with its size and sha256), all in one transaction;
    /// `latest` moves to it.
    Register {
        name: String,
        version: String,
        /// Files to store: PATH (named by its file name) or NAME=PATH.
        #[arg(required = true)]
        files: Vec<String>,
        #[arg(long, default_value = "")]
        framework: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A parameter KEY=VALUE (repeatable).
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// List the models, or NAME's versions (version, created, files, bytes, aliases).
    List { name: Option<String> },
    /// Print the record of NAME at VERSION or alias (default `latest`) as JSON.
    Show {
        name: String,
        #[arg(default_value = buffdb::LATEST)]
        version: String,
    },
    /// Delete VERSION of NAME with its files (exit 1 when it did not exist).
    Delete { name: String, version: String },
    /// Point ALIAS of NAME at VERSION (atomically), or remove it with --remove;
    /// without either, print NAME's aliases.
    Alias {
        name: String,
        alias: Option<String>,
        version: Option<String>,
        #[arg(long, conflicts_with = "version")]
        remove: bool,
    },
    /// Print each tensor's dtype and shape from a .safetensors file of NAME at VERSION
    /// (default `latest`), reading only its header.
    Inspect {
        name: String,
        #[arg(default_value = buffdb::LATEST)]
        version: String,
        /// The file (default: the first .safetensors file).
        #[arg(long)]
        file: Option<String>,
    },
}

fn bad_header(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::Corrupt, format!("not a safetensors header: {e}"))
}

pub fn run(cmd: &ModelCommand, db: &dyn Store, out: &mut dyn Write) -> Result<Outcome, Error> {
    match cmd {
        ModelCommand::Register { name, version, files, framework, description, params } => {
            let mut info = ModelInfo::new(name, version);
            info.framework = framework.clone();
            info.description = description.clone();
            for p in params {
                let (k, v) = p
                    .split_once('=')
                    .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("--param {p:?} is not KEY=VALUE")))?;
                info.parameters.insert(k.to_string(), v.to_string());
            }
            // Opened before the store is written: a missing file changes nothing.
            let mut opened: Vec<(String, Input)> = Vec::new();
            for f in files {
                let (fname, path) = match f.split_once('=') {
                    Some((n, p)) => (n.to_string(), PathBuf::from(p)),
                    None => {
                        let p = PathBuf::from(f);
                        let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                        (n, p)
                    }
                };
                let file = std::fs::File::open(&path)
                    .map_err(|e| Error::new(ErrorCode::Io, format!("cannot read {}: {e}", path.display())))?;
                opened.push((fname, Box::new(file)));
            }
            let info = db.model_register_files(&info, opened)?;
            for f in &info.files {
                writeln!(out, "{}\t{}\t{}\t{}", f.name, f.size, f.sha256, f.path)?;
            }
            Ok(Outcome::Ok)
        }
        ModelCommand::List { name: None } => {
            for (n, latest) in db.model_list()? {
                writeln!(out, "{n}\t{latest}")?;
            }
            Ok(Outcome::Ok)
        }
        ModelCommand::List { name: Some(name) } => {
            let versions = db.model_versions(name)?;
            if versions.is_empty() {
                return Ok(Outcome::No(format!("no model {name}")));
            }
            let aliases = db.model_aliases(name)?;
            for v in versions {
                let names: Vec<&str> =
                    aliases.iter().filter(|(_, ver)| **ver == v.version).map(|(a, _)| a.as_str()).collect();
                let bytes: u64 = v.files.iter().map(|f| f.size).sum();
                writeln!(out, "{}\t{}\t{}\t{}\t{}", v.version, v.created_at, v.files.len(), bytes, names.join(","))?;
            }
            Ok(Outcome::Ok)
        }
        ModelCommand::Show { name, version } => {
            let info = db.model_get(name, version)?;
            let v: serde_json::Value = serde_json::from_str(&info.to_json()).expect("a record is JSON");
            writeln!(out, "{}", serde_json::to_string_pretty(&v).expect("JSON prints"))?;
            Ok(Outcome::Ok)
        }
        ModelCommand::Delete { name, version } => Ok(if db.model_delete(name, version)? {
            Outcome::Ok
        } else {
            Outcome::No(format!("no model {name} version {version}"))
        }),
        ModelCommand::Alias { name, alias: None, .. } => {
            for (a, v) in db.model_aliases(name)? {
                writeln!(out, "{a}\t{v}")?;
            }
            Ok(Outcome::Ok)
        }
        ModelCommand::Alias { name, alias: Some(alias), version, remove } => {
            if version.is_none() && !remove {
                return Err(Error::new(ErrorCode::InvalidArgument, "give VERSION, or --remove"));
            }
            db.model_set_alias(name, alias, version.as_deref())?;
            Ok(Outcome::Ok)
        }
        ModelCommand::Inspect { name, version, file } => {
            let info = db.model_get(name, version)?;
            let fname = match file {
                Some(f) => f.clone(),
                None => {
                    info.files.iter().find(|f| f.name.ends_with(".safetensors")).map(|f| f.name.clone()).ok_or_else(
                        || Error::new(ErrorCode::NotFound, format!("no .safetensors file in {name} {}", info.version)),
                    )?
                }
            };
            let mut r = db.model_open(name, &info.version, &fname)?;
            // The header: an 8-byte little-endian length, then that much JSON.
            let mut len = [0u8; 8];
            r.read_exact(&mut len)?;
            let len = u64::from_le_bytes(len);
            if len > 100 << 20 || 8 + len > r.size() {
                return Err(Error::new(ErrorCode::Corrupt, format!("{fname}: a header of {len} bytes does not fit")));
            }
            let mut header = vec![0u8; len as usize];
            r.seek(SeekFrom::Start(8))?;
            r.read_exact(&mut header)?;
            let tensors: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&header).map_err(bad_header)?;
            writeln!(out, "{fname}: {} bytes, header {len} bytes", r.size())?;
            for (k, v) in &tensors {
                if k == "__metadata__" {
                    writeln!(out, "__metadata__\t{v}")?;
                    continue;
                }
                let dtype = v.get("dtype").and_then(|d| d.as_str());
                let shape = v.get("shape").filter(|s| s.is_array());
                let (Some(dtype), Some(shape)) = (dtype, shape) else {
                    return Err(bad_header(format!("tensor {k} lacks a dtype or a shape")));
                };
                writeln!(out, "{k}\t{dtype}\t{shape}")?;
            }
            Ok(Outcome::Ok)
        }
    }
}
