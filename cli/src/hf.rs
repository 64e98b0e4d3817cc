//! `buffdb hf`: Hugging Face hub caches imported and exported, and the hub's
//! download protocol served (buffdb_server::hf).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use buffdb::{Db, Error, ErrorCode};
use buffdb_server::hf::{cache, serve, upstream::Upstream};
use clap::{Args, Subcommand};

use super::Outcome;

#[derive(Subcommand)]
pub enum HfCommand {
    /// Import a hub cache (DIR holds models--ORG--NAME/{blobs,refs,snapshots}, e.g.
    /// ~/.cache/huggingface/hub): every revision and file, each distinct file stored
    /// once; each commit becomes a registry version, each branch an alias.
    Import { dir: PathBuf },
    /// Write every hub model of the store as a hub cache in DIR, which huggingface_hub
    /// reads with HF_HUB_OFFLINE=1 (HF_HUB_CACHE=DIR).
    Export { dir: PathBuf },
    /// Answer the hub's download protocol (HF_ENDPOINT=http://ADDR) for the store's models.
    Serve(HfServeArgs),
}

#[derive(Args)]
pub struct HfServeArgs {
    /// Address to listen on (default 127.0.0.1:9314, loopback only).
    pub addr: Option<SocketAddr>,
    /// Require `Authorization: Bearer TOKEN` (clients set HF_TOKEN).
    #[arg(long, env = "BUFFDB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Pull-through cache: fetch what the store lacks from this hub (e.g.
    /// https://huggingface.co), store it as it streams through, verified.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Print each request (method, path, status) to stderr.
    #[arg(long)]
    pub log_requests: bool,
    /// Tree listing page size (tests).
    #[arg(long, hide = true, default_value_t = serve::DEFAULT_TREE_PAGE)]
    pub tree_page_size: usize,
}

/// The hub server's configuration from its flags.
pub fn config(db: Db, token: Option<String>, upstream: Option<&str>, page: usize) -> Result<serve::HfConfig, Error> {
    let mut c = serve::HfConfig::new(db);
    c.token = token.filter(|t| !t.is_empty());
    c.tree_page = page;
    if let Some(url) = upstream {
        c.upstream = Some(Arc::new(Upstream::new(url)?));
    }
    Ok(c)
}

pub fn run(cmd: &HfCommand, db: Db) -> Result<Outcome, Error> {
    match cmd {
        HfCommand::Import { dir } => {
            let r = cache::import(&db, dir)?;
            println!(
                "imported {} repos: {} new versions, {} refs, {} files stored ({} bytes), {} already stored",
                r.repos, r.versions, r.refs, r.blobs_stored, r.bytes_stored, r.blobs_shared
            );
        }
        HfCommand::Export { dir } => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::new(ErrorCode::Io, format!("cannot create {}: {e}", dir.display())))?;
            let r = cache::export(&db, dir)?;
            println!(
                "exported {} repos: {} versions, {} files, {} refs, {} bytes written",
                r.repos, r.versions, r.files, r.refs, r.bytes_written
            );
        }
        HfCommand::Serve(args) => {
            let addr = args.addr.unwrap_or_else(|| serve::DEFAULT_HF_ADDR.parse().expect("valid"));
            let mut c = config(db.clone(), args.token.clone(), args.upstream.as_deref(), args.tree_page_size)?;
            c.log_requests = args.log_requests;
            let rt = crate::runtime::runtime()?;
            rt.block_on(async {
                let (bound, task) = serve::spawn(c, addr, crate::runtime::stop_signal())
                    .await
                    .map_err(|e| Error::new(ErrorCode::Io, format!("cannot listen on {addr}: {e}")))?;
                eprintln!("buffdb: serving the hub protocol for {} on http://{bound} (Ctrl-C to stop)", db.path());
                task.await
                    .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?
                    .map_err(|e| Error::new(ErrorCode::Io, format!("the hub server failed: {e}")))
            })?;
        }
    }
    db.close()?;
    Ok(Outcome::Ok)
}
