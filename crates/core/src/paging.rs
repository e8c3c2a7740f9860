//! Server-driven paging of REST lists (protocol.md §8): `Prefer: odata.maxpagesize=N` caps
//! a page at N rows, and a list with more gets `@odata.nextLink`, the URL of the next page.
//! The server and the interceptor both page through here, so their answers stay equal.

use crate::error::{Error, Result};
use crate::query::Query;

/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 10_000;

/// The page size asked for by a `Prefer` header (`odata.maxpagesize=N` among its
/// comma-separated preferences; others are ignored, as OData lets a server do), or none.
pub fn max_page_size(prefer: Option<&str>) -> Result<Option<u64>> {
    let Some(prefer) = prefer else {
        return Ok(None);
    };
    let mut found = None;
    for pref in prefer.split(',') {
        let Some((name, value)) = pref.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("odata.maxpagesize") {
            continue;
        }
        let value = value.trim().trim_matches('"');
        let n = value
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "Prefer: odata.maxpagesize must be an integer from 1 to {MAX_PAGE_SIZE}, got '{value}'"
                ))
            })?;
        found = Some(n);
    }
    Ok(found)
}

/// How one list request is paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    /// The page size applied (answered in `Preference-Applied`), when it is smaller than
    /// what `$top` asks.
    pub size: Option<u64>,
}

impl Paging {
    /// Paging of `q` under a page size: `size` applies when there is no `$top` or a larger one.
    pub fn of(q: &Query, size: Option<u64>) -> Paging {
        Paging {
            size: size.filter(|n| q.limit.map_or(true, |top| *n < top)),
        }
    }

    /// The `Preference-Applied` header's value, when the page size applies.
    pub fn applied(&self) -> Option<String> {
        self.size.map(|n| format!("odata.maxpagesize={n}"))
    }

    /// The query to read: with a page size, one row more than the page, to see if there is a
    /// next one.
    pub fn read_query(&self, q: &Query) -> Query {
        match self.size {
            Some(n) => Query {
                limit: Some(n + 1),
                ..q.clone()
            },
            None => q.clone(),
        }
    }

    /// Given the rows read with `read_query` (`read` of them), how many the page keeps and
    /// the next page's `$skip` and `$top`, when there is one.
    pub fn split(&self, q: &Query, read: u64) -> (u64, Option<(u64, Option<u64>)>) {
        match self.size {
            Some(n) if read > n => {
                let skip = q.offset.saturating_add(n);
                (n, Some((skip, q.limit.map(|top| top - n))))
            }
            _ => (read, None),
        }
    }
}

/// The next page's URL: `base` (the list's URL without its query) with the request's raw
/// query, its `$skip` and `$top` replaced (other parameters kept as they were written).
pub fn next_link(base: &str, raw_query: Option<&str>, skip: u64, top: Option<u64>) -> String {
    let mut params: Vec<String> = raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or("");
            let name = name.replace("%24", "$");
            name != "$skip" && name != "$top"
        })
        .map(str::to_string)
        .collect();
    if let Some(top) = top {
        params.push(format!("$top={top}"));
    }
    params.push(format!("$skip={skip}"));
    format!("{base}?{}", params.join("&"))
}
