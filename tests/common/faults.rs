//! The test server's fault layer (`/_test/faults`, see crates/server/src/faults.rs),
//! from browser tests: rules scoped to one user, and what fired since a test began.

use super::server::rest_as;
use serde_json::{json, Value};

/// A call to the fault layer (no token needed): status and JSON body.
pub async fn fault_api(method: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    rest_as("", method, "/_test/faults", body.as_deref()).await
}

/// The fault rules and fired faults of one user, seen from the point a test began.
pub struct Faults {
    user: &'static str,
    seen: std::cell::Cell<usize>,
}

impl Faults {
    /// Starts a test for `user`: clears rules a failed earlier test left for them.
    pub async fn begin(user: &'static str) -> Faults {
        let f = Faults {
            user,
            seen: 0.into(),
        };
        if !f.rules_left().await.is_empty() {
            let (status, body) = fault_api("DELETE", None).await;
            assert_eq!(status, 200, "{body}");
        }
        f.seen.set(f.all_fired().await.len());
        f
    }

    /// Adds rules (each gets `"user": user`).
    pub async fn add(&self, rules: Value) {
        let mut rules = rules;
        for r in rules.as_array_mut().expect("an array of rules") {
            r["user"] = self.user.into();
        }
        let (status, body) = fault_api("POST", Some(json!({ "rules": rules }))).await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn log(&self) -> Value {
        let (status, body) = fault_api("GET", None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn all_fired(&self) -> Vec<Value> {
        let log = self.log().await;
        let fired = log["fired"].as_array().cloned().unwrap_or_default();
        fired
            .into_iter()
            .filter(|f| f["user"] == self.user)
            .collect()
    }

    /// The faults that fired for this user since `begin`, as "kind METHOD path".
    pub async fn fired(&self) -> Vec<String> {
        self.all_fired().await[self.seen.get()..]
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}",
                    f["kind"].as_str().unwrap(),
                    f["method"].as_str().unwrap(),
                    f["path"].as_str().unwrap()
                )
            })
            .collect()
    }

    pub async fn rules_left(&self) -> Vec<Value> {
        let log = self.log().await;
        let rules = log["rules"].as_array().cloned().unwrap_or_default();
        rules
            .into_iter()
            .filter(|r| r["user"] == self.user)
            .collect()
    }

    /// Drops the rules still left and the log of what fired (the layer holds one test's
    /// rules at a time): `fired` starts again from nothing.
    pub async fn clear(&self) {
        let (status, body) = fault_api("DELETE", None).await;
        assert_eq!(status, 200, "{body}");
        self.seen.set(0);
    }

    /// Every rule of the test was used up.
    pub async fn assert_used_up(&self) {
        let left = self.rules_left().await;
        assert!(left.is_empty(), "rules left unused: {left:?}");
    }
}
