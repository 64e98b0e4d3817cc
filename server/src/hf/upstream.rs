//! The pull-through cache (`--upstream URL`): what the store lacks is asked of
//! another hub. A missing file is fetched once (concurrent requests for it wait for
//! that one fetch), written to the store as it arrives (a 1 MiB piece at a time,
//! never whole in memory), checked against the upstream's size and ETag before it
//! is committed (an upstream that stops half way leaves nothing), then served from
//! the store like any other. What the store has is served without asking, so it
//! keeps working when the upstream is gone; repo info and tree listings are asked
//! of the upstream first (they say which files a revision has) and answered from
//! the store when it cannot be reached.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use buffdb::{Db, Error, ErrorCode, ModelFile, Models};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::hub::{blocking, lookup, HubError};
use super::{blob_path, hub_version, Repo, RepoType};

/// What `quote(s, safe="")` leaves alone in Python: letters, digits and `-._~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Another hub to fetch from.
pub struct Upstream {
    pub base: String,
    /// Metadata requests: redirects not followed (the hub puts a file's metadata on
    /// the redirect to its CDN), short timeouts.
    meta: reqwest::Client,
    /// Downloads: redirects followed (to the CDN).
    data: reqwest::Client,
    /// One fetch at a time per missing file.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Upstream {
    /// `URL`: `http://host[:port]` or `https://...` (rustls, the system's roots).
    pub fn new(url: &str) -> Result<Upstream, Error> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("--upstream {url:?} is not an http:// or https:// URL"),
            ));
        }
        let build = |b: reqwest::ClientBuilder| {
            b.connect_timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot make the upstream client: {e}")))
        };
        let meta = build(
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(30)),
        )?;
        let data = build(reqwest::Client::builder().read_timeout(Duration::from_secs(60)))?;
        Ok(Upstream { base, meta, data, fetching: Mutex::new(HashMap::new()) })
    }

    fn lock_for(&self, key: String) -> Arc<tokio::sync::Mutex<()>> {
        self.fetching.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().clone()
    }

    fn resolve_url(&self, repo: &Repo, rev: &str, path: &str) -> String {
        let prefix = match repo.kind {
            RepoType::Model => String::new(),
            k => format!("{}/", k.plural()),
        };
        let path: Vec<String> = path.split('/').map(|s| utf8_percent_encode(s, SEGMENT).to_string()).collect();
        format!("{}/{prefix}{}/resolve/{}/{}", self.base, repo.id, utf8_percent_encode(rev, SEGMENT), path.join("/"))
    }
}

/// The file if the store has it whole (record and stream).
fn in_store(db: &Db, repo: &Repo, rev: &str, path: &str) -> Option<(String, ModelFile)> {
    let info = lookup(db, repo, rev).ok()?;
    let f = info.file(path)?.clone();
    db.stream_stat(&f.path).ok().filter(|st| st.size == f.size)?;
    Some((info.version, f))
}

/// An upstream's hub error, passed on as it came.
fn relayed(status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap, body: &str) -> HubError {
    let code = headers.get("x-error-code").and_then(|v| v.to_str().ok()).and_then(|c| match c {
        "RepoNotFound" => Some("RepoNotFound"),
        "RevisionNotFound" => Some("RevisionNotFound"),
        "EntryNotFound" => Some("EntryNotFound"),
        "GatedRepo" => Some("GatedRepo"),
        _ => None,
    });
    let message = headers
        .get("x-error-message")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| serde_json::from_str::<serde_json::Value>(body).ok()?.get("error")?.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("upstream answered {status}"));
    let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut e = HubError::new(status, code, message);
    e.commit = headers.get("x-repo-commit").and_then(|v| v.to_str().ok()).map(str::to_string);
    e
}

fn bad_gateway(msg: impl Into<String>) -> HubError {
    HubError::new(StatusCode::BAD_GATEWAY, None, msg)
}

