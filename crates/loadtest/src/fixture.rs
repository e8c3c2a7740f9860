//! What the load test seeds: the profile, one user (and token) per simulated client, their
//! rows, and each user's expected scope, computed here from what was seeded and pushed,
//! independently of the server's scope code.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const DAY_MS: i64 = 86_400_000;

/// The demo's shape: accounts by owner, their recent work orders (a `related` scope
/// AND-ed with `modifiedWithinDays`), read-only products for everyone.
pub const PROFILE: &str = r#"{ "version": 1, "tables": {
  "accounts":   { "key": "id", "indexes": ["ownerId"], "conflict": "merge",
                  "scope": { "owner": "ownerId" } },
  "workorders": { "key": "id", "indexes": ["accountId", "modifiedOn"], "conflict": "manual",
                  "scope": { "related": { "table": "accounts", "column": "accountId" },
                             "modifiedWithinDays": { "column": "modifiedOn", "days": 30 } } },
  "products":   { "key": "id", "readOnly": true, "scope": "all" } } }"#;

const ACCOUNTS_PER_USER: usize = 3;
const PRODUCTS: usize = 20;
pub const JWT_SECRET: &str = "loadtest-secret";

/// The rows a user should hold, by table and key: what the test seeded for them and every
/// mutation the server acknowledged as applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows(pub BTreeMap<(String, String), Value>);

impl Rows {
    pub fn put(&mut self, table: &str, row: Value) {
        let key = row["id"].as_str().expect("string keys").to_string();
        self.0.insert((table.to_string(), key), row);
    }
    /// The rows of `self` in `user`'s scope at `now_ms`, by the profile's rules: own
    /// accounts, work orders of those accounts modified in the last 30 days, every product.
    pub fn scope_of(&self, user: &str, now_ms: i64) -> Rows {
        let owned: Vec<&str> = self
            .0
            .iter()
            .filter(|((t, _), r)| t == "accounts" && r["ownerId"].as_str() == Some(user))
            .map(|((_, k), _)| k.as_str())
            .collect();
        let keep = |t: &str, r: &Value| match t {
            "accounts" => r["ownerId"].as_str() == Some(user),
            "workorders" => {
                r["accountId"].as_str().is_some_and(|a| owned.contains(&a))
                    && r["modifiedOn"]
                        .as_i64()
                        .is_some_and(|m| m >= now_ms - 30 * DAY_MS)
            }
            "products" => true,
            _ => false,
        };
        Rows(
            self.0
                .iter()
                .filter(|((t, _), r)| keep(t, r))
                .map(|(k, r)| (k.clone(), r.clone()))
                .collect(),
        )
    }
}

pub struct User {
    pub id: String,
    /// Even users hold a static token (`--tokens`), odd users an HS256 JWT.
    pub token: String,
    /// Everything seeded that this user may see or write (their accounts and work orders,
    /// the products).
    pub seeded: Rows,
}

pub struct Fixture {
    pub users: Vec<User>,
    pub seed: Value,
    pub tokens: Value,
}

pub fn build(n: usize, now_ms: i64) -> Fixture {
    let mut accounts = Vec::new();
    let mut workorders = Vec::new();
    let products: Vec<Value> = (0..PRODUCTS)
        .map(|p| json!({ "id": format!("p{p:02}"), "name": format!("Part {p}"), "price": 10 + p }))
        .collect();
    let mut tokens = Map::new();
    let mut users = Vec::new();
    for i in 0..n {
        let id = format!("u{i:04}");
        let mut seeded = Rows::default();
        for p in &products {
            seeded.put("products", p.clone());
        }
        for a in 0..ACCOUNTS_PER_USER {
            let acc = format!("acc-{id}-{a}");
            let row = json!({ "id": acc, "name": format!("Account {a} of {id}"), "city": "Lyon",
                              "ownerId": id, "visits": 0 });
            seeded.put("accounts", row.clone());
            accounts.push(row);
            // Two recent work orders and one 60 days old (outside the 30-day window).
            for (w, age_days) in [(0, 1 + (i % 20) as i64), (1, 5), (2, 60)] {
                let row = json!({ "id": format!("wo-{id}-{a}-{w}"), "accountId": acc,
                                  "status": "open", "modifiedOn": now_ms - age_days * DAY_MS });
                seeded.put("workorders", row.clone());
                workorders.push(row);
            }
        }
        let token = if i % 2 == 0 {
            let t = format!("tok-{id}");
            tokens.insert(t.clone(), Value::String(id.clone()));
            t
        } else {
            jwt(&id, now_ms / 1000 + 3 * 3600)
        };
        users.push(User { id, token, seeded });
    }
    Fixture {
        users,
        seed: json!({ "accounts": accounts, "workorders": workorders, "products": products }),
        tokens: Value::Object(tokens),
    }
}

fn jwt(sub: &str, exp: i64) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": sub, "exp": exp }),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("HS256 signing")
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_scope_is_their_accounts_their_recent_work_orders_and_every_product() {
        let now = 1_800_000_000_000;
        let fx = build(4, now);
        let u1 = &fx.users[1];
        let scope = u1.seeded.scope_of(&u1.id, now);
        let count = |t: &str| scope.0.keys().filter(|(table, _)| table == t).count();
        assert_eq!(count("accounts"), ACCOUNTS_PER_USER);
        // Two recent work orders per account; the 60-day-old one is out.
        assert_eq!(count("workorders"), 2 * ACCOUNTS_PER_USER);
        assert!(!scope
            .0
            .contains_key(&("workorders".into(), "wo-u0001-0-2".into())));
        assert_eq!(count("products"), PRODUCTS);
        // Another user's rows are never in it, even when present.
        let mut mixed = u1.seeded.clone();
        mixed.0.extend(fx.users[2].seeded.0.clone());
        assert_eq!(mixed.scope_of(&u1.id, now), scope);
        // A work order leaves the window as time passes.
        assert_eq!(
            u1.seeded
                .scope_of(&u1.id, now + 40 * DAY_MS)
                .0
                .keys()
                .filter(|(t, _)| t == "workorders")
                .count(),
            0
        );
        // Seed and tokens: every row once, static tokens for even users only.
        assert_eq!(
            fx.seed["accounts"].as_array().unwrap().len(),
            4 * ACCOUNTS_PER_USER
        );
        assert_eq!(fx.tokens.as_object().unwrap().len(), 2);
        assert_eq!(fx.tokens["tok-u0000"], "u0000");
        assert!(fx.users[1].token.starts_with("ey"), "odd users hold a JWT");
    }
}
