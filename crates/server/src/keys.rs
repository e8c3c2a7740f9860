//! Server-assigned keys (protocol §12, revision 3): the next key of a `keyAssigned`
//! table from its sequence (skipping keys already taken), the record of which temporary
//! key of which client got it, and the replacement of temporary keys in a pushed
//! mutation: its own key, and the columns that point at a server-keyed table. Every
//! lookup is by primary key.

use crate::db::{self, key_text, Tx};
use crate::error::{AppError, AppResult};
use offline_tables_core::keys::{is_temp_key, is_temp_value};
use offline_tables_core::protocol::PushMutation;
use offline_tables_core::{Key, MutationOp, Profile, TableDef};
use serde_json::Value;
use sqlx::Row;

/// The next free key of `table`: numbered by its sequence and written by its pattern,
/// skipping numbers whose key a row (or a tombstone) already has, so seeded rows and
/// rows created with a key of their own never collide.
pub async fn next_key(tx: &mut Tx, table: &str, def: &TableDef) -> AppResult<Key> {
    loop {
        let n: i64 = sqlx::query(
            "INSERT INTO ot_key_sequences (tbl, next_n) VALUES ($1, 2) \
             ON CONFLICT (tbl) DO UPDATE SET next_n = ot_key_sequences.next_n + 1 \
             RETURNING next_n - 1",
        )
        .bind(table)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
        let key = match &def.key_pattern {
            Some(p) => p.format(n as u64),
            None => Key::Num(n as f64),
        };
        if db::load(&mut **tx, table, &key_text(&key)).await?.is_none() {
            return Ok(key);
        }
    }
}

/// Records that `client`'s temporary key `temp` of `table` is now `real`.
pub async fn record(
    tx: &mut Tx,
    client: &str,
    table: &str,
    temp: &Key,
    real: &Key,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO ot_assigned_keys (client_id, tbl, temp_key, real_key) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (client_id, tbl, temp_key) DO NOTHING",
    )
    .bind(client)
    .bind(table)
    .bind(key_text(temp))
    .bind(key_text(real))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The key `client`'s temporary key `temp` of `table` was given, if any.
async fn assigned(tx: &mut Tx, client: &str, table: &str, temp: &Key) -> AppResult<Option<Key>> {
    let row = sqlx::query(
        "SELECT real_key FROM ot_assigned_keys WHERE client_id = $1 AND tbl = $2 AND temp_key = $3",
    )
    .bind(client)
    .bind(table)
    .bind(key_text(temp))
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(r) => {
            let text: String = r.try_get(0)?;
            let v: Value = serde_json::from_str(&text).map_err(AppError::internal)?;
            Ok(Key::from_json(&v, "an assigned key").ok())
        }
        None => Ok(None),
    }
}

/// What a mutation becomes once its temporary keys are replaced.
pub enum Mapped {
    /// Apply this mutation; `temp` is the temporary key of a `tempKey` insert, whose new
    /// key is the mutation's.
    Apply {
        mutation: Box<PushMutation>,
        temp: Option<Key>,
    },
    /// Refuse it (`validation`) with this message.
    Refuse(String),
}

/// `m` with its temporary keys replaced (protocol §12): a `tempKey` insert gets the next
/// key of its table; a temporary key in a column pointing at a server-keyed table, or
/// as the key of an update or delete, becomes the key `client` was given for it.
pub async fn map(
    tx: &mut Tx,
    profile: &Profile,
    client: &str,
    m: &PushMutation,
) -> AppResult<Mapped> {
    let Some(def) = profile.tables.get(&m.table) else {
        return Ok(Mapped::Apply {
            mutation: Box::new(m.clone()),
            temp: None,
        });
    };
    let mut out = m.clone();
    let mut temp = None;
    if m.temp_key {
        if !def.key_assigned {
            return Ok(Mapped::Refuse(format!(
                "tempKey on '{}', whose keys the server does not assign",
                m.table
            )));
        }
        if m.op != MutationOp::Insert || !is_temp_key(&m.key) {
            return Ok(Mapped::Refuse(
                "tempKey is for an insert whose key is a temporary key (\"~tmp:...\")".into(),
            ));
        }
        if let Some(real) = assigned(tx, client, &m.table, &m.key).await? {
            // Already given (an insert sent again as a new mutation): the same key.
            out.key = real;
        }
        temp = Some(m.key.clone());
    } else if is_temp_key(&m.key) {
        match assigned(tx, client, &m.table, &m.key).await? {
            Some(real) if m.op != MutationOp::Insert => out.key = real,
            _ => return Ok(Mapped::Refuse(never_applied(&m.table, &m.key))),
        }
    } else if def.key_assigned && m.op == MutationOp::Insert {
        return Ok(Mapped::Refuse(format!(
            "the server assigns the keys of '{}': insert with a temporary key and tempKey",
            m.table
        )));
    }
    // Columns that point at server-keyed tables.
    for (column, target) in profile.assigned_references(&m.table) {
        let cells = out
            .row
            .as_mut()
            .and_then(Value::as_object_mut)
            .into_iter()
            .chain(out.columns.as_mut());
        let mut wanted: Vec<Key> = Vec::new();
        for cols in cells {
            if let Some(v) = cols.get(column).filter(|v| is_temp_value(v)) {
                wanted.extend(Key::from_json(v, column).ok());
            }
        }
        for t in wanted {
            let Some(real) = assigned(tx, client, target, &t).await? else {
                return Ok(Mapped::Refuse(never_applied(target, &t)));
            };
            for cols in out
                .row
                .as_mut()
                .and_then(Value::as_object_mut)
                .into_iter()
                .chain(out.columns.as_mut())
            {
                if cols.get(column).is_some_and(|v| *v == t.to_json()) {
                    cols.insert(column.to_string(), real.to_json());
                }
            }
        }
    }
    // The new key last: a mutation refused above takes no number from the sequence.
    if m.temp_key && out.key == m.key {
        out.key = next_key(tx, &m.table, def).await?;
    }
    if out.key != m.key {
        if let Some(Value::Object(row)) = &mut out.row {
            row.insert(def.key.clone(), out.key.to_json());
        }
    }
    Ok(Mapped::Apply {
        mutation: Box::new(out),
        temp,
    })
}

fn never_applied(table: &str, key: &Key) -> String {
    format!(
        "{key} is a temporary key of '{table}' that the server never assigned: its insert was never applied"
    )
}
