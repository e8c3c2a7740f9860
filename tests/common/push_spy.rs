//! What the page pushed and what the server answered (`push_spy.js`), seen from outside
//! the store: the request bodies and answers of every `/sync/push` since the last reset.

use serde_json::Value;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/tests/common/push_spy.js")]
extern "C" {
    /// Forgets what was seen (and any hook); installs the spy on first use.
    #[wasm_bindgen(js_name = spyReset)]
    pub fn spy_reset();
    /// Runs `f` once, in a microtask right after the next push request was sent.
    #[wasm_bindgen(js_name = spyOnNextPush)]
    pub fn spy_on_next_push(f: &JsValue);
    /// The push request bodies sent since the reset, as a JSON array.
    #[wasm_bindgen(js_name = spySent)]
    pub fn spy_sent() -> String;
    /// The push answers received since the reset (also those nobody read), as JSON.
    #[wasm_bindgen(js_name = spyAnswers)]
    pub fn spy_answers() -> String;
}

/// Every mutation of every push sent since the reset, in order.
pub fn sent_mutations() -> Vec<Value> {
    flatten(&spy_sent(), "mutations")
}

/// Every outcome of every push answer received since the reset, in order.
pub fn received_outcomes() -> Vec<Value> {
    flatten(&spy_answers(), "outcomes")
}

fn flatten(json: &str, field: &str) -> Vec<Value> {
    let all: Vec<Value> = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    all.iter()
        .flat_map(|b| match &b[field] {
            Value::Array(items) => items.clone(),
            v => panic!("no {field} array in {b}: {v}"),
        })
        .collect()
}
