//! Build script: rebuilds the crate when a file under `migrations/` is added or changed.
//!
//! `sqlx::migrate!` (db.rs) embeds the migrations at compile time, and cargo reruns a proc
//! macro only when a source file it knows changes: a new migration is a new file, so
//! without this a build would keep migrating to the schema of the previous build. This is
//! the build script sqlx's documentation recommends (`sqlx migrate build-script`).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
