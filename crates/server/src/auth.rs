//! Authentication: `Authorization: Bearer <token>`, resolved to a user id through a
//! development token map (`--tokens`) or an HS256 JWT whose `sub` is the user id
//! (`--jwt-secret`, `exp` required and honoured, `nbf` honoured, HS256 only).

use crate::error::AppError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Default)]
pub struct Auth {
    pub tokens: HashMap<String, String>,
    pub jwt: Option<DecodingKey>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

impl Auth {
    pub fn user_of(&self, token: &str) -> Option<String> {
        if let Some(user) = self.tokens.get(token) {
            return Some(user.clone());
        }
        let key = self.jwt.as_ref()?;
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims = ["exp", "sub"].iter().map(|s| s.to_string()).collect();
        // A token that is not valid yet (`nbf` in the future, beyond the leeway) is
        // refused like an expired one; jsonwebtoken only checks `nbf` when asked.
        v.validate_nbf = true;
        decode::<Claims>(token, key, &v).ok().map(|d| d.claims.sub)
    }

    /// The user of a request's `Authorization: Bearer <token>` header, or the
    /// `unauthorized` error that says what is wrong with it.
    pub fn user_of_headers(&self, headers: &HeaderMap) -> Result<String, AppError> {
        let header = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| {
                AppError::unauthorized("missing Authorization: Bearer <token> header")
            })?;
        // The scheme is case-insensitive (RFC 9110); the token is not.
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                AppError::unauthorized("the Authorization header must be 'Bearer <token>'")
            })?;
        self.user_of(token)
            .ok_or_else(|| AppError::unauthorized(INVALID_TOKEN))
    }
}

/// The message of the `unauthorized` error for a token that resolves to no user.
pub const INVALID_TOKEN: &str = "the token is not valid (unknown, malformed or expired)";

/// The authenticated caller.
pub struct User(pub String);

impl FromRequestParts<AppState> for User {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state.auth.user_of_headers(&parts.headers).map(User)
    }
}
