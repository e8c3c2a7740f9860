//! Authentication: `Authorization: Bearer <token>`, resolved to a user id through a
//! development token map (`--tokens`) or a JWT: HS256 with a shared secret
//! (`--jwt-secret`), or RS256 / ES256 verified against public keys (`--jwt-public-key`
//! PEM files, `--jwks` files or an identity provider's JWKS URL, chosen by the token's
//! `kid`). Every JWT needs `exp` (and honours `nbf`), with [`LEEWAY_SECS`] of clock skew;
//! `iss` and `aud` are checked when the server is given them. The user id is the
//! `sub` claim, or the claim named by `user_claim`; the user's teams, which `owner`
//! scopes match as well as the user id, are the `teams` claim (or the one named by
//! `teams_claim`: an array of strings), or a development token's `teams`.

use crate::error::AppError;
use crate::jwks::{RemoteJwks, VerifyingKey};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use offline_tables_core::scope::Caller;
use offline_tables_core::Error;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

#[derive(Default)]
pub struct Auth {
    /// Development tokens and who each one is.
    pub tokens: HashMap<String, Caller>,
    /// The HS256 secret.
    pub jwt: Option<DecodingKey>,
    /// RS256 / ES256 keys known at start (PEM files, JWKS files).
    pub keys: Vec<VerifyingKey>,
    /// An identity provider's JWKS URL, cached.
    pub jwks: Option<RemoteJwks>,
    /// Accepted `iss` values; empty: `iss` is not checked.
    pub issuers: Vec<String>,
    /// Accepted `aud` values (a token must name one); empty: a token must carry no `aud`,
    /// since one meant for another service is not meant for this one.
    pub audiences: Vec<String>,
    /// The claim holding the user id; `None` means `sub`.
    pub user_claim: Option<String>,
    /// The claim holding the user's teams; `None` means [`TEAMS_CLAIM`].
    pub teams_claim: Option<String>,
}

impl Auth {
    /// Whether any way to authenticate is configured.
    pub fn is_configured(&self) -> bool {
        !self.tokens.is_empty()
            || self.jwt.is_some()
            || !self.keys.is_empty()
            || self.jwks.is_some()
    }

    /// The caller of a token, or `None` for a token that is unknown, forged, expired, not
    /// yet valid, meant for another issuer or audience, or whose `teams` claim is not an
    /// array of strings.
    pub async fn user_of(&self, token: &str) -> Option<Caller> {
        if let Some(caller) = self.tokens.get(token) {
            return Some(caller.clone());
        }
        let header = decode_header(token).ok()?;
        let validation = self.validation(header.alg);
        let claims = |key: &DecodingKey| decode::<Map<String, Value>>(token, key, &validation).ok();
        // The token's `alg` only picks among keys made for that algorithm: never an RSA
        // or EC key as an HMAC secret, never `none`.
        let token_data = match header.alg {
            Algorithm::HS256 => claims(self.jwt.as_ref()?),
            Algorithm::RS256 | Algorithm::ES256 => {
                let remote = match &self.jwks {
                    Some(r) => r.keys(header.kid.as_deref()).await,
                    None => Arc::default(),
                };
                self.keys
                    .iter()
                    .chain(remote.iter())
                    .filter(|k| k.alg == header.alg)
                    // A token naming a `kid` is tried with that key only (and keys without
                    // one, such as a PEM file's); a token naming none, with every key of
                    // its algorithm.
                    .filter(|k| match (&header.kid, &k.kid) {
                        (Some(want), Some(have)) => want == have,
                        _ => true,
                    })
                    .find_map(|k| claims(&k.key))
            }
            _ => None,
        }?;
        let claim = self.user_claim.as_deref().unwrap_or("sub");
        let id = token_data.claims.get(claim)?.as_str()?.to_string();
        let teams_claim = self.teams_claim.as_deref().unwrap_or(TEAMS_CLAIM);
        let teams = match token_data.claims.get(teams_claim) {
            None => Vec::new(),
            Some(Value::Array(teams)) => teams
                .iter()
                .map(|t| t.as_str().map(str::to_string))
                .collect::<Option<_>>()?,
            Some(_) => return None,
        };
        Some(Caller { id, teams })
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECS;
        let mut required = vec!["exp"];
        if self.user_claim.is_none() {
            required.push("sub");
        }
        if !self.issuers.is_empty() {
            v.set_issuer(&self.issuers);
            required.push("iss");
        }
        if !self.audiences.is_empty() {
            v.set_audience(&self.audiences);
            required.push("aud");
        }
        v.set_required_spec_claims(&required);
        // A token that is not valid yet (`nbf` in the future, beyond the leeway) is
        // refused like an expired one; jsonwebtoken only checks `nbf` when asked.
        v.validate_nbf = true;
        v
    }

    /// The user of a request's `Authorization: Bearer <token>` header, or the
    /// `unauthorized` error that says what is wrong with it.
    pub async fn user_of_headers(&self, headers: &HeaderMap) -> Result<Caller, AppError> {
        let header = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| Error::unauthorized("missing Authorization: Bearer <token> header"))?;
        // The scheme is case-insensitive (RFC 9110); the token is not.
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::unauthorized("the Authorization header must be 'Bearer <token>'")
            })?;
        self.user_of(token)
            .await
            .ok_or_else(|| Error::unauthorized(INVALID_TOKEN).into())
    }
}

/// The message of the `unauthorized` error for a token that resolves to no user.
pub const INVALID_TOKEN: &str = "the token is not valid (unknown, malformed or expired)";

/// The JWT claim holding the user's teams, unless `--jwt-teams-claim` names another.
pub const TEAMS_CLAIM: &str = "teams";

/// A development tokens file (`--tokens`): each token maps to a user id, or to
/// `{ "user": id, "teams": [..] }`.
pub fn parse_tokens(doc: Value) -> Result<HashMap<String, Caller>, String> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Entry {
        User(String),
        WithTeams {
            user: String,
            #[serde(default)]
            teams: Vec<String>,
        },
    }
    let map: HashMap<String, Entry> = serde_json::from_value(doc).map_err(|e| {
        format!("tokens must map token strings to a user id or {{ \"user\": id, \"teams\": [..] }}: {e}")
    })?;
    Ok(map
        .into_iter()
        .map(|(token, entry)| {
            let caller = match entry {
                Entry::User(id) => Caller::user(id),
                Entry::WithTeams { user, teams } => Caller { id: user, teams },
            };
            (token, caller)
        })
        .collect())
}

/// The authenticated caller: the user and their teams.
pub struct User(pub Caller);

impl FromRequestParts<AppState> for User {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state.auth.user_of_headers(&parts.headers).await.map(User)
    }
}
