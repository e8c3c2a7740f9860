//! The network: JSON POSTs to the sync server with a bearer token, a timeout through
//! AbortController, and every failure sorted into the engine's `Failure` kinds. Only this
//! folder talks to the network.

use gloo_net::http::Request;
use offline_tables_core::engine::Failure;
use offline_tables_core::protocol::wire::{self, FromValue};
use offline_tables_core::protocol::{ErrorBody, PullRequest, PullResponse};
use offline_tables_core::ErrorCode;
use offline_tables_core::Profile;
use serde::Serialize;
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/transport/page.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = splitPage)]
    fn split_page(
        text: &wasm_bindgen::JsValue,
        keys: &wasm_bindgen::JsValue,
    ) -> Result<js_sys::Array, wasm_bindgen::JsValue>;
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/transport/files.js")]
extern "C" {
    #[wasm_bindgen(js_name = sendFiles)]
    fn send_files(
        base: &str,
        token: Option<String>,
        timeout: u32,
        queue: &js_sys::Array,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = getFiles)]
    fn get_files(
        base: &str,
        token: Option<String>,
        timeout: u32,
        cells: &js_sys::Array,
    ) -> js_sys::Promise;
}

/// A pull answer: the page as Rust reads and checks it, with each upsert's row cut down
/// to its key column, and the rows themselves as the JS objects the store writes
/// (`rows[i]` is the row of `page.changes[i]`, undefined for a change without one).
pub struct Pulled {
    pub page: PullResponse,
    pub rows: js_sys::Array,
}

impl Pulled {
    /// A pull answer's text split by `page.js`, the key columns taken from `profile`.
    pub fn split(text: &str, profile: &Profile) -> Result<Pulled, Failure> {
        Pulled::split_js(&wasm_bindgen::JsValue::from_str(text), profile)
    }

    /// As `split`, for text still in JavaScript: a page of 1,000 rows is half a megabyte,
    /// which would otherwise be copied into wasm memory and straight back out.
    fn split_js(text: &wasm_bindgen::JsValue, profile: &Profile) -> Result<Pulled, Failure> {
        // A plain object, table name to key column, set here: a map type of its own and
        // its serializer would be 5 kB more wasm.
        let keys = js_sys::Object::new();
        for (t, d) in &profile.tables {
            let _ = js_sys::Reflect::set(&keys, &t.into(), &d.key.as_str().into());
        }
        let split = split_page(text, &keys).map_err(|e| Failure::Malformed {
            message: crate::storage::js::json_error(&e),
        })?;
        let envelope = split.get(0).as_string().unwrap_or_default();
        Ok(Pulled {
            page: parse(&envelope)?,
            rows: split.get(1).unchecked_into(),
        })
    }
}

/// The Rust string of an answer's text (`Response.text()` always gives a string).
fn text_of(text: wasm_bindgen::JsValue) -> String {
    text.as_string().unwrap_or_default()
}

pub struct Server {
    /// Base URL without a trailing slash.
    pub url: String,
    token: RefCell<Option<String>>,
    get_token: Option<js_sys::Function>,
    pub timeout_ms: u32,
}

/// `body` as the JSON text of a request.
fn encode<B: Serialize>(body: &B) -> Result<String, Failure> {
    serde_json::to_string(body).map_err(|_| Failure::Malformed {
        message: "cannot encode the request".into(),
    })
}

fn parse<R: FromValue>(text: &str) -> Result<R, Failure> {
    wire::from_str(text).map_err(|e| Failure::Malformed {
        message: e.to_string(),
    })
}

impl Server {
    pub fn new(url: &str, token: Option<String>, get_token: Option<js_sys::Function>) -> Server {
        Server {
            url: url.trim_end_matches('/').to_string(),
            token: RefCell::new(token),
            get_token,
            timeout_ms: 30_000,
        }
    }

    /// POSTs `body` as JSON to `path` and parses the JSON answer.
    pub async fn post<B: Serialize, R: FromValue>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, Failure> {
        parse(&text_of(self.send(path, Some(encode(body)?)).await?))
    }

    /// POSTs a pull request and splits the answer in the page (`page.js`): the rows stay
    /// JavaScript objects, parsed once, and Rust reads only the small rest.
    pub async fn pull(&self, body: &PullRequest, profile: &Profile) -> Result<Pulled, Failure> {
        let text = self.send("/sync/pull", Some(encode(body)?)).await?;
        Pulled::split_js(&text, profile)
    }

