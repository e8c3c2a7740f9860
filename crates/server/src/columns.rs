//! Column selection on the server (protocol.md §2, `columns` in a table's profile): a
//! client is sent only a table's selected columns and its key, may write only those, and
//! its writes leave the stored row's other columns as they were. The endpoints call these
//! three functions; the REST rules the fetch interceptor shares (bodies and `$` options
//! naming other columns) are in the core's `rest` module. Scope is always evaluated on the
//! full stored row, so a scope may use columns that are not selected.

use offline_tables_core::protocol::PushMutation;
use offline_tables_core::{Error, TableDef};
use serde_json::{Map, Value};

/// `row` as a client sees it: the selected columns and the key (the row itself when the
/// table selects none).
pub fn sent(def: &TableDef, row: Map<String, Value>) -> Map<String, Value> {
    def.project(row)
}

/// The row to store when a client writes `row` (its columns all selected: a write naming
/// another is refused first) over `current`, the stored live row if any: `row`, plus
/// `current`'s unselected columns as they were. A selected column `row` lacks stays out.
pub fn kept(
    def: &TableDef,
    mut row: Map<String, Value>,
    current: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    if def.columns.is_some() {
        for (c, v) in current.into_iter().flatten() {
            if !def.keeps(c) {
                row.insert(c.clone(), v.clone());
            }
        }
    }
    row
}

/// Why mutation `m` on `table` is refused, when its row or its columns name a column the
/// table does not select.
pub fn refused(def: &TableDef, table: &str, m: &PushMutation) -> Option<String> {
    let row = m.row.as_ref().and_then(Value::as_object);
    let named = row
        .into_iter()
        .chain(m.columns.as_ref())
        .flat_map(Map::keys);
    def.unselected(named)
        .map(|c| Error::unselected("", table, c).message)
}
