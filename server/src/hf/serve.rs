//! The hub's download protocol over HTTP (axum), for what the database holds, so
//! `HF_ENDPOINT=http://127.0.0.1:PORT` makes `huggingface_hub` download from BuffDB.
//!
//! What the official client uses (read from huggingface_hub's file_download.py,
//! _snapshot_download.py, hf_api.py and utils/_http.py):
//! - `HEAD`/`GET /[datasets/|spaces/]{repo}/resolve/{rev}/{path}`: answered 200
//!   directly (no redirect) with `X-Repo-Commit`, `ETag`, for LFS files
//!   `X-Linked-Etag`/`X-Linked-Size`, and `Content-Length`; `Range: bytes=N-[M]` → 206.
//! - `GET /api/{models,datasets,spaces}/{repo}[/revision/{rev}]`: `id`, `sha`, `siblings`.
//! - `GET /api/{...}/{repo}/tree/{rev}[/{path}]?recursive=true`: files with `oid`,
//!   `size`, `lfs`, paged by `Link: <url>; rel="next"`.
//! - Errors: 4xx with `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`,
//!   `EntryNotFound` with `X-Repo-Commit`) and `{"error": "..."}`.
//!
//! Never any `X-Xet-*` header or `xetHash`: those send the client down its Xet path.

use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use buffdb::{Db, ModelFile, ModelInfo};
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;

use super::hub::{blocking, lookup, HubError};
use super::{etag_of, git_oid, is_lfs, Repo, RepoType};

/// Where `buffdb hf serve` listens unless told otherwise: loopback only.
pub const DEFAULT_HF_ADDR: &str = "127.0.0.1:9314";
/// Tree entries per page (the hub's page for `expand=false`).
pub const DEFAULT_TREE_PAGE: usize = 1000;
/// Bytes per piece of a download body.
const PIECE: usize = 1 << 20;

/// What to serve and how.
#[derive(Clone)]
pub struct HfConfig {
    pub db: Db,
    /// When set, every request must carry `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    pub tree_page: usize,
    /// Print `METHOD PATH STATUS` of each request to stderr.
    pub log_requests: bool,
    /// A hub to fetch missing files from (pull-through cache).
    pub upstream: Option<Arc<super::upstream::Upstream>>,
}

impl HfConfig {
    pub fn new(db: Db) -> HfConfig {
        HfConfig { db, token: None, tree_page: DEFAULT_TREE_PAGE, log_requests: false, upstream: None }
    }
}

/// The router answering the hub protocol.
pub fn router(config: HfConfig) -> Router {
    Router::new().fallback(handle).with_state(Arc::new(config))
}

/// Serves `config` on `listener` until `shutdown` completes.
pub async fn serve(
    config: HfConfig,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(config)).with_graceful_shutdown(shutdown).await
}

/// Binds `addr` and serves in the background; returns the bound address and the task.
pub async fn spawn(
    config: HfConfig,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve(config, listener, shutdown))))
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Ask {
    /// A file by revision.
    Resolve { repo: Repo, rev: String, path: String },
    /// Repo info at a revision (`main` when the URL names none).
    Info { repo: Repo, rev: String },
    /// The file listing at a revision, under `path`.
    Tree { repo: Repo, rev: String, path: String },
}

fn decode(seg: &str) -> Result<String, HubError> {
    percent_decode_str(seg).decode_utf8().map(|s| s.into_owned()).map_err(|_| HubError::bad("the URL is not UTF-8"))
}

/// A file path inside a repo: `/`-separated, no empty, `.` or `..` segment.
fn check_file_path(path: &str) -> Result<(), HubError> {
    if path.split('/').any(|s| s.is_empty() || s == "." || s == ".." || s.contains('\\')) {
        return Err(HubError::bad(format!("{path:?} is not a file path in a repository")));
    }
    Ok(())
}

/// Splits `{repo id (1 or 2 segments)}/{keyword}/{rest...}`.
fn split_repo<'a>(segs: &'a [&'a str], keywords: &[&str]) -> Option<(String, &'a str, &'a [&'a str])> {
    for n in [2usize, 1] {
        if segs.len() > n && keywords.contains(&segs[n]) {
            return Some((segs[..n].join("/"), segs[n], &segs[n + 1..]));
        }
    }
    None
}

