//! The one error type of the project: a stable machine-readable code, a message that says
//! what went wrong and where, and, when it came from one, the DOM exception or HTTP answer
//! it was sorted from. The core, the wasm crate and the server all use it; the wasm crate
//! turns it into a JS `Error` with `code`, the server into a status and a JSON body.

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// Stable error codes, shared with the JS API (`error.code`), the sync status's
/// `errorCode` and the server's answers (`{ "error": { "code" } }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidArgument,
    InvalidProfile,
    UnknownTable,
    NotFound,
    ReadOnly,
    QuotaExceeded,
    Storage,
    Closed,
    Network,
    /// A request to the server took longer than the store's `timeoutMs`.
    Timeout,
    /// The server answered a status the client cannot act on (5xx, or an unexpected one).
    Server,
    /// An answer that does not parse (truncated, not JSON, wrong shape).
    Malformed,
    Unauthorized,
    /// The server refused the caller the row or the table.
    Forbidden,
    Conflict,
    /// The store belongs to another user than the one opening or syncing it.
    UserMismatch,
    /// A request body larger than the server accepts.
    PayloadTooLarge,
    /// A client of a protocol version the server does not speak.
    UnsupportedProtocol,
    /// The server failed for its own reasons (logged there, never detailed in the answer).
    Internal,
}

impl ErrorCode {
    const ALL: [(ErrorCode, &'static str); 19] = [
        (ErrorCode::InvalidArgument, "invalid_argument"),
        (ErrorCode::InvalidProfile, "invalid_profile"),
        (ErrorCode::UnknownTable, "unknown_table"),
        (ErrorCode::NotFound, "not_found"),
        (ErrorCode::ReadOnly, "read_only"),
        (ErrorCode::QuotaExceeded, "quota_exceeded"),
        (ErrorCode::Storage, "storage"),
        (ErrorCode::Closed, "closed"),
        (ErrorCode::Network, "network"),
        (ErrorCode::Timeout, "timeout"),
        (ErrorCode::Server, "server"),
        (ErrorCode::Malformed, "malformed"),
        (ErrorCode::Unauthorized, "unauthorized"),
        (ErrorCode::Forbidden, "forbidden"),
        (ErrorCode::Conflict, "conflict"),
        (ErrorCode::UserMismatch, "user_mismatch"),
        (ErrorCode::PayloadTooLarge, "payload_too_large"),
        (ErrorCode::UnsupportedProtocol, "unsupported_protocol"),
        (ErrorCode::Internal, "internal"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("internal", |(_, s)| *s)
    }

    /// The code spelled `s` (as in an answer's body), if it is one.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(c, _)| *c)
    }

    /// The code an HTTP answer carries for this one. The data API and the sync endpoints
    /// speak of URLs and requests, not of the profile: a table no profile names is
    /// `not_found`, a write to a read-only table `forbidden`, and a bad profile handed in
    /// `invalid_argument`.
    pub fn answered(self) -> ErrorCode {
        match self {
            ErrorCode::UnknownTable => ErrorCode::NotFound,
            ErrorCode::ReadOnly => ErrorCode::Forbidden,
            ErrorCode::InvalidProfile => ErrorCode::InvalidArgument,
            other => other,
        }
    }

    /// The HTTP status of an answer with this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument
            | ErrorCode::InvalidProfile
            | ErrorCode::Malformed
            | ErrorCode::UnsupportedProtocol => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden | ErrorCode::ReadOnly | ErrorCode::UserMismatch => 403,
            ErrorCode::NotFound | ErrorCode::UnknownTable => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::QuotaExceeded => 507,
            ErrorCode::Server => 502,
            ErrorCode::Network | ErrorCode::Closed => 503,
            ErrorCode::Timeout => 504,
            ErrorCode::Storage | ErrorCode::Internal => 500,
        }
    }

    /// The code of an HTTP answer of `status` that carries none of its own.
    pub fn of_status(status: u16) -> ErrorCode {
        match status {
            400 => ErrorCode::InvalidArgument,
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::Internal,
        }
    }
}

