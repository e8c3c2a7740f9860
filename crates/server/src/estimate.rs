//! `GET /sync/estimate`: how much a first download will bring the caller, table by
//! table (rows in scope and their JSON size), so a client can show progress against a
//! total and check its storage quota before filling the disk halfway.

use crate::auth::User;
use crate::error::AppResult;
use crate::scope::{Scoper, Src};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use offline_tables_core::protocol::{Estimate, TableEstimate, PROTOCOL_VERSION};
use offline_tables_core::Query;

pub async fn estimate(State(s): State<AppState>, User(user): User) -> AppResult<Json<Estimate>> {
    let profile = s.profile();
    crate::bulk::ensure(&s.db, &profile).await?;
    let now = (s.clock)();
    let mut scoper = Scoper::new(Src::Pool(&s.db), &profile, &user, now);
    let mut tables = Vec::new();
    for (name, def) in &profile.tables {
        let mut t = TableEstimate::default();
        // The caller's buckets only, through the list path (list.rs).
        for row in crate::list::rows(&s.db, &mut scoper, name, def, &Query::default()).await? {
            t.rows += 1;
            let row = crate::columns::sent(def, row);
            t.bytes += serde_json::to_string(&row).map_or(0, |j| j.len() as u64);
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
