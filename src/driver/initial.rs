//! The first download: progress per table for the status (rows so far, against the
//! server's estimate when it gives one), and the storage checks before it starts: the
//! estimated size against `navigator.storage.estimate()`, and a request for persistent
//! storage.

use offline_tables_core::by_name::ByName;
use offline_tables_core::protocol::{Change, Estimate, PullResponse};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Room to leave free beyond the download's JSON size: IndexedDB's own overhead and the
/// app's other writes.
const HEADROOM: f64 = 1.2;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct TableProgress {
    pub rows: u64,
    pub total: Option<u64>,
}

/// Where the first download stands.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Progress {
    pub done: bool,
    /// By table name, in order.
    pub tables: ByName<TableProgress>,
    /// The stored state and local counts were read in this session.
    pub loaded: bool,
    /// The server's estimate was asked for in this session (answered or not).
    pub estimated: bool,
    /// Files of `download: "sync"` columns: downloaded, and to download (None until the
    /// rows are in and the store knows which files they name).
    pub files: (u64, Option<u64>),
}

impl Progress {
    pub fn new<'a>(tables: impl Iterator<Item = &'a String>) -> Progress {
        let mut p = Progress::default();
        for t in tables {
            p.table(t);
        }
        p
    }

    /// The progress of `name`, added if it is not there yet.
    pub fn table(&mut self, name: &str) -> &mut TableProgress {
        self.tables.entry(name, TableProgress::default)
    }

    /// Whether table `t`'s part of the download is over (the status's `tables.*.done`;
    /// `api::convert::InitialSync` writes it out).
    pub fn table_done(&self, t: &TableProgress) -> bool {
        self.done || t.total.is_some_and(|total| t.rows >= total)
    }

    pub fn set_estimate(&mut self, estimate: &Estimate) {
        for (name, t) in self.tables.iter_mut() {
            t.total = estimate.table(name).map(|e| e.rows);
        }
    }

    /// Counts a page's rows into the progress. A row sent twice (it changed during the
    /// download) counts twice, so `rows` is capped at the total while the download runs.
    pub fn add_page(&mut self, page: &PullResponse) {
        for c in &page.changes {
            match c {
                Change::Upsert { table, .. } => {
                    if let Some(t) = self.tables.get_mut(table) {
                        t.rows += 1;
                        if let Some(total) = t.total {
                            t.rows = t.rows.min(total);
                        }
                    }
                }
                Change::Remove { table, .. } => {
                    if let Some(t) = self.tables.get_mut(table) {
                        t.rows = t.rows.saturating_sub(1);
                    }
                }
                Change::Unknown => {}
            }
        }
    }
}

fn storage_manager() -> Option<JsValue> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    js_sys::Reflect::get(&navigator, &"storage".into())
        .ok()
        .filter(|s| s.is_object())
}

fn method(target: &JsValue, name: &str) -> Option<js_sys::Function> {
    js_sys::Reflect::get(target, &name.into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()
}

/// `navigator.storage.estimate()`: the bytes this origin uses and may use (`usage`,
/// `quota`), each when the browser says.
pub async fn storage_estimate() -> (Option<f64>, Option<f64>) {
    let est = async {
        let storage = storage_manager()?;
        let promise = method(&storage, "estimate")?
            .call0(&storage)
            .ok()?
            .dyn_into::<js_sys::Promise>()
            .ok()?;
        JsFuture::from(promise).await.ok()
    };
    let Some(est) = est.await else {
        return (None, None);
    };
    let get = |k: &str| js_sys::Reflect::get(&est, &k.into()).ok()?.as_f64();
    (get("usage"), get("quota"))
}

/// The bytes this origin may still store (`quota - usage`), when the browser says.
pub async fn storage_room() -> Option<f64> {
    let (usage, quota) = storage_estimate().await;
    Some(quota? - usage.unwrap_or(0.0))
}

/// A message when a download of `bytes` (JSON) will not fit in `room`.
pub fn too_big(bytes: u64, room: f64) -> Option<String> {
    let needed = bytes as f64 * HEADROOM;
    (needed > room).then(|| {
        format!(
            "the first download needs about {} but the browser allows this site only {} more; free some space and sync again",
            human(needed),
            human(room.max(0.0))
        )
    })
}

/// Whole numbers only: `{:.1}` on an f64 would link the float formatter (~15 kB of wasm).
fn human(bytes: f64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if bytes >= MB {
        let tenths = (bytes * 10.0 / MB).round() as u64;
        format!("{}.{} MB", tenths / 10, tenths % 10)
    } else {
        format!("{} KB", (bytes / 1024.0).ceil() as u64)
    }
}

/// Asks the browser not to evict this origin's data under storage pressure
/// (`navigator.storage.persist()`). A refusal only means best-effort storage, so the
/// answer is not awaited.
pub fn ask_persistent_storage() {
    let Some(storage) = storage_manager() else {
        return;
    };
    let Some(p) = method(&storage, "persist")
        .and_then(|f| f.call0(&storage).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return;
    };
    // Swallow a rejection: persistence is a request, not a requirement. Once per first
    // download: leaking the tiny handler is simpler than owning it.
    let ignore = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
    let _ = p.catch(&ignore);
    ignore.forget();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human(3.0 * 1024.0 * 1024.0), "3.0 MB");
        assert_eq!(human(1500.0), "2 KB");
        assert_eq!(human(1.25 * 1024.0 * 1024.0), "1.3 MB");
        assert_eq!(human(2047.0 * 1024.0 * 1024.0), "2047.0 MB");
        assert!(too_big(1000, 2000.0).is_none());
        assert!(too_big(1000, 1100.0).unwrap().contains("2 KB"));
    }
}
