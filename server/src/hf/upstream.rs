//! The pull-through cache: files and revisions the store lacks, fetched from
//! another hub (`--upstream URL`).

use buffdb::{ModelFile, ModelInfo};

use super::serve::{HfConfig, HubError};
use super::Repo;

/// Another hub to fetch from.
pub struct Upstream {
    pub base: String,
}

impl Upstream {
    /// `URL`: `http://host[:port]` or `https://...`, no trailing path.
    pub fn new(url: &str) -> Result<Upstream, buffdb::Error> {
        let base = url.trim_end_matches('/').to_string();
        if !base.is_empty() {
            return Err(buffdb::Error::new(buffdb::ErrorCode::InvalidArgument, "--upstream is not available yet"));
        }
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(buffdb::Error::new(
                buffdb::ErrorCode::InvalidArgument,
                format!("--upstream {url:?} is not an http:// or https:// URL"),
            ));
        }
        Ok(Upstream { base })
    }
}

/// The (commit, file) to send for a resolve the store cannot answer alone, fetched
/// from the upstream; `None` to answer from the store.
pub(crate) async fn resolve(
    config: &HfConfig,
    _repo: &Repo,
    _rev: &str,
    _path: &str,
) -> Result<Option<(String, ModelFile)>, HubError> {
    let Some(_up) = &config.upstream else { return Ok(None) };
    Ok(None)
}

/// The version record for a revision the store cannot answer alone.
pub(crate) async fn info(config: &HfConfig, _repo: &Repo, _rev: &str) -> Result<Option<ModelInfo>, HubError> {
    let Some(_up) = &config.upstream else { return Ok(None) };
    Ok(None)
}