    /// GETs `path` and parses the JSON answer.
    pub async fn get<R: FromValue>(&self, path: &str) -> Result<R, Failure> {
        parse(&text_of(self.send(path, None).await?))
    }

    /// The text of a 2xx answer to a GET (no body) or a JSON POST of `body` to `path`, as
    /// a JavaScript string (read by `text_of`, or split in JS for a pull). Not generic
    /// over the answer's type, so the request's state machine is compiled once, not once
    /// per message type.
    async fn send(
        &self,
        path: &str,
        body: Option<String>,
    ) -> Result<wasm_bindgen::JsValue, Failure> {
        let url = format!("{}{path}", self.url);
        let req = match body {
            Some(_) => Request::post(&url),
            None => Request::get(&url),
        };
        let controller = web_sys::AbortController::new().map_err(|_| Failure::Network)?;
        let signal = controller.signal();
        // Dropping the timeout (when the answer came) cancels it.
        let _timeout =
            gloo_timers::callback::Timeout::new(self.timeout_ms, move || controller.abort());
        let mut req = req.abort_signal(Some(&signal));
        if let Some(t) = self.token.borrow().as_deref() {
            req = req.header("authorization", &format!("Bearer {t}"));
        }
        let sent = match body {
            Some(b) => {
                req.header("content-type", "application/json")
                    .body(b)
                    .map_err(|e| Failure::Malformed {
                        message: format!("cannot build the request: {e}"),
                    })?
                    .send()
                    .await
            }
            None => req.send().await,
        };
        let resp = match sent {
            Ok(r) => r,
            Err(_) if signal.aborted() => return Err(Failure::Timeout),
            Err(_) => return Err(Failure::Network),
        };
        let status = resp.status();
        match status {
            401 => return Err(Failure::Unauthorized),
            200..=299 | 403 => {}
            s => return Err(Failure::Server { status: s }),
        }
        let text = match web_sys::Response::from(resp).text() {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        if status == 403 {
            // A store of another user than the token's: `user_mismatch` (see
            // `protocol::check_user`); any other refusal is the server's.
            return Err(
                match text
                    .ok()
                    .and_then(|t| wire::from_str::<ErrorBody>(&text_of(t)).ok())
                {
                    Some(b) if ErrorCode::parse(&b.error.code) == Some(ErrorCode::UserMismatch) => {
                        Failure::UserMismatch {
                            message: b.error.message,
                        }
                    }
                    _ => Failure::Server { status: 403 },
                },
            );
        }
        match text {
            Ok(t) => Ok(t),
            Err(_) if signal.aborted() => Err(Failure::Timeout),
            Err(e) => Err(Failure::Malformed {
                message: e
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| format!("cannot read the answer: {}", String::from(e.message())))
                    .unwrap_or_else(|| "cannot read the answer".into()),
            }),
        }
    }

    /// Sends the queued file uploads and deletes (protocol §11, `files.js`): their
    /// statuses in order, 0 for those not answered.
    pub async fn send_files(&self, queue: &js_sys::Array) -> js_sys::Array {
        let token = self.token.borrow().clone();
        let p = send_files(&self.url, token, self.timeout_ms, queue);
        // Never rejects (`files.js`); an array however it settles.
        JsFuture::from(p)
            .await
            .map_or_else(|_| js_sys::Array::new(), |a| a.unchecked_into())
    }

    /// GETs the files of `cells`: `{ status, blob }` each, in order.
    pub async fn get_files(&self, cells: &js_sys::Array) -> js_sys::Array {
        let token = self.token.borrow().clone();
        let p = get_files(&self.url, token, self.timeout_ms, cells);
        // Never rejects (`files.js`); an array however it settles.
        JsFuture::from(p)
            .await
            .map_or_else(|_| js_sys::Array::new(), |a| a.unchecked_into())
    }

    /// Calls the app's `getToken()` (which may return a promise); true when it gave one.
    pub async fn refresh_token(&self) -> bool {
        let Some(f) = &self.get_token else {
            return false;
        };
        let Ok(v) = f.call0(&wasm_bindgen::JsValue::UNDEFINED) else {
            return false;
        };
        let v = match v.dyn_into::<js_sys::Promise>() {
            Ok(p) => match JsFuture::from(p).await {
                Ok(v) => v,
                Err(_) => return false,
            },
            Err(v) => v,
        };
        match v.as_string().filter(|t| !t.is_empty()) {
            Some(t) => {
                *self.token.borrow_mut() = Some(t);
                true
            }
            None => false,
        }
    }
}