/// For a resolve: `None` to answer from the store (no upstream, the store has the
/// file, or the upstream cannot be reached); else the commit and file to send. For
/// `HEAD` a file not yet stored is described from the upstream's metadata (its
/// `path` is empty); for `GET` it is fetched into the store first.
pub(crate) async fn resolve(
    up: Option<&Upstream>,
    store: &Db,
    repo: &Repo,
    rev: &str,
    path: &str,
    head: bool,
) -> Result<Option<(String, ModelFile)>, HubError> {
    let Some(up) = up else { return Ok(None) };
    let db = store.clone();
    let (r, p, rp) = (rev.to_string(), path.to_string(), repo.clone());
    if blocking(move || Ok(in_store(&db, &rp, &r, &p))).await?.is_some() {
        return Ok(None);
    }
    let gate = up.lock_for(format!("{}@{rev}:{path}", repo.model_name()));
    let _held = gate.lock().await;
    // Someone may have fetched it while this request waited.
    let db = store.clone();
    let (r, p, rp) = (rev.to_string(), path.to_string(), repo.clone());
    if blocking(move || Ok(in_store(&db, &rp, &r, &p))).await?.is_some() {
        return Ok(None);
    }
    let url = up.resolve_url(repo, rev, path);
    let resp = match up.meta.head(&url).header(header::ACCEPT_ENCODING, "identity").send().await {
        Ok(r) => r,
        Err(_) => return Ok(None), // unreachable: the store answers (or says what it lacks)
    };
    let status = resp.status();
    let h = resp.headers().clone();
    if status.is_client_error() && h.contains_key("x-error-code") {
        return Err(relayed(status, &h, ""));
    }
    if !(status.is_success() || status.is_redirection()) {
        return Ok(None);
    }
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    let commit = get("x-repo-commit").ok_or_else(|| bad_gateway("the upstream sent no X-Repo-Commit"))?;
    let linked = get("x-linked-etag");
    let etag = linked.clone().or_else(|| get("etag")).ok_or_else(|| bad_gateway("the upstream sent no ETag"))?;
    let etag = etag.trim_start_matches("W/").trim_matches('"').to_string();
    super::check_etag(&etag).map_err(|e| bad_gateway(e.message()))?;
    let size: u64 = get("x-linked-size")
        .or_else(|| if status.is_redirection() { None } else { get("content-length") })
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad_gateway("the upstream sent no size"))?;
    let lfs = etag.len() == 64;
    let mut file = ModelFile {
        name: path.to_string(),
        path: String::new(),
        size,
        sha256: if lfs { etag.clone() } else { String::new() },
        etag: Some(etag.clone()),
    };
    let db = store.clone();
    let bp = blob_path(&etag);
    let stored = blocking(move || Ok(db.stream_stat(&bp).ok().filter(|st| st.size == size))).await?;
    if stored.is_none() {
        if head {
            return Ok(Some((commit, file)));
        }
        fetch(up, store, &url, &etag, size).await?;
    }
    // Record the file in its version (made when new), the branch as an alias.
    let db = store.clone();
    let (rp, r, c) = (repo.clone(), rev.to_string(), commit.clone());
    file.path = blob_path(&etag);
    let f = file.clone();
    let file = blocking(move || {
        let sha = db
            .stream_stat(&f.path)?
            .metadata
            .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
            .and_then(|m| m.get("sha256")?.as_str().map(str::to_string))
            .unwrap_or_default();
        let f = ModelFile { sha256: sha, ..f };
        let name = rp.model_name();
        db.transaction(|t| {
            match t.model_get(&name, &c) {
                Ok(mut info) if info.version == c => {
                    if info.file(&f.name).is_none() {
                        info.files.push(f.clone());
                        t.model_update(&info)?;
                    }
                }
                _ => {
                    let mut info = hub_version(&rp, &c, vec![f.clone()]);
                    info.parameters.insert("pulled_from".into(), "upstream".into());
                    t.model_register(&info)?;
                }
            }
            if r != c {
                t.model_set_alias(&name, &r, Some(&c))?;
            }
            Ok(())
        })?;
        Ok(f)
    })
    .await?;
    Ok(Some((commit, file)))
}

/// Bytes handed from the download (async) to the store writer (a blocking thread).
struct Pieces {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    cur: Bytes,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

/// Downloads `url` into the stream of `etag`, checked before it is committed.
async fn fetch(up: &Upstream, db: &Db, url: &str, etag: &str, size: u64) -> Result<(), HubError> {
    let mut resp = up
        .data
        .get(url)
        .header(header::ACCEPT_ENCODING, "identity")
        .send()
        .await
        .map_err(|e| bad_gateway(format!("the upstream cannot be reached: {e}")))?;
    if !resp.status().is_success() {
        let (s, h) = (resp.status(), resp.headers().clone());
        return Err(relayed(s, &h, &resp.text().await.unwrap_or_default()));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(8);
    let (db, etag) = (db.clone(), etag.to_string());
    let writer = tokio::task::spawn_blocking(move || {
        super::cache::store_blob(&db, &etag, size, Pieces { rx, cur: Bytes::new() })
    });
    loop {
        let piece = match resp.chunk().await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => break,
            Err(e) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("the upstream stopped: {e}"))),
        };
        let failed = piece.is_err();
        if tx.send(piece).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    match writer.await.map_err(HubError::internal)? {
        Ok(_) => Ok(()),
        Err(e) => Err(bad_gateway(format!("the upstream's file was not stored: {}", e.message()))),
    }
}

/// An `/api/...` request asked of the upstream: its answer passed on (tree entries
/// without `xetHash`, the `Link` to the next page pointing here), or `None` to
/// answer from the store (no upstream, or it cannot be reached).
pub(crate) async fn api(up: Option<&Upstream>, path_and_query: &str, host: &str) -> Result<Option<Response>, HubError> {
    let Some(up) = up else { return Ok(None) };
    let resp = match up.meta.get(format!("{}{path_and_query}", up.base)).send().await {
        Ok(r) => r,
        Err(_) => return Ok(None),
    };
    let (status, h) = (resp.status(), resp.headers().clone());
    let text = match resp.text().await {
        Ok(t) => t,
        Err(_) => return Ok(None),
    };
    if status.is_client_error() && h.contains_key("x-error-code") {
        return Err(relayed(status, &h, &text));
    }
    if !status.is_success() {
        return Ok(None);
    }
    let mut body: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad_gateway(e.to_string()))?;
    if let Some(entries) = body.as_array_mut() {
        for e in entries {
            if let Some(o) = e.as_object_mut() {
                o.remove("xetHash");
            }
        }
    }
    let out = body.to_string();
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(link) = h.get(header::LINK).and_then(|v| v.to_str().ok()) {
        if let Ok(v) = HeaderValue::from_str(&link.replace(&up.base, &format!("http://{host}"))) {
            headers.insert(header::LINK, v);
        }
    }
    let mut r = Response::new(Body::from(out));
    *r.headers_mut() = headers;
    Ok(Some(r))
}
