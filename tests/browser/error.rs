//! The `storage` code from real IndexedDB failures (a foreign database under the same
//! name, a malformed outbox record), the one mapping of DOM exceptions onto codes
//! (QuotaExceededError to quota_exceeded, and the rest) by name, never by message, with
//! its JS Error form, and `closed` for a transaction on a connection that is closing.

use crate::common::*;
use offline_tables::testing::{to_js, FromJs};
use offline_tables::DomError;
use offline_tables::{Error, ErrorCode};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::DomException;

#[wasm_bindgen_test]
async fn a_foreign_newer_database_under_the_name_is_a_storage_error() {
    let name = unique_name("foreign");
    create_foreign_db(&name, 1000).await;
    match try_open(&name, PROFILE).await {
        Ok(_) => panic!("opening a foreign database should fail"),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::Storage, "{e}");
            assert!(e.message.contains("VersionError"), "{e}");
        }
    }
    assert_eq!(idb_version_of(&name).await, 1000.0, "left as it was");
    delete(&name).await;
}

#[wasm_bindgen_test]
async fn a_foreign_database_at_the_same_version_is_a_storage_error() {
    let name = unique_name("foreign");
    // Profile version 1 is IndexedDB version 15 (version * 10 + internal schema 5).
    create_foreign_db(&name, 15).await;
    match try_open(&name, PROFILE).await {
        Ok(_) => panic!("opening a database without our stores should fail"),
        Err(e) => assert_eq!(e.code, ErrorCode::Storage, "{e}"),
    }
    assert_eq!(idb_version_of(&name).await, 15.0);
    delete(&name).await;
}

