//! The reference server of offline-tables: the sync protocol (`/sync/profile`,
//! `/sync/pull`, `/sync/push`), a REST data API (`/api/data/{table}`) and the bytes of file
//! columns (`/api/files/{table}/{key}/{column}`) over SQLite or PostgreSQL, enforcing the offline profile's scopes. `app(config)` builds the router,
//! so tests drive it with `oneshot` and no socket. Built with the `test-faults` feature
//! (tests only, never the release binary), `Config::test_faults` also mounts the
//! test-only fault layer of `faults.rs`.

pub mod auth;
pub mod bulk;
pub mod columns;
pub mod db;
pub mod error;
pub mod estimate;
#[cfg(feature = "test-faults")]
pub mod faults;
pub mod files;
pub mod js_json;
mod json;
pub mod jwks;
pub mod keys;
pub mod list;
pub mod members;
pub mod pull;
pub mod push;
pub mod rest;
pub mod scope;
pub mod seed;
pub mod sortkey;
pub mod sync;

use arc_swap::ArcSwap;
use auth::Auth;
use axum::extract::DefaultBodyLimit;
use axum::http::{Extensions, HeaderMap, StatusCode, Version};
use axum::routing::{get, post};
use axum::Router;
use db::Db;
use offline_tables_core::Profile;
use std::sync::Arc;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::trace::TraceLayer;

/// Now, in milliseconds since the Unix epoch (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

pub struct Config {
    pub db: Db,
    pub profile: Profile,
    pub auth: Auth,
    pub clock: Clock,
    /// Allowed CORS origins; `*` allows any.
    pub cors_origins: Vec<String>,
    /// The JSON body limit; uploads of files are bound by their column's `maxBytes` instead.
    pub body_limit: usize,
    /// Where files' bytes are kept (`files::Store::for_database` picks the default).
    pub files: files::Store,
    /// Mount the test-only fault layer and its `/_test/*` routes (`--test-faults`). Only
    /// in a build with the `test-faults` feature: a release build has neither.
    #[cfg(feature = "test-faults")]
    pub test_faults: bool,
}

pub struct Inner {
    pub db: Db,
    /// The profile served now: replaced whole (SIGHUP, `/_test/profile`), never edited.
    served_profile: ArcSwap<Profile>,
    pub auth: Auth,
    pub clock: Clock,
    pub files: files::Store,
}

impl Inner {
    /// The profile to serve now. A handler takes it once and keeps it to the end, so a
    /// request never mixes two profiles.
    pub fn profile(&self) -> Arc<Profile> {
        self.served_profile.load_full()
    }

    /// Serves `profile` from the next request on; requests already running finish with
    /// the one they took.
    pub fn set_profile(&self, profile: Profile) {
        let new = profile.version;
        let old = self.served_profile.swap(Arc::new(profile)).version;
        tracing::info!("profile replaced: version {old} -> {new}");
    }
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Compresses no file's bytes (`files::Uncompressed`): a download keeps its length and the
/// `ETag` that is its hash.
fn not_a_file(_: StatusCode, _: Version, _: &HeaderMap, extensions: &Extensions) -> bool {
    extensions.get::<files::Uncompressed>().is_none()
}

/// The router with every endpoint and layer.
pub fn app(config: Config) -> Router {
    build(config).0
}

/// The router and its state, for a caller that changes the state later (the binary
/// replaces the profile on SIGHUP).
pub fn build(config: Config) -> (Router, AppState) {
    let cors = if config.cors_origins.iter().any(|o| o == "*") {
        CorsLayer::new().allow_origin(Any)
    } else {
        let origins: Vec<_> = config
            .cors_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        CorsLayer::new().allow_origin(AllowOrigin::list(origins))
    }
    .allow_methods(Any)
    .allow_headers(Any)
    .expose_headers([axum::http::header::ETAG, axum::http::header::LOCATION]);
    let state = AppState(Arc::new(Inner {
        db: config.db,
        served_profile: ArcSwap::from_pointee(config.profile),
        auth: config.auth,
        clock: config.clock,
        files: config.files,
    }));
    let router = Router::new()
        .route("/sync/profile", get(sync::profile))
        .route("/sync/estimate", get(estimate::estimate))
        .route("/sync/pull", post(pull::pull))
        .route("/sync/push", post(push::push))
        .route(
            "/api/data/{table}",
            get(rest::get_table)
                .post(rest::post_table)
                .patch(rest::patch_table)
                .delete(rest::delete_table),
        )
        .route(
            "/api/data/{table}/{key}",
            get(rest::read).patch(rest::patch).delete(rest::remove),
        )
        .merge(files::routes())
        .fallback(|| async { error::AppError::from(offline_tables_core::Error::no_endpoint()) })
        .with_state(state.clone());
    #[cfg(feature = "test-faults")]
    let router = if config.test_faults {
        faults::mount(router, &state)
    } else {
        router
    };
    // Outermost last: CORS wraps the fault layer, so injected failures stay readable
    // cross-origin.
    let router = router
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(not_a_file)))
        .layer(cors)
        .layer(TraceLayer::new_for_http());
    (router, state)
}
