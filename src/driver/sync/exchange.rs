//! The sync driver's exchanges with the server: push a frozen batch and settle its
//! outcomes, pull and apply pages (with the first download's estimate and progress),
//! resync from scratch, and adopt a newer profile from the server. Each returns the
//! engine event that reports how it went (see `Syncer::run` in the parent module).

use super::{storage_failure, Syncer, PULL_LIMIT, PUSH_BATCH};
use crate::driver::initial;
use crate::driver::leadership::Message;
use crate::storage::checkpoints::lowest;
use crate::storage::Applied;
use crate::transport::Pulled;
use offline_tables_core::engine::{Event, Failure};
use offline_tables_core::protocol::checkpoint_of;
use offline_tables_core::protocol::{
    answers, Change, Estimate, PullRequest, PullResponse, PushRequest, PushResponse,
    PROTOCOL_VERSION,
};
use offline_tables_core::Profile;
use std::rc::Rc;

/// The answer to a pull request sent ahead of time (see `Syncer::apply_and_fetch_ahead`).
pub(super) struct Ahead {
    request: PullRequest,
    answer: Result<Pulled, Failure>,
}

impl Syncer {
    /// Pushes a batch; once nothing more is to push, sends the queued file uploads
    /// (their rows' changes are applied on the server by then).
    pub(super) async fn push(self: &Rc<Self>, request: u64) -> Event {
        let ev = self.push_batch(request).await;
        if let Event::PushDone { more: false, .. } = ev {
            self.send_uploads().await;
        }
        ev
    }

    async fn push_batch(self: &Rc<Self>, request: u64) -> Event {
        // A page fetched ahead predates what this push settles: never apply it after.
        self.ahead.borrow_mut().take();
        let batch = match self.db.freeze_batch(PUSH_BATCH).await {
            Ok(b) => b,
            Err(e) => {
                return Event::Failed {
                    request,
                    failure: storage_failure(e),
                }
            }
        };
        let Some(batch) = batch else {
            return Event::PushDone {
                request,
                more: false,
            };
        };
        let user = match self.db.user().await {
            Ok(u) => u,
            Err(e) => {
                return Event::Failed {
                    request,
                    failure: storage_failure(e),
                }
            }
        };
        let body = PushRequest {
            // 2 for a push holding a transaction or a temporary key: see `push_version`.
            protocol_version: offline_tables_core::protocol::push_version(&batch.mutations),
            client_id: batch.client_id.clone(),
            mutations: batch.mutations.clone(),
            user,
        };
        let resp: PushResponse = match self.server.post("/sync/push", &body).await {
            Ok(r) => r,
            Err(failure) => return Event::Failed { request, failure },
        };
        if let Err(message) = answers::check_push(&body.mutations, &resp, &self.db.profile()) {
            // Nothing is acknowledged: the batch stays in flight and is sent again.
            return Event::Failed {
                request,
                failure: Failure::Malformed { message },
            };
        }
        match self.db.settle_batch(&resp.outcomes).await {
            Ok(settled) => {
                // The outbox and the kept conflicts changed (remote change events do not
                // recount: most of them, a download's, change neither).
                self.refresh_counts();
                // Conflicts settled by policy (merge, client-wins: sent again) count too.
                self.board.pushed(
                    settled.applied as u32,
                    (settled.conflicts + settled.resent) as u32,
                    settled.rejected as u32,
                );
                for c in &settled.kept {
                    self.announce(&self.conflict_events, Message::Conflict, c);
                }
                for e in &settled.refused {
                    self.announce(&self.error_events, Message::SyncError, e);
                }
            }
            Err(e) => {
                return Event::Failed {
                    request,
                    failure: storage_failure(e),
                }
            }
        }
        match self.db.pending().await {
            Ok(p) => Event::PushDone {
                request,
                more: !p.is_empty(),
            },
            Err(e) => Event::Failed {
                request,
                failure: storage_failure(e),
            },
        }
    }

    /// Pulls `tables` (None: every table).
    pub(super) async fn pull(self: &Rc<Self>, request: u64, tables: Option<Vec<String>>) -> Event {
        // A page fetched ahead answers the request this pull would make: its state needs
        // no read (a download makes a hundred pulls, and every transaction waits for the
        // page written before it). That the store is still at the checkpoint it was
        // pulled from is checked where it is written (`Applied::Stale`).
        let ahead = self
            .ahead
            .borrow_mut()
            .take()
            .filter(|a| a.request.tables == tables);
        let (body, fetched) = match ahead {
            Some(Ahead { request, answer }) => (request, Some(answer)),
            None => (
                match self.pull_request(tables).await {
                    Ok(body) => body,
                    Err(failure) => return Event::Failed { request, failure },
                },
                None,
            ),
        };
        if let Err(failure) = self
            .prepare_download(body.checkpoints.iter().flatten().all(|(_, c)| c.is_none()))
            .await
        {
            return Event::Failed { request, failure };
        }
        let fetched = match fetched {
            Some(answer) => answer,
            None => self.server.pull(&body, &self.db.profile()).await,
        };
        let Pulled { page, rows } = match fetched {
            Ok(p) => p,
            Err(failure) => return Event::Failed { request, failure },
        };
        self.take_page(request, body, page, rows).await
    }