#[wasm_bindgen_test]
async fn a_malformed_outbox_record_is_a_storage_error_and_rows_stay_readable() {
    let name = unique_name("corrupt");
    let store = open(&name, PROFILE).await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(r#"[{"id":"a","city":"Paris"},{"id":2}]"#))).await;
    let rows = ok_json(t.query(None)).await;
    add_raw(
        &name,
        "_outbox",
        &js(r#"{"t":5,"k":"not a list","op":"put"}"#),
    )
    .await;

    assert_eq!(code_of(store.pending()).await, "storage");
    assert_eq!(code_of(store.pending_count()).await, "storage");
    assert_eq!(code_of(t.meta("a".into())).await, "storage");
    let msg = message_of(store.pending()).await;
    assert!(msg.contains("outbox"), "says what is malformed: {msg}");
    match store
        .db()
        .apply_remote(&[remote("accounts", skey("z"), "1", Some(r#"{"id":"z"}"#))])
        .await
    {
        Ok(()) => panic!("apply_remote cannot tell pending rows apart"),
        Err(e) => assert_eq!(e.code, ErrorCode::Storage),
    }
    assert_eq!(
        ok_json(t.query(None)).await,
        rows,
        "rows unchanged and readable"
    );
    assert_eq!(
        ok_json(t.get("a".into())).await,
        r#"{"id":"a","city":"Paris"}"#
    );
    assert_eq!(ok(t.count(None)).await.as_f64(), Some(2.0));
    finish(store).await;
}

fn mapped(name: &str, message: &str) -> Error {
    let e = DomException::new_with_message_and_name(message, name).unwrap();
    Error::from_js(&e.into(), "bulkPut on 'accounts'")
}

#[wasm_bindgen_test]
fn dom_exceptions_map_onto_stable_codes() {
    let quota = mapped("QuotaExceededError", "");
    assert_eq!(quota.code, ErrorCode::QuotaExceeded);
    assert_eq!(quota.code.as_str(), "quota_exceeded");
    assert!(
        quota
            .message
            .starts_with("bulkPut on 'accounts': QuotaExceededError"),
        "{quota}"
    );
    assert!(
        quota.message.contains("pending changes are intact"),
        "{quota}"
    );

    let cases = [
        (
            "QuotaExceededError",
            "The quota has been exceeded.",
            ErrorCode::QuotaExceeded,
        ),
        (
            "DataCloneError",
            "could not be cloned",
            ErrorCode::InvalidArgument,
        ),
        ("DataError", "not a valid key", ErrorCode::InvalidArgument),
        // By name alone: the same name with either message is the same code (a closing
        // connection is `closed` where a transaction starts: see the test below).
        (
            "InvalidStateError",
            "The database connection is closing.",
            ErrorCode::Storage,
        ),
        (
            "InvalidStateError",
            "The request has not finished.",
            ErrorCode::Storage,
        ),
        ("ConstraintError", "Key already exists", ErrorCode::Storage),
        ("ReadOnlyError", "read-only", ErrorCode::Storage),
        ("UnknownError", "Internal error.", ErrorCode::Storage),
        (
            "AbortError",
            "The transaction was aborted.",
            ErrorCode::Storage,
        ),
        (
            "VersionError",
            "The requested version is less",
            ErrorCode::Storage,
        ),
        (
            "NotFoundError",
            "One of the stores was not found.",
            ErrorCode::Storage,
        ),
        ("TransactionInactiveError", "inactive", ErrorCode::Storage),
    ];
    for (name, message, code) in cases {
        let e = mapped(name, message);
        assert_eq!(e.code, code, "{name}: {message}");
        assert_eq!(e.dom(), Some(DomError::from_name(name)));
        assert_ne!(e.dom(), Some(DomError::Other), "{name} is a known name");
        assert!(
            e.message.contains(name) && e.message.contains(message),
            "{e}"
        );
    }
    assert_eq!(
        mapped("SomeFutureError", "new").dom(),
        Some(DomError::Other)
    );
    assert_eq!(mapped("SomeFutureError", "new").code, ErrorCode::Storage);
    let js_error: JsValue = js_sys::TypeError::new("boom").into();
    assert_eq!(Error::from_js(&js_error, "x").dom(), None);
    assert_eq!(Error::from_js(&js_error, "x").code, ErrorCode::Storage);
    assert_eq!(
        Error::from_js(&"a string".into(), "x").code,
        ErrorCode::Storage
    );
    assert_eq!(
        Error::from_js(&JsValue::UNDEFINED, "x").code,
        ErrorCode::Storage
    );
}

#[wasm_bindgen_test]
fn errors_become_js_errors_with_their_code() {
    for code in [
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidProfile,
        ErrorCode::UnknownTable,
        ErrorCode::NotFound,
        ErrorCode::ReadOnly,
        ErrorCode::QuotaExceeded,
        ErrorCode::Storage,
        ErrorCode::Closed,
    ] {
        let e = to_js(&Error::new(code, "what happened"));
        let err: &js_sys::Error = e.unchecked_ref();
        assert!(e.is_instance_of::<js_sys::Error>());
        assert_eq!(String::from(err.message()), "what happened");
        assert_eq!(String::from(err.name()), "OfflineTablesError");
        let got = js_sys::Reflect::get(&e, &"code".into()).unwrap();
        assert_eq!(got.as_string().as_deref(), Some(code.as_str()));
    }
}

#[wasm_bindgen_test]
async fn a_transaction_on_a_closing_connection_is_closed() {
    // A real InvalidStateError from IDBDatabase.transaction() on a closed connection,
    // sorted into a code the way `Db::tx` does it.
    let name = unique_name("closing");
    create_foreign_db(&name, 1).await;
    let conn = indexed_db_futures::database::Database::open(name.as_str())
        .await
        .unwrap();
    conn.clone().close();
    use indexed_db_futures::Build;
    let e = match conn.transaction("foreign").build() {
        Ok(_) => panic!("a transaction on a closed connection must fail"),
        Err(e) => Error::indexed_db(e, "get on 'foreign'"),
    };
    assert_eq!(e.dom(), Some(DomError::InvalidState), "{e}");
    assert_eq!(e.code, ErrorCode::Storage, "by name alone: {e}");
    delete(&name).await;

    // Through the store: a store closed under it answers `closed`.
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    store.close();
    assert_eq!(code_of(t.get("a".into())).await, "closed");
}
