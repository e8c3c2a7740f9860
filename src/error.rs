//! The wasm side of the project's one error type (`offline_tables_core::Error`, with its
//! stable `ErrorCode` and its typed `DomError`): how what JavaScript and IndexedDB throw is
//! sorted into it, by the exception's name and never its message (`FromJs`), and its one
//! conversion to a JS `Error` carrying `code` (`to_js`, and `Thrown` for the exported
//! functions).

pub use offline_tables_core::{DomError, Error, ErrorCode, Result};
use wasm_bindgen::{JsCast, JsValue};

/// Sorting a failure met in JavaScript, IndexedDB or indexed_db_futures. `context` says
/// what was being done, e.g. "bulkPut on 'accounts'".
pub trait FromJs: Sized {
    /// An exception of IndexedDB (a DOM exception, sorted by its name) or of the JS
    /// engine (`storage`).
    fn from_js(value: &JsValue, context: &str) -> Self;
    /// A failure of indexed_db_futures: a DOM exception by its name, the crate's own
    /// failures (a value of the wrong type, a request polled out of turn) as `storage`.
    fn indexed_db(e: indexed_db_futures::error::Error, context: &str) -> Self;
    /// A failure to open a database (`indexed_db` for the ones it shares).
    fn opening(e: indexed_db_futures::error::OpenDbError, context: &str) -> Self;
}

impl FromJs for Error {
    fn from_js(value: &JsValue, context: &str) -> Self {
        if let Some(e) = value.dyn_ref::<web_sys::DomException>() {
            return Error::from_dom(&e.name(), &e.message(), context);
        }
        let what = match value.dyn_ref::<js_sys::Error>() {
            Some(e) => format!("{}: {}", String::from(e.name()), String::from(e.message())),
            None => crate::storage::js::describe(value),
        };
        Error::storage(format!("{context}: {what}"))
    }

    fn indexed_db(e: indexed_db_futures::error::Error, context: &str) -> Self {
        use indexed_db_futures::error::Error as E;
        match e {
            E::DomException(d) => Self::from_js(&JsValue::from(d), context),
            E::Unknown(j) => Self::from_js(&JsValue::from(j), context),
            other => Error::storage(format!("{context}: {other}")),
        }
    }

    fn opening(e: indexed_db_futures::error::OpenDbError, context: &str) -> Self {
        use indexed_db_futures::error::OpenDbError as E;
        match e {
            E::Base(e) => Self::indexed_db(e, context),
            E::UnsupportedEnvironment | E::NullFactory => {
                Error::storage("IndexedDB is not available in this context")
            }
            other => Error::storage(format!("{context}: {other}")),
        }
    }
}

/// The JS `Error` of `e`, named `OfflineTablesError`, with `code`: what every rejected
/// promise and every throw of the package carries.
pub fn to_js(e: &Error) -> JsValue {
    let js = js_sys::Error::new(&e.message);
    js.set_name("OfflineTablesError");
    // Setting a property on a fresh, extensible `Error` object cannot fail.
    let _ = js_sys::Reflect::set(&js, &"code".into(), &e.code.as_str().into());
    js.into()
}

/// The error of the exported functions: an `Error` that wasm-bindgen throws as `to_js`
/// gives it. (wasm-bindgen needs `Into<JsValue>`, which a crate may only implement for a
/// type of its own.)
#[derive(Debug)]
pub struct Thrown(pub Error);

impl From<Error> for Thrown {
    fn from(e: Error) -> Self {
        Thrown(e)
    }
}

impl From<Thrown> for JsValue {
    fn from(t: Thrown) -> Self {
        to_js(&t.0)
    }
}

/// Rust callers read a `Thrown` as the `Error` it carries (`e.code`, `e.message`).
impl std::ops::Deref for Thrown {
    type Target = Error;
    fn deref(&self) -> &Error {
        &self.0
    }
}

impl std::fmt::Display for Thrown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)
    }
}
