//! Public keys for RS256 and ES256 JWTs: PEM files, JWKS files, and a JWKS URL (an
//! identity provider's `jwks_uri`: Entra ID, Auth0, Keycloak), fetched at start and cached,
//! fetched again when a token names a `kid` the cache lacks (key rotation) or the cache is
//! old, and never more than once per `min_refresh` whatever the tokens say.

use arc_swap::ArcSwap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One key a token may be verified with: the algorithm is the key's, never the token's
/// choice, so an RSA key cannot be used as an HMAC secret (key confusion).
#[derive(Clone)]
pub struct VerifyingKey {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// Why a key file or document cannot be used (at start: the server then refuses to run).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl VerifyingKey {
    /// A PEM public key (`-----BEGIN PUBLIC KEY-----`): RSA gives RS256, EC P-256 ES256.
    pub fn from_pem(pem: &[u8]) -> Result<VerifyingKey, KeyError> {
        let (alg, key) = if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, k)
        } else if let Ok(k) = DecodingKey::from_ec_pem(pem) {
            (Algorithm::ES256, k)
        } else {
            return Err(KeyError(
                "not a PEM RSA or EC P-256 public key (-----BEGIN PUBLIC KEY-----)".into(),
            ));
        };
        Ok(VerifyingKey {
            kid: None,
            alg,
            key,
        })
    }

    /// A JWK, if it is a signing key this server verifies (RS256, or ES256 on P-256);
    /// `None` for others (encryption keys, other algorithms), which a provider's set may hold.
    fn from_jwk(jwk: &Jwk) -> Option<VerifyingKey> {
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            return None;
        }
        // Keycloak and others may leave `alg` out: the key type then decides.
        let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => return None,
        };
        Some(VerifyingKey {
            kid: jwk.common.key_id.clone(),
            alg,
            key: DecodingKey::from_jwk(jwk).ok()?,
        })
    }
}

/// The usable keys of a JWKS document (`{ "keys": [...] }`). Keys this server cannot use are
/// skipped one by one, so one exotic key does not hide the others; a document with none
/// usable is an error.
pub fn parse_jwks(bytes: &[u8]) -> Result<Vec<VerifyingKey>, KeyError> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| KeyError(format!("JWKS is not JSON: {e}")))?;
    let list = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| KeyError("JWKS has no \"keys\" array".into()))?;
    let keys: Vec<VerifyingKey> = list
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .filter_map(|jwk| VerifyingKey::from_jwk(&jwk))
        .collect();
    if keys.is_empty() {
        return Err(KeyError(
            "JWKS holds no RS256 or ES256 (P-256) signing key".into(),
        ));
    }
    Ok(keys)
}

/// How a JWKS URL is cached.
#[derive(Clone, Copy, Debug)]
pub struct RefreshPolicy {
    /// No fetch sooner than this after the last one: tokens naming unknown `kid`s cannot
    /// make the server hammer the provider.
    pub min_refresh: Duration,
    /// Keys older than this are fetched again on the next token (so a revoked key goes).
    pub max_age: Duration,
    /// One fetch's time limit.
    pub timeout: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            min_refresh: Duration::from_secs(30),
            max_age: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A JWKS document larger than this is refused (providers publish a few kB).
const MAX_JWKS_BYTES: usize = 1 << 20;

/// A JWKS URL and its cached keys.
pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    policy: RefreshPolicy,
    keys: ArcSwap<Cached>,
    /// When the last fetch began; held by the one request that fetches, so others wait and
    /// then use what it got.
    fetching: tokio::sync::Mutex<Instant>,
}

struct Cached {
    keys: Arc<Vec<VerifyingKey>>,
    at: Instant,
}

impl RemoteJwks {
    /// Fetches the URL once: a server that cannot read its keys at start says so and stops.
    pub async fn fetch_at_start(url: &str, policy: RefreshPolicy) -> Result<RemoteJwks, KeyError> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .build()
            .map_err(|e| KeyError(format!("HTTP client: {e}")))?;
        let keys = fetch(&client, url).await?;
        Ok(RemoteJwks {
            url: url.to_string(),
            client,
            policy,
            keys: ArcSwap::from_pointee(Cached {
                keys: Arc::new(keys),
                at: Instant::now(),
            }),
            fetching: tokio::sync::Mutex::new(Instant::now()),
        })
    }

    /// The keys to try for a token naming `kid`, fetched anew first if the cache lacks that
    /// `kid` or is old, and the last fetch is `min_refresh` ago.
    pub async fn keys(&self, kid: Option<&str>) -> Arc<Vec<VerifyingKey>> {
        let cached = self.keys.load_full();
        if !self.wants_fetch(&cached, kid) {
            return cached.keys.clone();
        }
        let mut last = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let cached = self.keys.load_full();
        if !self.wants_fetch(&cached, kid) || last.elapsed() < self.policy.min_refresh {
            return cached.keys.clone();
        }
        *last = Instant::now();
        match fetch(&self.client, &self.url).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                self.keys.store(Arc::new(Cached {
                    keys: keys.clone(),
                    at: Instant::now(),
                }));
                keys
            }
            Err(e) => {
                // The keys in hand stay in use: a provider's outage must not log everyone out.
                tracing::warn!("JWKS {}: keeping the cached keys: {e}", self.url);
                cached.keys.clone()
            }
        }
    }

    fn wants_fetch(&self, cached: &Cached, kid: Option<&str>) -> bool {
        let known = match kid {
            Some(kid) => cached.keys.iter().any(|k| k.kid.as_deref() == Some(kid)),
            None => true,
        };
        !known || cached.at.elapsed() >= self.policy.max_age
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<VerifyingKey>, KeyError> {
    let fail = |e: &dyn std::fmt::Display| KeyError(format!("cannot fetch JWKS {url}: {e}"));
    let mut resp = client.get(url).send().await.map_err(|e| fail(&e))?;
    if !resp.status().is_success() {
        return Err(fail(&format!("HTTP {}", resp.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| fail(&e))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_JWKS_BYTES {
            return Err(fail(&format!("larger than {MAX_JWKS_BYTES} bytes")));
        }
    }
    parse_jwks(&body).map_err(|e| fail(&e))
}