fn parse(uri: &Uri) -> Result<Ask, HubError> {
    let path = uri.path();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let repo =
        |kind, id: &str| -> Result<Repo, HubError> { Repo::new(kind, &decode(id)?).map_err(|_| HubError::repo(id)) };
    if segs.first() == Some(&"api") {
        let kind = segs.get(1).and_then(|p| RepoType::from_plural(p)).ok_or_else(|| not_served(path))?;
        let rest = &segs[2..];
        return match split_repo(rest, &["revision", "tree"]) {
            Some((id, "revision", tail)) if tail.len() == 1 => {
                Ok(Ask::Info { repo: repo(kind, &id)?, rev: decode(tail[0])? })
            }
            Some((id, "tree", tail)) if !tail.is_empty() => {
                let sub = tail[1..].iter().map(|s| decode(s)).collect::<Result<Vec<_>, _>>()?.join("/");
                if !sub.is_empty() {
                    check_file_path(&sub)?;
                }
                Ok(Ask::Tree { repo: repo(kind, &id)?, rev: decode(tail[0])?, path: sub })
            }
            None if (1..=2).contains(&rest.len()) => {
                Ok(Ask::Info { repo: repo(kind, &rest.join("/"))?, rev: "main".into() })
            }
            _ => Err(not_served(path)),
        };
    }
    let (kind, rest) = match segs.first() {
        Some(&"datasets") => (RepoType::Dataset, &segs[1..]),
        Some(&"spaces") => (RepoType::Space, &segs[1..]),
        _ => (RepoType::Model, &segs[..]),
    };
    match split_repo(rest, &["resolve"]) {
        Some((id, _, tail)) if tail.len() >= 2 => {
            let file = tail[1..].iter().map(|s| decode(s)).collect::<Result<Vec<_>, _>>()?.join("/");
            check_file_path(&file)?;
            Ok(Ask::Resolve { repo: repo(kind, &id)?, rev: decode(tail[0])?, path: file })
        }
        _ => Err(not_served(path)),
    }
}

fn not_served(path: &str) -> HubError {
    HubError::new(StatusCode::NOT_FOUND, None, format!("{path} is not served here"))
}

fn check_token(config: &HfConfig, headers: &HeaderMap) -> Result<(), HubError> {
    let Some(token) = &config.token else { return Ok(()) };
    let expected = format!("Bearer {token}");
    match headers.get(header::AUTHORIZATION) {
        Some(v) if crate::auth::same(v.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(HubError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "Invalid credentials in Authorization header (this server needs `Authorization: Bearer TOKEN`; set HF_TOKEN)",
        )),
    }
}

