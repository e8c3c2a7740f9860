//! `table.live` and `table.liveCount`: live queries, opened here and followed by the
//! store's registry (`driver/live.rs`), which the core's decision keeps from reading.

use super::table::Table;
use crate::driver::live::{Kind, Listeners};
use crate::error::Thrown;
use js_sys::Function;
use offline_tables_core::live::{Counted, Window};
use offline_tables_core::Query;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Table {
    /// Calls `listener(rows)` with the rows matching `q` (a query object or an OData
    /// string, as `query` takes it) as soon as they are read, then again after every
    /// committed change that alters them: local writes, pulled or settled changes, and
    /// writes from another tab. Never for a change that leaves them as they were, and at
    /// most once per committed transaction. A failing read calls `onError(err)` (else the
    /// console has it). Returns the function that stops it; `close()` stops them all.
    /// Throws `invalid_argument` at once for a bad query.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn live(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Query | undefined")] q: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(rows: Row[]) => void")] listener: Function,
        #[wasm_bindgen(unchecked_optional_param_type = "(error: OfflineTablesError) => void")]
        on_error: Option<Function>,
    ) -> Result<Function, Thrown> {
        self.open_live(q, true, Listeners { listener, on_error })
    }

    /// `live` for `count(q)`: calls `listener(n)` at once and whenever the count changes,
    /// following rows entering and leaving the filter from the changes alone.
    #[wasm_bindgen(js_name = liveCount, unchecked_return_type = "() => void")]
    pub fn live_count(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Query | undefined")] q: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(count: number) => void")] listener: Function,
        #[wasm_bindgen(unchecked_optional_param_type = "(error: OfflineTablesError) => void")]
        on_error: Option<Function>,
    ) -> Result<Function, Thrown> {
        self.open_live(q, false, Listeners { listener, on_error })
    }
}

impl Table {
    fn open_live(&self, q: JsValue, rows: bool, to: Listeners) -> Result<Function, Thrown> {
        let q: Query = super::convert::query(q)?;
        let key = self.db.table(&self.name)?.key;
        let select = crate::storage::read::selected_columns(&q);
        let kind = match rows {
            true => Kind::Rows(Window::new(q, &key)),
            false => Kind::Count(Counted::new(q, &key)),
        };
        let events = self.db.events.clone();
        let id = events
            .live()
            .open(&self.db, (&self.name, &key), kind, select, to);
        let off = Closure::<dyn FnMut()>::new(move || events.live().close(id));
        Ok(off.into_js_value().unchecked_into())
    }
}