/// Serialized as its stable spelling ([`ErrorCode::as_str`]): one table of names, not a
/// second one from a derive.
impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// A closing connection is `closed` only where the step says so (the storage layer's
    /// transactions): the same `InvalidStateError` also means a request used in the wrong
    /// state.
    pub fn code(self) -> ErrorCode {
        match self {
            DomError::QuotaExceeded => ErrorCode::QuotaExceeded,
            DomError::Data | DomError::DataClone => ErrorCode::InvalidArgument,
            _ => ErrorCode::Storage,
        }
    }
}

/// Where an error was sorted from, when not from our own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A DOM exception of IndexedDB.
    Dom(DomError),
    /// An HTTP answer of this status (the server's, or one the fault layer made up).
    Http { status: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub origin: Option<Origin>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            origin: None,
        }
    }
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    pub fn invalid_profile(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidProfile, message)
    }
    pub fn unknown_table(table: &str) -> Self {
        Self::new(
            ErrorCode::UnknownTable,
            format!("unknown table '{table}': it is not in the offline profile"),
        )
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
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    pub fn user_mismatch(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UserMismatch, message)
    }

    /// An HTTP answer of `status` with `code`, for a status its code does not imply.
    pub fn http(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            origin: Some(Origin::Http { status }),
            ..Self::new(code, message)
        }
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
            origin: Some(Origin::Dom(kind)),
            ..Self::new(kind.code(), message)
        }
    }

    /// The DOM exception this error came from, if any.
    pub fn dom(&self) -> Option<DomError> {
        match self.origin {
            Some(Origin::Dom(d)) => Some(d),
            _ => None,
        }
    }

    /// The HTTP status of the answer this error is: the one it came with, else its code's.
    pub fn http_status(&self) -> u16 {
        match self.origin {
            Some(Origin::Http { status }) => status,
            _ => self.code.answered().http_status(),
        }
    }

    /// The JSON body of the answer this error is: `{ "error": { "code", "message" } }`.
    pub fn body(&self) -> Value {
        serde_json::json!({
            "error": { "code": self.code.answered().as_str(), "message": self.message }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_spells_and_parses_back() {
        for (code, name) in ErrorCode::ALL {
            assert_eq!(code.as_str(), name);
            assert_eq!(ErrorCode::parse(name), Some(code));
            assert_eq!(serde_json::to_value(code).unwrap(), name);
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }

    #[test]
    fn answers_carry_the_api_code_and_status() {
        let e = Error::unknown_table("x");
        assert_eq!(e.http_status(), 404);
        assert_eq!(e.body()["error"]["code"], "not_found");
        let e = Error::new(ErrorCode::ReadOnly, "r");
        assert_eq!(
            (e.http_status(), e.body()["error"]["code"].clone()),
            (403, "forbidden".into())
        );
        assert_eq!(Error::invalid_argument("i").http_status(), 400);
        let e = Error::http(418, ErrorCode::of_status(418), "teapot");
        assert_eq!((e.http_status(), e.code), (418, ErrorCode::Internal));
    }

    #[test]
    fn dom_exceptions_are_sorted_by_name() {
        let e = Error::from_dom("QuotaExceededError", "full", "put on 't'");
        assert_eq!(
            (e.code, e.dom()),
            (ErrorCode::QuotaExceeded, Some(DomError::QuotaExceeded))
        );
        assert!(e
            .message
            .starts_with("put on 't': QuotaExceededError: full"));
        let e = Error::from_dom("DataCloneError", "", "put");
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert_eq!(
            Error::from_dom("SomethingNew", "", "x").dom(),
            Some(DomError::Other)
        );
        assert_eq!(Error::storage("s").dom(), None);
    }
}