async fn handle(State(config): State<Arc<HfConfig>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let log = config.log_requests.then(|| format!("{method} {}", uri.path()));
    let r = match answer(config, method, uri, headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if let Some(line) = log {
        eprintln!("hf: {line} {}", r.status().as_u16());
    }
    r
}

async fn answer(config: Arc<HfConfig>, method: Method, uri: Uri, headers: HeaderMap) -> Result<Response, HubError> {
    check_token(&config, &headers)?;
    if method != Method::GET && method != Method::HEAD {
        return Err(HubError::new(StatusCode::METHOD_NOT_ALLOWED, None, "only GET and HEAD are served"));
    }
    let ask = parse(&uri)?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string();
    let query = uri.query().unwrap_or("").to_string();
    let path_and_query = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let head = method == Method::HEAD;
    match ask {
        Ask::Resolve { repo, rev, path } => {
            let file = match super::upstream::resolve(config.upstream.as_deref(), &config.db, &repo, &rev, &path, head).await? {
                Some(found) => found,
                None => {
                    let db = config.db.clone();
                    blocking(move || {
                        let info = lookup(&db, &repo, &rev)?;
                        let f = info.file(&path).cloned().ok_or_else(|| HubError::entry(&path, &info.version))?;
                        Ok((info.version, f))
                    })
                    .await?
                }
            };
            send_file(&config.db, file.0, file.1, range.as_deref(), head).await
        }
        Ask::Info { repo, rev } => {
            if let Some(r) = super::upstream::api(config.upstream.as_deref(), &path_and_query, &host).await? {
                return Ok(r);
            }
            let db = config.db.clone();
            let info = blocking(move || lookup(&db, &repo, &rev)).await?;
            let repo = Repo::from_model_name(&info.name).ok_or_else(|| HubError::internal("bad name"))?;
            let body = serde_json::json!({
                "id": repo.id,
                "modelId": repo.id,
                "sha": info.version,
                "private": false,
                "disabled": false,
                "gated": false,
                "tags": [],
                "siblings": info.files.iter().map(|f| serde_json::json!({ "rfilename": f.name })).collect::<Vec<_>>(),
            });
            Ok(json(body, head))
        }
        Ask::Tree { repo, rev, path } => {
            if let Some(r) = super::upstream::api(config.upstream.as_deref(), &path_and_query, &host).await? {
                return Ok(r);
            }
            let db = config.db.clone();
            let info = blocking(move || lookup(&db, &repo, &rev)).await?;
            tree(&config, &info, &path, &query, &host, &uri, head)
        }
    }
}

fn json(body: serde_json::Value, head: bool) -> Response {
    let text = body.to_string();
    let len = text.len();
    let mut r = if head { Response::new(Body::empty()) } else { Response::new(Body::from(text)) };
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

/// A file entry of the tree listing.
fn tree_entry(f: &ModelFile) -> serde_json::Value {
    let mut e = serde_json::json!({ "type": "file", "path": f.name, "size": f.size, "oid": git_oid(f) });
    if is_lfs(f) {
        e["lfs"] = serde_json::json!({ "oid": f.sha256, "size": f.size, "pointerSize": pointer_size(f) });
    }
    e
}

fn pointer_size(f: &ModelFile) -> usize {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n", f.sha256, f.size).len()
}

fn tree(
    config: &HfConfig,
    info: &ModelInfo,
    path: &str,
    query: &str,
    host: &str,
    uri: &Uri,
    head: bool,
) -> Result<Response, HubError> {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let recursive = matches!(param("recursive"), Some("true" | "True" | "1"));
    let cursor: usize = param("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
    let mut files: Vec<&ModelFile> = info.files.iter().filter(|f| f.name.starts_with(&prefix)).collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let mut entries: Vec<serde_json::Value> = Vec::new();
    if recursive {
        entries.extend(files.iter().map(|f| tree_entry(f)));
    } else {
        let mut dirs = std::collections::BTreeSet::new();
        for f in &files {
            match f.name[prefix.len()..].split_once('/') {
                Some((dir, _)) => {
                    dirs.insert(format!("{prefix}{dir}"));
                }
                None => entries.push(tree_entry(f)),
            }
        }
        for d in dirs {
            entries.push(serde_json::json!({ "type": "directory", "path": d, "size": 0, "oid": "0".repeat(40) }));
        }
    }
    if entries.is_empty() && !path.is_empty() {
        return Err(HubError::entry(path, &info.version));
    }
    let page = config.tree_page.max(1);
    let end = (cursor + page).min(entries.len());
    let body = serde_json::Value::Array(entries.get(cursor..end).unwrap_or(&[]).to_vec());
    let mut r = json(body, head);
    if end < entries.len() {
        let mut next: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k != "cursor").collect();
        next.push(("cursor".into(), end.to_string()));
        let q = form_urlencoded::Serializer::new(String::new()).extend_pairs(next).finish();
        let link = format!("<http://{host}{}?{q}>; rel=\"next\"", uri.path());
        if let Ok(v) = HeaderValue::from_str(&link) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(r)
}

/// `Range: bytes=N-` or `bytes=N-M` → (start, end exclusive); `Err` past the end.
fn parse_range(range: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None); // several ranges: answered whole, as the hub's CDN may
    }
    let Some((a, b)) = spec.split_once('-') else { return Ok(None) };
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            (size.saturating_sub(n), size)
        }
        (s, "") => (s.parse().map_err(|_| ())?, size),
        (s, e) => {
            let (s, e): (u64, u64) = (s.parse().map_err(|_| ())?, e.parse().map_err(|_| ())?);
            if e < s {
                return Err(());
            }
            (s, (e + 1).min(size))
        }
    };
    if start >= size && !(size == 0 && start == 0) {
        return Err(());
    }
    Ok(Some((start, end)))
}

