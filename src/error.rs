//! The crate's one error type and its one conversion to a JS `Error` carrying a stable
//! `code` (see `ErrorCode`), plus the typed sorting of IndexedDB's DOM exceptions
//! (`DomError`) at the storage boundary: by the exception's name, never its message.

pub use offline_tables_core::ErrorCode;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    /// The DOM exception this error came from, when it came from one.
    dom: Option<DomError>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The DOM exceptions IndexedDB raises, by name (`DOMException.name`), sorted once where
/// they enter the crate. A name not listed here is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomError {
    /// The browser's storage quota (or the disk) is full; the transaction rolled back.
    QuotaExceeded,
    /// The database is at a higher version than the one asked for.
    Version,
    /// The transaction was aborted (by the code, or by a failure elsewhere in it).
    Abort,
    /// A key or key range is not valid.
    Data,
    /// A value could not be cloned into the database (functions, symbols…).
    DataClone,
    /// The connection is closing, or the object is used in the wrong state.
    InvalidState,
    /// A uniqueness constraint failed (`add` of an existing key).
    Constraint,
    /// A request was made on a transaction that is no longer active.
    TransactionInactive,
    /// An object store or index is not in the database or the transaction.
    NotFound,
    /// A write in a read-only transaction.
    ReadOnly,
    /// An operation not allowed on this object.
    InvalidAccess,
    /// The browser's storage failed for its own reasons (I/O, corruption).
    Unknown,
    /// Another name.
    Other,
}

impl DomError {
    const NAMES: [(DomError, &'static str); 12] = [
        (DomError::QuotaExceeded, "QuotaExceededError"),
        (DomError::Version, "VersionError"),
        (DomError::Abort, "AbortError"),
        (DomError::Data, "DataError"),
        (DomError::DataClone, "DataCloneError"),
        (DomError::InvalidState, "InvalidStateError"),
        (DomError::Constraint, "ConstraintError"),
        (DomError::TransactionInactive, "TransactionInactiveError"),
        (DomError::NotFound, "NotFoundError"),
        (DomError::ReadOnly, "ReadOnlyError"),
        (DomError::InvalidAccess, "InvalidAccessError"),
        (DomError::Unknown, "UnknownError"),
    ];

    /// The kind of the exception named `name`.
    pub fn from_name(name: &str) -> DomError {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(DomError::Other, |(kind, _)| *kind)
    }

    /// The stable code the app sees. Bad values the app passed are its own to fix
    /// (`invalid_argument`); a full quota is `quota_exceeded` (the write rolled back, the
    /// outbox is intact); everything else is the browser's storage failing (`storage`).
    /// A closing connection is `closed` only where the step says so (see `Db::tx`): the
    /// same `InvalidStateError` also means a request used in the wrong state.
    pub fn code(self) -> ErrorCode {
        match self {
            DomError::QuotaExceeded => ErrorCode::QuotaExceeded,
            DomError::Data | DomError::DataClone => ErrorCode::InvalidArgument,
            _ => ErrorCode::Storage,
        }
    }
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            dom: None,
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

    /// The DOM exception this error came from, if any.
    pub fn dom(&self) -> Option<DomError> {
        self.dom
    }

    /// The error of a DOM exception `name` (with its message `detail`) met while doing
    /// `context`, e.g. "bulkPut on 'accounts'".
    pub fn from_dom(name: &str, detail: &str, context: &str) -> Self {
        let kind = DomError::from_name(name);
        let mut message = format!("{context}: {name}");
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        if kind == DomError::QuotaExceeded {
            message.push_str(
                " (the browser's storage quota is exhausted; the write was rolled back and pending changes are intact)",
            );
        }
        Error {
            code: kind.code(),
            message,
            dom: Some(kind),
        }
    }

    /// Sorts an exception from IndexedDB (or the JS engine) into a code. `context` says
    /// what was being done, e.g. "bulkPut on 'accounts'".
    pub fn from_js(value: &JsValue, context: &str) -> Self {
        if let Some(e) = value.dyn_ref::<web_sys::DomException>() {
            return Self::from_dom(&e.name(), &e.message(), context);
        }
        let what = match value.dyn_ref::<js_sys::Error>() {
            Some(e) => format!("{}: {}", String::from(e.name()), String::from(e.message())),
            None => crate::storage::js::describe(value),
        };
        Self::storage(format!("{context}: {what}"))
    }

    /// Sorts a failure of indexed_db_futures: a DOM exception by its name, the crate's own
    /// failures (a value of the wrong type, a request polled out of turn) as `storage`.
    pub fn indexed_db(e: indexed_db_futures::error::Error, context: &str) -> Self {
        use indexed_db_futures::error::Error as E;
        match e {
            E::DomException(d) => Self::from_js(&JsValue::from(d), context),
            E::Unknown(j) => Self::from_js(&JsValue::from(j), context),
            other => Self::storage(format!("{context}: {other}")),
        }
    }

    /// Sorts a failure to open a database (`indexed_db` for the ones it shares).
    pub fn opening(e: indexed_db_futures::error::OpenDbError, context: &str) -> Self {
        use indexed_db_futures::error::OpenDbError as E;
        match e {
            E::Base(e) => Self::indexed_db(e, context),
            E::UnsupportedEnvironment | E::NullFactory => {
                Self::storage("IndexedDB is not available in this context")
            }
            other => Self::storage(format!("{context}: {other}")),
        }
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