    /// The next pull request of `tables` (None: every table), from the store's state
    /// read in one transaction: every table's checkpoint, and the lowest of them for a
    /// server without per-table checkpoints (protocol §4).
    async fn pull_request(&self, tables: Option<Vec<String>>) -> Result<PullRequest, Failure> {
        let state = self.db.pull_state().await.map_err(storage_failure)?;
        let client_id = match state.client_id {
            Some(id) => id,
            None => self.db.client_id().await.map_err(storage_failure)?,
        };
        Ok(PullRequest {
            protocol_version: PROTOCOL_VERSION,
            client_id,
            checkpoint: lowest(&state.checkpoints),
            limit: Some(PULL_LIMIT),
            user: state.user,
            checkpoints: Some(state.checkpoints),
            tables,
        })
    }

    /// Checks and applies a page pulled for `body`.
    async fn take_page(
        self: &Rc<Self>,
        request: u64,
        body: PullRequest,
        page: PullResponse,
        rows: js_sys::Array,
    ) -> Event {
        if let Err(message) = answers::check_pull(&body, &page, &self.db.profile()) {
            return Event::Failed {
                request,
                failure: Failure::Malformed { message },
            };
        }
        // The answer says whose rows it holds: a store not yet bound takes that user; a
        // store of another user applies nothing (a server that ignored `user`).
        if let Some(u) = page
            .user
            .as_ref()
            .filter(|u| body.user.as_ref() != Some(*u))
        {
            if let Err(e) = self.db.bind_user(u).await {
                return Event::Failed {
                    request,
                    failure: storage_failure(e),
                };
            }
        }
        if page
            .profile_version
            .is_some_and(|v| v > self.db.profile().version)
        {
            // The server's profile changed: upgrade before applying anything, so no row
            // of a new table is skipped while the checkpoint moves past it.
            match self.adopt_server_profile().await {
                Ok(false) => {}
                Ok(true) => return self.resync(request).await,
                Err(failure) => return Event::Failed { request, failure },
            }
        }
        if page.resync {
            // The server no longer has what our checkpoint needs: start over.
            return self.resync(request).await;
        }
        // Changes of kinds this client does not know are skipped, not pulled.
        let pulled = page
            .changes
            .iter()
            .filter(|c| !matches!(c, offline_tables_core::protocol::Change::Unknown))
            .count() as u32;
        match self.apply_and_fetch_ahead(&body, &page, &rows).await {
            // Pulled from a checkpoint the store has left: pull again from where it is.
            Ok(Applied::Stale) => Event::PullDone {
                request,
                has_more: true,
            },
            Ok(Applied::Written { moot }) => {
                if moot {
                    self.refresh_counts();
                }
                self.board.pulled(pulled);
                let initial = !self.board.initial_done();
                if initial {
                    self.board.page_written(&page);
                }
                if !page.has_more {
                    // The files of a first download are part of it: it ends after them.
                    self.fetch_files(body.tables.as_deref(), initial).await;
                    if initial {
                        if let Err(e) = self.db.mark_initial_sync_done().await {
                            return Event::Failed {
                                request,
                                failure: storage_failure(e),
                            };
                        }
                        self.board.initial_finished();
                    }
                }
                if initial {
                    self.publish();
                }
                Event::PullDone {
                    request,
                    has_more: page.has_more,
                }
            }
            Err(e) => Event::Failed {
                request,
                failure: storage_failure(e),
            },
        }
    }