async fn send_file(
    db: &Db,
    commit: String,
    f: ModelFile,
    range: Option<&str>,
    head: bool,
) -> Result<Response, HubError> {
    let size = f.size;
    let etag = format!("\"{}\"", etag_of(&f));
    let mut headers = HeaderMap::new();
    let hv = |s: &str| HeaderValue::from_str(s).map_err(HubError::internal);
    headers.insert("x-repo-commit", hv(&commit)?);
    headers.insert(header::ETAG, hv(&etag)?);
    if is_lfs(&f) {
        headers.insert("x-linked-etag", hv(&etag)?);
        headers.insert("x-linked-size", HeaderValue::from(size));
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let (status, start, end) = match parse_range(range, size) {
        Ok(None) => (StatusCode::OK, 0, size),
        Ok(Some((s, e))) => {
            headers.insert(header::CONTENT_RANGE, hv(&format!("bytes {s}-{}/{size}", e.saturating_sub(1)))?);
            (StatusCode::PARTIAL_CONTENT, s, e)
        }
        Err(()) => {
            let mut r = HubError::new(StatusCode::RANGE_NOT_SATISFIABLE, None, "Requested range not satisfiable")
                .into_response();
            r.headers_mut().insert(header::CONTENT_RANGE, hv(&format!("bytes */{size}"))?);
            return Ok(r);
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    let body = if head || end == start {
        Body::empty()
    } else {
        // Opened before answering, so a missing stream is an error, not a cut body.
        let db2 = db.clone();
        let stream_path = f.path.clone();
        let mut reader = blocking(move || {
            let mut r = db2.stream_open(&stream_path, None)?;
            if r.size() != size {
                return Err(HubError::internal(format!("{stream_path} holds {} bytes, {size} expected", r.size())));
            }
            r.seek(SeekFrom::Start(start)).map_err(HubError::internal)?;
            Ok(r)
        })
        .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        tokio::task::spawn_blocking(move || {
            let mut left = end - start;
            while left > 0 {
                let n = left.min(PIECE as u64) as usize;
                let mut buf = vec![0u8; n];
                let piece = reader.read_exact(&mut buf).map(|()| Bytes::from(buf));
                let failed = piece.is_err();
                if tx.blocking_send(piece).is_err() || failed {
                    return;
                }
                left -= n as u64;
            }
        });
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = |s: &str| parse(&s.parse::<Uri>().unwrap());
        assert_eq!(
            u("/org/m/resolve/main/a/b.json").unwrap(),
            Ask::Resolve {
                repo: Repo::new(RepoType::Model, "org/m").unwrap(),
                rev: "main".into(),
                path: "a/b.json".into()
            }
        );
        assert_eq!(
            u("/datasets/org/d/resolve/refs%2Fpr%2F1/x").unwrap(),
            Ask::Resolve {
                repo: Repo::new(RepoType::Dataset, "org/d").unwrap(),
                rev: "refs/pr/1".into(),
                path: "x".into()
            }
        );
        assert_eq!(
            u("/api/models/gpt2/revision/main").unwrap(),
            Ask::Info { repo: Repo::new(RepoType::Model, "gpt2").unwrap(), rev: "main".into() }
        );
        assert!(matches!(u("/api/models/org/m/tree/abc").unwrap(), Ask::Tree { .. }));
        assert_eq!(u("/org/../resolve/main/x").err().unwrap().code, Some("RepoNotFound"));
        assert_eq!(u("/org/m/resolve/main/../x").err().unwrap().status, StatusCode::BAD_REQUEST);
        assert_eq!(u("/org/m/resolve/main/a%2F..%2Fb").err().unwrap().status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(Some("bytes=10-"), 100), Ok(Some((10, 100))));
        assert_eq!(parse_range(Some("bytes=10-19"), 100), Ok(Some((10, 20))));
        assert_eq!(parse_range(Some("bytes=-5"), 100), Ok(Some((95, 100))));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Err(()));
        assert_eq!(parse_range(Some("bytes=5-2"), 100), Err(()));
        assert_eq!(parse_range(None, 100), Ok(None));
    }
}
