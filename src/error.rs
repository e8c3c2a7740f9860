//! The crate's one error type and its one conversion to a JS `Error` carrying a stable
//! `code` (see `ErrorCode`), plus the mapping of IndexedDB's DOM exceptions onto codes.

pub use offline_tables_core::ErrorCode;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    pub fn invalid_profile(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidProfile, message)
    }
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Storage, message)
    }
    pub fn closed(name: &str) -> Self {
        Self::new(
            ErrorCode::Closed,
            format!("store '{name}' is closed (close() was called, or another tab upgraded the database)"),
        )
    }

    /// Sorts an exception from IndexedDB (or the JS engine) into a code. `context` says
    /// what was being done, e.g. "bulkPut on accounts".
    pub fn from_js(value: &JsValue, context: &str) -> Self {
        let (name, detail) = match value.dyn_ref::<web_sys::DomException>() {
            Some(e) => (e.name(), e.message()),
            None => match value.dyn_ref::<js_sys::Error>() {
                Some(e) => (String::from(e.name()), String::from(e.message())),
                None => (String::new(), crate::storage::js::describe(value)),
            },
        };
        let code = match name.as_str() {
            "QuotaExceededError" => ErrorCode::QuotaExceeded,
            "DataCloneError" | "DataError" => ErrorCode::InvalidArgument,
            "InvalidStateError" if detail.contains("closing") || detail.contains("closed") => {
                ErrorCode::Closed
            }
            _ => ErrorCode::Storage,
        };
        let what = match code {
            ErrorCode::QuotaExceeded => {
                "the browser's storage quota is exhausted; the write was rolled back and pending changes are intact"
            }
            _ => "",
        };
        let mut message = format!("{context}: {name}");
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(&detail);
        }
        if !what.is_empty() {
            message.push_str(" (");
            message.push_str(what);
            message.push(')');
        }
        Error::new(code, message)
    }

    /// The JS `Error` with `code`, as every rejected promise of the package carries.
    pub fn to_js(&self) -> JsValue {
        let e = js_sys::Error::new(&self.message);
        e.set_name("OfflineTablesError");
        let _ = js_sys::Reflect::set(&e, &"code".into(), &self.code.as_str().into());
        e.into()
    }
}

impl From<offline_tables_core::Error> for Error {
    fn from(e: offline_tables_core::Error) -> Self {
        Error::new(e.code, e.message)
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> Self {
        e.to_js()
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
