//! The optional bearer token, checked on every call (`authorization: Bearer TOKEN`).

use tonic::service::Interceptor;
use tonic::{Request, Status};

#[derive(Clone)]
pub struct TokenCheck {
    expected: Option<Vec<u8>>,
}

impl TokenCheck {
    pub fn new(token: Option<String>) -> TokenCheck {
        TokenCheck { expected: token.map(|t| format!("Bearer {t}").into_bytes()) }
    }
}

/// Equal bytes, in time that does not depend on where they differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Interceptor for TokenCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else { return Ok(request) };
        match request.metadata().get("authorization") {
            Some(v) if same(v.as_bytes(), expected) => Ok(request),
            Some(_) => Err(Status::unauthenticated("the bearer token is wrong")),
            None => Err(Status::unauthenticated("this server needs `authorization: Bearer TOKEN`")),
        }
    }
}
