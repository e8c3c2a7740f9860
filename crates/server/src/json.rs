//! Extractors whose every failure is a JSON error with a code: a JSON body (malformed
//! JSON and wrong shapes are 400 `invalid_argument`, oversized bodies 413) and path
//! parameters (a segment that does not decode is 400 `invalid_argument`).

use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use offline_tables_core::{Error, ErrorCode};
use serde::de::DeserializeOwned;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(
                    ErrorCode::PayloadTooLarge,
                    "the request body is larger than the server accepts",
                )
            } else {
                Error::invalid_argument(format!("cannot read the request body: {e}"))
            }
        })?;
        // Read as the wasm's fetch interceptor reads a body (text, then serde_json into a
        // `Value`, then the shape), so both refuse a malformed body with the same words.
        let value: serde_json::Value =
            serde_json::from_str(Error::body_text(&bytes)?).map_err(Error::malformed_json)?;
        serde_json::from_value(value)
            .map(JsonBody)
            .map_err(|e| Error::malformed_json(e).into())
    }
}

/// `axum::extract::Path`, with a JSON error for a segment that does not decode (axum's
/// own rejection is plain text).
pub struct UrlPath<T>(pub T);

impl<S, T> FromRequestParts<S> for UrlPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(UrlPath(v)),
            Err(e) => {
                tracing::debug!("path rejected: {e}");
                Err(Error::bad_segment().into())
            }
        }
    }
}
