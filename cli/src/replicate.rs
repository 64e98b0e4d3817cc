//! `buffdb replicate` and `buffdb restore`: continuous replication, restore and read
//! replicas through Litestream (the engine's `buffdb::replicate`; docs/replication.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use buffdb::replicate::{self, Follower, Replication, RestoreOptions};
use buffdb::{Error, ErrorCode};
use clap::Args;

/// Replicate the store continuously with Litestream (found on PATH or through
/// BUFFDB_LITESTREAM), restarted whenever it dies, until Ctrl-C or SIGTERM, which
/// it passes on so the last transactions are shipped. Prints the position and lag.
#[derive(Args)]
pub struct ReplicateArgs {
    /// Where to: nats://[user:pass@]host:port/BUCKET, file:///DIR, s3://BUCKET/PATH, ...
    /// (Litestream 0.5 takes one replica per database).
    #[arg(required = true, value_name = "REPLICA_URL")]
    pub urls: Vec<String>,
    /// Seconds between position lines.
    #[arg(long, default_value_t = 5)]
    pub every: u64,
}

/// Restore a replica into FILE: its newest state, or the state at --timestamp or
/// --txid; with --follow, keep FILE current as a read replica (open it read-only).
#[derive(Args)]
pub struct RestoreArgs {
    #[arg(value_name = "REPLICA_URL")]
    pub url: String,
    /// The file to write (it must not exist unless --force).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The state at this time (RFC 3339, e.g. 2026-12-06T03:00:00Z).
    #[arg(long, conflicts_with_all = ["txid", "follow"])]
    pub timestamp: Option<String>,
    /// The state at this transaction id (as `replicate` prints it).
    #[arg(long, conflicts_with = "follow")]
    pub txid: Option<u64>,
    /// Keep FILE current until Ctrl-C or SIGTERM, printing each new position.
    #[arg(long)]
    pub follow: bool,
    /// Poll the replica this often with --follow, in ms.
    #[arg(long, default_value_t = 500, requires = "follow")]
    pub interval_ms: u64,
    /// Replace FILE when it exists.
    #[arg(long)]
    pub force: bool,
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot start the runtime: {e}")))
}

/// Runs `tick` every `every` until SIGINT or SIGTERM.
fn until_stopped(every: Duration, mut tick: impl FnMut()) -> Result<(), Error> {
    runtime()?.block_on(async {
        let stop = crate::runtime::stop_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(every) => tick(),
            }
        }
    });
    Ok(())
}

pub fn replicate(args: &ReplicateArgs, store: &Path) -> Result<(), Error> {
    if args.urls.len() > 1 {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "Litestream 0.5 replicates a database to one replica: give one REPLICA_URL (two Litestreams on one \
             file would hold back each other's checkpoints)",
        ));
    }
    let url = &args.urls[0];
    let rep = Replication::start(store, url)?;
    eprintln!(
        "buffdb: replicating {} to {url} (litestream pid {}); Ctrl-C to stop",
        store.display(),
        rep.pid().unwrap_or(0)
    );
    let mut out = std::io::stdout();
    until_stopped(Duration::from_secs(args.every.max(1)), || {
        let line = match rep.position() {
            Ok(p) => format!(
                "txid {} replicated {} lag {:.1}s restarts {}",
                p.txid,
                p.replicated_txid,
                p.lag.as_secs_f64(),
                p.restarts
            ),
            Err(e) => format!("position unknown ({e}); litestream is being restarted"),
        };
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    })?;
    let last = rep.position().ok();
    rep.stop()?;
    match last {
        Some(p) => eprintln!("buffdb: stopped; litestream shipped its last frames (txid {})", p.txid),
        None => eprintln!("buffdb: stopped"),
    }
    Ok(())
}

pub fn restore(args: &RestoreArgs) -> Result<(), Error> {
    if !args.follow {
        let opts = RestoreOptions { timestamp: args.timestamp.clone(), txid: args.txid, force: args.force };
        replicate::restore(&args.url, &args.output, &opts)?;
        eprintln!("buffdb: restored {} into {}", args.url, args.output.display());
        return Ok(());
    }
    let f = Follower::start(&args.url, &args.output, args.force, Duration::from_millis(args.interval_ms.max(1)))?;
    let mut shown = f.position();
    println!("txid {}", shown.unwrap_or(0));
    eprintln!("buffdb: following {} into {} (open it read-only); Ctrl-C to stop", args.url, args.output.display());
    until_stopped(Duration::from_millis(200), || {
        let now = f.position();
        if now != shown {
            println!("txid {}", now.unwrap_or(0));
            let _ = std::io::stdout().flush();
            shown = now;
        }
    })?;
    f.stop()
}

/// `buffdb run --replicate URL`: replication for as long as the server runs.
pub fn for_server(url: Option<&str>, store: &Path) -> Result<Option<Replication>, Error> {
    url.map(|u| {
        let rep = Replication::start(store, u)?;
        eprintln!("buffdb: replicating {} to {u}", store.display());
        Ok(rep)
    })
    .transpose()
}