    /// Writes `page` and, when more pages follow, fetches the next one at the same time, so a
    /// download costs per page the longer of the two, not their sum. The page and its checkpoint
    /// still commit together (`apply_page` is one transaction, which never awaits the fetch); the
    /// page fetched ahead is kept only once this one is written, for the next pull of this sync
    /// cycle, and is written only if the store is still at this page's checkpoint then. A failed
    /// write drops it.
    async fn apply_and_fetch_ahead(
        &self,
        body: &PullRequest,
        page: &PullResponse,
        rows: &js_sys::Array,
    ) -> crate::error::Result<Applied> {
        let mine = body.checkpoints.clone().unwrap_or_default();
        // The tables the page moves: those pulled, or every one from a server without
        // per-table checkpoints (it answered for all, from the lowest checkpoint).
        let asked: Vec<(String, Option<String>)> = match (&page.checkpoints, &body.tables) {
            (Some(_), Some(t)) => mine.into_iter().filter(|(n, _)| t.contains(n)).collect(),
            _ => mine,
        };
        // A pull acknowledges every removal up to its checkpoint: the server then forgets
        // them (`ot_views`). Sent ahead from a page that carries removals, it would
        // acknowledge removals not yet written, and a failed write would lose them (the
        // pull again from the old checkpoint no longer brings them). So a page with a
        // removal is written first, as before; first downloads seldom carry any.
        let removes = page
            .changes
            .iter()
            .any(|c| matches!(c, Change::Remove { .. }));
        if !page.has_more || page.resync || removes {
            return self.db.apply_pulled_page(page, rows, &asked).await;
        }
        // The state once this page is applied: its checkpoints, and the user the store is
        // bound to (bound above).
        let mut checkpoints = body.checkpoints.clone().unwrap_or_default();
        for (t, c) in checkpoints.iter_mut() {
            if checkpoint_of(&asked, t).is_some() {
                let to = page
                    .checkpoints
                    .as_deref()
                    .and_then(|m| checkpoint_of(m, t));
                *c = Some(to.unwrap_or(&page.checkpoint).clone());
            }
        }
        let next = PullRequest {
            checkpoint: lowest(&checkpoints),
            checkpoints: Some(checkpoints),
            user: page.user.clone().or_else(|| body.user.clone()),
            ..body.clone()
        };
        let profile = self.db.profile();
        let (applied, answer) = futures_util::future::join(
            self.db.apply_pulled_page(page, rows, &asked),
            self.server.pull(&next, &profile),
        )
        .await;
        if let Ok(Applied::Written { .. }) = applied {
            *self.ahead.borrow_mut() = Some(Ahead {
                request: next,
                answer,
            });
        }
        applied
    }

    /// Reads, once per session, whether the first download is done and how many rows
    /// each table holds.
    pub(super) async fn load_progress(&self) -> Result<(), Failure> {
        if self.board.progress_loaded() {
            return Ok(());
        }
        let done = self.db.initial_sync_done().await.map_err(storage_failure)?;
        let mut counts = Vec::new();
        for t in self.db.profile().tables.keys() {
            let n = self
                .db
                .count_rows(t, &Default::default())
                .await
                .map_err(storage_failure)?;
            counts.push((t.clone(), n as u64));
        }
        self.board.load_progress(done, counts);
        Ok(())
    }

    /// Before a page of the first download: the stored state and local counts (once per
    /// session), the server's estimate (once), and, before the very first page, the
    /// storage check and the request for persistent storage.
    pub(super) async fn prepare_download(&self, first_page: bool) -> Result<(), Failure> {
        self.load_progress().await?;
        if self.board.initial_done() {
            return Ok(());
        }
        if self.board.ask_estimate() {
            match self.server.get::<Estimate>("/sync/estimate").await {
                Ok(est) => {
                    self.board.set_estimate(&est);
                    if first_page {
                        if let Some(room) = initial::storage_room().await {
                            if let Some(message) = initial::too_big(est.bytes, room) {
                                // Ask again at the next attempt: space may have been freed.
                                self.board.estimate_failed();
                                return Err(Failure::QuotaExceeded { message });
                            }
                        }
                    }
                }
                // An older server without estimates: download without totals.
                Err(Failure::Server { status: 404 }) => {}
                Err(f) => {
                    self.board.estimate_failed();
                    return Err(f);
                }
            }
        }
        if first_page {
            initial::ask_persistent_storage();
        }
        self.publish();
        Ok(())
    }

    /// Starts over (keeping pending changes) and pulls again from no checkpoint.
    pub(super) async fn resync(&self, request: u64) -> Event {
        match self.db.reset_for_resync().await {
            Ok(()) => {
                self.board.restart_download(self.db.profile().tables.keys());
                Event::PullRestarted { request }
            }
            Err(e) => Event::Failed {
                request,
                failure: storage_failure(e),
            },
        }
    }

    /// Fetches the server's newer profile and upgrades the local schema to it, keeping
    /// every row and pending change. True when rows this store never pulled may now be
    /// in scope (a new table, a changed scope): those need a full resync.
    pub(super) async fn adopt_server_profile(&self) -> Result<bool, Failure> {
        let json: serde_json::Value = self.server.get("/sync/profile").await?;
        let profile = Profile::from_json(&json).map_err(|e| Failure::Malformed {
            message: format!("the server's profile is invalid: {e}"),
        })?;
        let old = self.db.profile();
        let widened = profile
            .tables
            .iter()
            .any(|(name, t)| old.tables.get(name).map_or(true, |o| o.scope != t.scope));
        self.db.upgrade_to(profile).await.map_err(storage_failure)?;
        Ok(widened)
    }
}
