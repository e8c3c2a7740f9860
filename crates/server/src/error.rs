//! The server's side of the project's one error type: an `Error` answered as its status
//! and the JSON body `{ "error": { "code", "message" } }`. Internal errors are logged,
//! not leaked. `AppError` only exists because axum's `IntoResponse` must be implemented
//! on a type of this crate; it adds nothing to the error it carries.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offline_tables_core::{Error, ErrorCode};

#[derive(Debug)]
pub struct AppError(pub Error);

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A failure of the server's own (the database, a stored value that does not read):
    /// logged in full, answered as `internal` without the details.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {e}");
        AppError(Error::new(ErrorCode::Internal, "internal server error"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0.body())).into_response()
    }
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError(e)
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::internal(e)
    }
}
