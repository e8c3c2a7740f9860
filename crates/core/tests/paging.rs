//! Server-driven paging (core `paging`): the Prefer header, the page split and the next link.

use offline_tables_core::paging::{max_page_size, next_link, Paging, MAX_PAGE_SIZE};
use offline_tables_core::Query;

fn query(offset: u64, limit: Option<u64>) -> Query {
    Query {
        offset,
        limit,
        ..Query::default()
    }
}

#[test]
fn the_prefer_header_gives_the_page_size() {
    assert_eq!(max_page_size(None).unwrap(), None);
    assert_eq!(max_page_size(Some("return=minimal")).unwrap(), None);
    assert_eq!(
        max_page_size(Some("odata.maxpagesize=50")).unwrap(),
        Some(50)
    );
    assert_eq!(
        max_page_size(Some("return=minimal, odata.maxpagesize=\"7\"")).unwrap(),
        Some(7)
    );
    assert_eq!(max_page_size(Some("OData.MaxPageSize=3")).unwrap(), Some(3));
    for bad in [
        "odata.maxpagesize=0",
        "odata.maxpagesize=x",
        "odata.maxpagesize=-1",
    ] {
        let e = max_page_size(Some(bad)).unwrap_err();
        assert_eq!(e.code.as_str(), "invalid_argument", "{bad}");
    }
    let too_big = format!("odata.maxpagesize={}", MAX_PAGE_SIZE + 1);
    assert!(max_page_size(Some(&too_big)).is_err());
}

#[test]
fn a_page_size_applies_only_below_top() {
    assert_eq!(Paging::of(&query(0, None), Some(10)).size, Some(10));
    assert_eq!(Paging::of(&query(0, Some(25)), Some(10)).size, Some(10));
    assert_eq!(Paging::of(&query(0, Some(10)), Some(10)).size, None);
    assert_eq!(Paging::of(&query(0, Some(5)), Some(10)).size, None);
    assert_eq!(Paging::of(&query(0, None), None).size, None);
}

#[test]
fn the_split_reads_one_row_more_and_links_the_rest() {
    let q = query(4, Some(25));
    let p = Paging::of(&q, Some(10));
    assert_eq!(p.read_query(&q).limit, Some(11));
    assert_eq!(p.split(&q, 11), (10, Some((14, Some(15)))));
    assert_eq!(p.split(&q, 10), (10, None), "exactly a page: no next link");
    assert_eq!(p.split(&q, 3), (3, None));
    let open = query(0, None);
    let p = Paging::of(&open, Some(2));
    assert_eq!(p.split(&open, 3), (2, Some((2, None))));
}

#[test]
fn the_next_link_keeps_the_other_parameters_as_written() {
    let base = "http://h:1/api/data/accounts";
    assert_eq!(next_link(base, None, 10, None), format!("{base}?$skip=10"));
    assert_eq!(
        next_link(
            base,
            Some("$filter=city%20eq%20'Nice'&%24skip=4&$top=25&$count=true"),
            14,
            Some(15)
        ),
        format!("{base}?$filter=city%20eq%20'Nice'&$count=true&$top=15&$skip=14")
    );
}
