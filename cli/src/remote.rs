//! `--remote ADDR`: the kv, blob, stream, search and query commands against a
//! `buffdb run` server, with the same output and exit codes as on a local file.

use std::io::{self, Write};
use std::time::Duration;

use buffdb::{Error, ErrorCode, Value};
use buffdb_server::client::Client;

use super::{print, read_all, BlobCommand, Cli, Command, KvCommand, Outcome, StreamCommand};

pub fn run(cli: &Cli, addr: &str) -> Result<Outcome, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot start the client runtime: {e}")))?;
    runtime.block_on(async {
        let token = std::env::var("BUFFDB_TOKEN").ok().filter(|t| !t.is_empty());
        let ca = match &cli.ca_cert {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                Error::new(ErrorCode::InvalidArgument, format!("cannot read --ca-cert {}: {e}", path.display()))
            })?),
            None => None,
        };
        let mut c = Client::connect_with(addr, token.as_deref(), ca.as_deref()).await?;
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

async fn command(c: &mut Client, cmd: &Command, out: &mut impl Write) -> Result<Outcome, Error> {
    Ok(match cmd {
        Command::Kv(cmd) => match cmd {
            KvCommand::Get { key } => match c.get(key.as_bytes()).await? {
                Some(v) => {
                    print::value(out, &v)?;
                    Outcome::Ok
                }
                None => print::no_key(key),
            },
            KvCommand::Set { key, value } => {
                let v = if value == "-" { read_all("-")? } else { value.clone().into_bytes() };
                c.put(key.as_bytes(), &v).await?;
                Outcome::Ok
            }
            KvCommand::Delete { key } => print::found(c.delete(key.as_bytes()).await?, print::no_key(key)),
            KvCommand::Eq { keys } => print::yes_no(out, c.kv_compare(keys, false).await?)?,
            KvCommand::NotEq { keys } => print::yes_no(out, c.kv_compare(keys, true).await?)?,
            KvCommand::Scan { prefix, limit, start_after } => {
                c.scan(prefix.as_bytes(), start_after.as_deref().map(str::as_bytes), *limit, |k, v| {
                    Ok(print::pair(out, k, v)?)
                })
                .await?;
                Outcome::Ok
            }
        },
        Command::Blob(cmd) => match cmd {
            BlobCommand::Get { id } => match c.blob_get_to(*id, out).await {
                Ok(()) => Outcome::Ok,
                Err(e) if e.code() == ErrorCode::NotFound => print::no_blob(*id),
                Err(e) => return Err(e),
            },
            BlobCommand::Store { file, metadata } => {
                let id = c.blob_put_from(input(file)?, metadata.as_deref()).await?;
                writeln!(out, "{id}")?;
                Outcome::Ok
            }
            BlobCommand::Update { id, what } => {
                let (data, md) = what.read()?;
                c.blob_update(*id, data, md).await?;
                Outcome::Ok
            }
            BlobCommand::Delete { id } => print::found(c.blob_delete(*id).await?, print::no_blob(*id)),
            BlobCommand::EqData { ids } => print::yes_no(out, c.blob_compare(ids, false).await?)?,
            BlobCommand::NotEqData { ids } => print::yes_no(out, c.blob_compare(ids, true).await?)?,
        },
        Command::Stream(cmd) => match cmd {
            StreamCommand::Put { path, file, compress, metadata } => {
                print::info(out, &c.stream_put_from(path, input(file)?, Some(*compress), metadata.as_deref()).await?)?;
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
                print::info(out, &c.stream_stat(path).await?)?;
                Outcome::Ok
            }
            StreamCommand::Versions { path } => print::versions(out, path, &c.stream_versions(path).await?)?,
            StreamCommand::Delete { path } => print::found(c.stream_delete(path).await?, print::no_stream(path)),
        },
        Command::Search { prefix, limit, start_after } => {
            c.search(prefix, start_after.as_deref(), *limit, |p| Ok(writeln!(out, "{p}")?)).await?;
            Outcome::Ok
        }
        Command::Query { sql, params, timeout_ms, max_rows } => {
            let params: Vec<Value> = params.iter().map(|p| Value::Text(p.clone())).collect();
            let mut table = print::Table::new(&mut *out);
            let columns = c
                // Limits only when asked for: the server streams rows without a row limit
                // and caps the time at its own.
                .query_with(sql, &params, timeout_ms.map(Duration::from_millis), *max_rows, |columns, row| {
                    if table.row(columns, row) {
                        Ok(())
                    } else {
                        Err(Error::new(ErrorCode::Io, "cannot write the rows"))
                    }
                })
                .await;
            match columns {
                Ok(columns) => table.finish(&columns)?,
                Err(e) => {
                    table.error()?; // a write error says more than the stop it caused
                    return Err(e);
                }
            }
            Outcome::Ok
        }
        Command::Stats
        | Command::Check
        | Command::Demo { .. }
        | Command::Run(_)
        | Command::Assets(_)
        | Command::Replicate(_)
        | Command::Restore(_)
        | Command::Model(_)
        | Command::Hf(_)
        | Command::Indexes(_) => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "--remote works with kv, blob, stream, search and query (run stats, check, replicate and restore where the file is)",
            ))
        }
    })
}
