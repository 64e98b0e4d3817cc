//! `--remote ADDR`: the kv, blob, stream, search and query commands against a
//! `buffdb run` server, with the same output and exit codes as on a local file.

use std::io::{self, Write};

use buffdb::{Error, ErrorCode, Value};
use buffdb_server::client::Client;

use super::{print_info, read_all, yes_no, BlobCommand, Cli, Command, KvCommand, Outcome, StreamCommand, UpdateWhat};

pub fn run(cli: &Cli, addr: &str) -> Result<Outcome, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot start the client runtime: {e}")))?;
    runtime.block_on(async {
        let token = std::env::var("BUFFDB_TOKEN").ok().filter(|t| !t.is_empty());
        let mut c = Client::connect(addr, token.as_deref()).await?;
        let stdout = io::stdout();
        let mut out = stdout.lock();
        let outcome = command(&mut c, &cli.command, &mut out).await?;
        out.flush()?;
        Ok(outcome)
    })
}

/// FILE, or stdin for `-`, readable from the upload thread.
fn input(file: &str) -> Result<Box<dyn io::Read + Send>, Error> {
    if file == "-" {
        Ok(Box::new(io::stdin()))
    } else {
        let f = std::fs::File::open(file).map_err(|e| Error::new(ErrorCode::Io, format!("cannot read {file}: {e}")))?;
        Ok(Box::new(f))
    }
}

fn text(v: Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(s) => s,
        Value::Blob(b) => String::from_utf8(b.clone())
            .unwrap_or_else(|_| format!("x'{}'", b.iter().map(|x| format!("{x:02x}")).collect::<String>())),
    }
}

async fn command(c: &mut Client, cmd: &Command, out: &mut impl Write) -> Result<Outcome, Error> {
    Ok(match cmd {
        Command::Kv(cmd) => match cmd {
            KvCommand::Get { key } => match c.get(key.as_bytes()).await? {
                Some(v) => {
                    out.write_all(&v)?;
                    out.write_all(b"\n")?;
                    Outcome::Ok
                }
                None => Outcome::No(format!("key {key:?} not found")),
            },
            KvCommand::Set { key, value } => {
                let v = if value == "-" { read_all("-")? } else { value.clone().into_bytes() };
                c.put(key.as_bytes(), &v).await?;
                Outcome::Ok
            }
            KvCommand::Delete { key } => {
                if c.delete(key.as_bytes()).await? {
                    Outcome::Ok
                } else {
                    Outcome::No(format!("key {key:?} not found"))
                }
            }
            KvCommand::Eq { keys } => yes_no(c.kv_compare(keys, false).await?),
            KvCommand::NotEq { keys } => yes_no(c.kv_compare(keys, true).await?),
            KvCommand::Scan { prefix, limit, start_after } => {
                c.scan(prefix.as_bytes(), start_after.as_deref().map(str::as_bytes), *limit, |k, v| {
                    out.write_all(k)?;
                    out.write_all(b"\t")?;
                    out.write_all(v)?;
                    out.write_all(b"\n")?;
                    Ok(())
                })
                .await?;
                Outcome::Ok
            }
        },
        Command::Blob(cmd) => match cmd {
            BlobCommand::Get { id } => match c.blob_get_to(*id, out).await {
                Ok(()) => Outcome::Ok,
                Err(e) if e.code() == ErrorCode::NotFound => Outcome::No(format!("blob {id} not found")),
                Err(e) => return Err(e),
            },
            BlobCommand::Store { file, metadata } => {
                let id = c.blob_put_from(input(file)?, metadata.as_deref()).await?;
                writeln!(out, "{id}")?;
                Outcome::Ok
            }
            BlobCommand::Update { id, what } => {
                let (data, md) = match what {
                    UpdateWhat::Data { file } => (Some(read_all(file)?), None),
                    UpdateWhat::Metadata { metadata } => (None, Some(metadata.clone())),
                    UpdateWhat::All { file, metadata } => (Some(read_all(file)?), Some(metadata.clone())),
                };
                c.blob_update(*id, data, md).await?;
                Outcome::Ok
            }
            BlobCommand::Delete { id } => {
                if c.blob_delete(*id).await? {
                    Outcome::Ok
                } else {
                    Outcome::No(format!("blob {id} not found"))
                }
            }
            BlobCommand::EqData { ids } => yes_no(c.blob_compare(ids, false).await?),
            BlobCommand::NotEqData { ids } => yes_no(c.blob_compare(ids, true).await?),
        },
        Command::Stream(cmd) => match cmd {
            StreamCommand::Put { path, file, compress } => {
                print_info(&c.stream_put_from(path, input(file)?, Some(*compress)).await?);
                Outcome::Ok
            }
            StreamCommand::Get { path, version, output } => {
                match output {
                    Some(file) => {
                        let f = std::fs::File::create(file)
                            .map_err(|e| Error::new(ErrorCode::Io, format!("cannot write {}: {e}", file.display())))?;
                        let mut w = io::BufWriter::with_capacity(1 << 20, f);
                        c.stream_get_to(path, *version, &mut w).await?;
                        w.flush()?;
                    }
                    None => c.stream_get_to(path, *version, out).await?,
                }
                Outcome::Ok
            }
            StreamCommand::Stat { path } => {
                print_info(&c.stream_stat(path).await?);
                Outcome::Ok
            }
            StreamCommand::Versions { path } => {
                let versions = c.stream_versions(path).await?;
                if versions.is_empty() {
                    return Ok(Outcome::No(format!("stream {path:?} not found")));
                }
                for v in versions {
                    writeln!(out, "{}\t{}\t{:08x}\t{}", v.version, v.size, v.crc32, v.created_ms)?;
                }
                Outcome::Ok
            }
            StreamCommand::Delete { path } => {
                if c.stream_delete(path).await? {
                    Outcome::Ok
                } else {
                    Outcome::No(format!("stream {path:?} not found"))
                }
            }
        },
        Command::Search { prefix, limit, start_after } => {
            c.search(prefix, start_after.as_deref(), *limit, |p| Ok(writeln!(out, "{p}")?)).await?;
            Outcome::Ok
        }
        Command::Query { sql, params, timeout_ms, max_rows } => {
            // The server runs queries with the engine's default limits, which are the
            // CLI's defaults; other limits cannot be asked for remotely yet.
            let defaults = buffdb::QueryOptions::default();
            if u128::from(*timeout_ms) != defaults.timeout.as_millis() || *max_rows != defaults.max_rows {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    "--timeout-ms and --max-rows are not supported with --remote (the server uses the defaults)",
                ));
            }
            let params: Vec<Value> = params.iter().map(|p| Value::Text(p.clone())).collect();
            let mut rows = Vec::new();
            let mut header = Vec::new();
            c.query(
                sql,
                &params,
                |cols| {
                    header = cols.to_vec();
                    Ok(())
                },
                |row| {
                    rows.push(row);
                    Ok(())
                },
            )
            .await?;
            writeln!(out, "{}", header.join("\t"))?;
            for row in rows {
                writeln!(out, "{}", row.into_iter().map(text).collect::<Vec<_>>().join("\t"))?;
            }
            Outcome::Ok
        }
        Command::Stats | Command::Check | Command::Demo { .. } | Command::Run(_) => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "--remote works with kv, blob, stream, search and query (run stats and check where the file is)",
            ))
        }
    })
}
