//! The sync endpoints' shared parts and the profile endpoint; pull and push live in
//! `pull.rs` and `push.rs`.

use crate::auth::User;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use offline_tables_core::protocol::{self, PROTOCOL_VERSION};
use offline_tables_core::{Error, ErrorCode, Key};
use serde_json::Value;
use sqlx::Row;
pub const DEFAULT_PULL_LIMIT: u32 = 1000;
pub const MAX_PULL_LIMIT: u32 = 5000;
pub const MAX_PUSH_BATCH: usize = 1000;

pub async fn profile(State(s): State<AppState>, _user: User) -> Json<Value> {
    Json(s.profile().to_json())
}

pub(crate) fn check_protocol(v: u32) -> AppResult<()> {
    if v != PROTOCOL_VERSION {
        return Err(Error::new(
            ErrorCode::UnsupportedProtocol,
            format!("protocolVersion {v} is not supported (this server speaks {PROTOCOL_VERSION})"),
        )
        .into());
    }
    Ok(())
}

/// A request naming the store's user (`user`) with another user's token: 403
/// `user_mismatch`, before anything is read or written.
pub(crate) fn check_user(claimed: Option<&str>, user: &str) -> AppResult<()> {
    Ok(protocol::check_user(claimed, user)?)
}

pub(crate) fn check_client_id(id: &str) -> AppResult<()> {
    if id.is_empty() || id.len() > 200 {
        return Err(Error::invalid_argument(
            "clientId must be a non-empty string of at most 200 characters",
        )
        .into());
    }
    // It is stored as text as sent: PostgreSQL refuses NUL in text (a 500 before).
    if id.contains('\0') {
        return Err(Error::invalid_argument("clientId must not contain NUL").into());
    }
    Ok(())
}

/// Registers the client for this user, or refuses a client id of another user. Runs a
/// write first, so a SQLite transaction holds the write lock from the start.
pub(crate) async fn claim_client(tx: &mut Tx, client: &str, user: &str) -> AppResult<i64> {
    sqlx::query("INSERT INTO ot_clients (client_id, user_id, last_mutation_id) VALUES ($1, $2, 0) ON CONFLICT (client_id) DO NOTHING")
        .bind(client)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query("UPDATE ot_clients SET user_id = user_id WHERE client_id = $1 RETURNING user_id, last_mutation_id")
        .bind(client)
        .fetch_one(&mut **tx)
        .await?;
    let owner: String = row.try_get(0)?;
    if owner != user {
        return Err(Error::user_mismatch(format!(
            "client '{client}' belongs to another user: its store holds that user's rows"
        ))
        .into());
    }
    Ok(row.try_get(1)?)
}

pub(crate) fn parse_key(text: &str) -> AppResult<Key> {
    serde_json::from_str(text).map_err(|_| AppError::internal("a stored key is malformed"))
}
