//! The JS API (wasm-bindgen exports): converts values at the boundary and calls the
//! storage layer. No logic lives here. The domain's TypeScript types are declared once
//! in `types.d.ts` (the fetch interceptor's options beside it, in `intercept.rs`) and named by
//! the exported methods.

pub(crate) mod convert;
mod intercept;
mod live;
mod store;
mod table;
mod transaction;

pub use store::OfflineStore;
pub use table::Table;

use crate::error::Error;
use js_sys::Promise;
use std::future::Future;
use std::pin::Pin;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

/// Runs `fut` as a JS promise that rejects with the error's JS `Error` (with `code`).
pub(crate) fn promise<F>(fut: F) -> Promise
where
    F: Future<Output = Result<JsValue, Error>> + 'static,
{
    boxed_promise(Box::pin(fut))
}

/// A promise already rejected with `e`'s JS `Error`, for a call refused before it starts.
pub(crate) fn rejected(e: &Error) -> Promise {
    Promise::reject(&crate::error::to_js(e))
}

/// The one instantiation of `future_to_promise` for every API call: generic over each
/// call's future it compiled a copy per method (22 copies, ~6 kB of wasm).
#[inline(never)]
fn boxed_promise(fut: Pin<Box<dyn Future<Output = Result<JsValue, Error>>>>) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        fut.await.map_err(|e| crate::error::to_js(&e))
    })
}
