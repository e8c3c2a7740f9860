//! A file column's metadata (protocol.md §11): the JSON value a file column holds in its
//! row, naming the file whose bytes travel apart through `/api/files/{table}/{key}/{column}`,
//! and the content-hash spelling (`sha256-<64 lowercase hex>`) both sides compare.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The prefix of every content hash.
pub const HASH_PREFIX: &str = "sha256-";

/// What a file column holds: `null` or absent means no file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// As the app gave it (a `File`'s name; `""` for a `Blob`).
    pub name: String,
    /// A MIME type; `""` when unknown.
    #[serde(rename = "type")]
    pub mime: String,
    /// Bytes.
    pub size: u64,
    /// `sha256-` and the 64 lowercase hex digits of the bytes' SHA-256.
    pub hash: String,
}

impl FileMeta {
    /// The metadata in `row`'s `column`: None when the column is absent, `null`, or holds
    /// something that is not a file's metadata (a value without a well-formed `hash`
    /// names no file).
    pub fn in_row(row: &Map<String, Value>, column: &str) -> Option<FileMeta> {
        let meta: FileMeta = serde_json::from_value(row.get(column)?.clone()).ok()?;
        is_file_hash(&meta.hash).then_some(meta)
    }

    /// The hash `row`'s `column` names, if it names a file.
    pub fn hash_in_row(row: &Map<String, Value>, column: &str) -> Option<String> {
        Self::in_row(row, column).map(|m| m.hash)
    }
}

/// True when `s` is a content hash as the protocol spells it: `sha256-` and 64 lowercase
/// hex digits.
pub fn is_file_hash(s: &str) -> bool {
    s.strip_prefix(HASH_PREFIX).is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const H: &str = "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashes_are_sha256_and_64_lowercase_hex_digits() {
        assert!(is_file_hash(H));
        assert!(!is_file_hash(&H.to_uppercase()));
        assert!(!is_file_hash(&H.replace("sha256-", "sha1-")));
        assert!(!is_file_hash(&H[..H.len() - 1]));
        assert!(!is_file_hash(&format!("{H}0")));
        assert!(!is_file_hash(&H.replace('e', "g")));
    }

    #[test]
    fn a_column_names_a_file_only_with_well_formed_metadata() {
        let meta =
            json!({ "name": "a.txt", "type": "text/plain", "size": 0, "hash": H, "extra": 1 });
        let row = json!({ "id": 1, "f": meta, "bad": { "name": "x", "type": "", "size": 1, "hash": "md5-1" },
                          "none": null, "text": "a.txt" });
        let row = row.as_object().unwrap();
        let got = FileMeta::in_row(row, "f").unwrap();
        assert_eq!(
            (got.name.as_str(), got.mime.as_str(), got.size),
            ("a.txt", "text/plain", 0)
        );
        assert_eq!(serde_json::to_value(&got).unwrap()["type"], "text/plain");
        for col in ["bad", "none", "text", "missing"] {
            assert_eq!(FileMeta::hash_in_row(row, col), None, "{col}");
        }
    }
}
