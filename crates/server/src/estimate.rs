//! `GET /sync/estimate`: how much a first download will bring the caller, table by
//! table (rows in scope and their JSON size), so a client can show progress against a
//! total and check its storage quota before filling the disk halfway.

use crate::auth::User;
use crate::db;
use crate::error::AppResult;
use crate::scope::{Scoper, Src};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use offline_tables_core::protocol::{Estimate, TableEstimate, PROTOCOL_VERSION};

pub async fn estimate(State(s): State<AppState>, User(user): User) -> AppResult<Json<Estimate>> {
    let profile = s.profile();
    let now = (s.clock)();
    let mut scoper = Scoper::new(Src::Pool(&s.db), &profile, &user, now);
    let mut tables = Vec::new();
    for name in profile.tables.keys() {
        let mut t = TableEstimate::default();
        for (_, _, row) in db::load_table(&s.db, name).await? {
            if scoper.row_in_scope(name, &row).await? {
                t.rows += 1;
                t.bytes += serde_json::to_string(&row).map_or(0, |j| j.len() as u64);
            }
        }
        tables.push((name.clone(), t));
    }
    Ok(Json(Estimate {
        protocol_version: PROTOCOL_VERSION,
        rows: tables.iter().map(|(_, t)| t.rows).sum(),
        bytes: tables.iter().map(|(_, t)| t.bytes).sum(),
        tables,
    }))
}
