//! What the hub endpoint's parts share: its errors as the hub answers them
//! ([`HubError`]), a revision looked up in the registry ([`lookup`]) and engine work
//! off the async runtime ([`blocking`]). Used by `serve` and `upstream`; uses neither.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use buffdb::{Db, ErrorCode, ModelInfo, Models};

use super::Repo;

/// An answer that is not a file: a hub error or JSON.
#[derive(Debug)]
pub(crate) struct HubError {
    pub(crate) status: StatusCode,
    pub(crate) code: Option<&'static str>,
    message: String,
    pub(crate) commit: Option<String>,
}

impl HubError {
    pub(crate) fn new(status: StatusCode, code: Option<&'static str>, message: impl Into<String>) -> HubError {
        HubError { status, code, message: message.into(), commit: None }
    }
    pub(crate) fn repo(repo: &str) -> HubError {
        HubError::new(StatusCode::NOT_FOUND, Some("RepoNotFound"), format!("Repository Not Found: {repo}"))
    }
    pub(crate) fn revision(rev: &str) -> HubError {
        HubError::new(StatusCode::NOT_FOUND, Some("RevisionNotFound"), format!("Invalid rev id: {rev}"))
    }
    pub(crate) fn entry(path: &str, commit: &str) -> HubError {
        let mut e = HubError::new(StatusCode::NOT_FOUND, Some("EntryNotFound"), format!("Entry not found: {path}"));
        e.commit = Some(commit.to_string());
        e
    }
    pub(crate) fn bad(message: impl Into<String>) -> HubError {
        HubError::new(StatusCode::BAD_REQUEST, None, message)
    }
    pub(crate) fn internal(e: impl std::fmt::Display) -> HubError {
        HubError::new(StatusCode::INTERNAL_SERVER_ERROR, None, e.to_string())
    }
}

impl From<buffdb::Error> for HubError {
    fn from(e: buffdb::Error) -> HubError {
        match e.code() {
            ErrorCode::InvalidArgument => HubError::bad(e.message()),
            ErrorCode::Closed => HubError::new(StatusCode::SERVICE_UNAVAILABLE, None, e.message()),
            _ => HubError::internal(e),
        }
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message }).to_string();
        let mut r = (self.status, body).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(code) = self.code {
            h.insert("x-error-code", HeaderValue::from_static(code));
        }
        if let Ok(v) = HeaderValue::from_str(&self.message.replace(['\r', '\n'], " ")) {
            h.insert("x-error-message", v);
        }
        if let Some(c) = self.commit.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
            h.insert("x-repo-commit", c);
        }
        r
    }
}

/// The version a revision names: a version, an alias, or `main` → `latest` for
/// models registered outside the hub. Errors as the hub gives them.
pub(crate) fn lookup(db: &Db, repo: &Repo, rev: &str) -> Result<ModelInfo, HubError> {
    let name = repo.model_name();
    let resolved = match db.model_resolve(&name, rev) {
        Ok(Some(v)) => Some(v),
        Ok(None) if rev == "main" => db.model_resolve(&name, buffdb::LATEST)?,
        Ok(None) => None,
        Err(e) if e.code() == ErrorCode::InvalidArgument => None,
        Err(e) => return Err(e.into()),
    };
    match resolved {
        Some(v) => Ok(db.model_get(&name, &v)?),
        None if db.model_versions(&name)?.is_empty() => Err(HubError::repo(&repo.id)),
        None => Err(HubError::revision(rev)),
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HubError> + Send + 'static,
) -> Result<T, HubError> {
    tokio::task::spawn_blocking(f).await.map_err(HubError::internal)?
}
