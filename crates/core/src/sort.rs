//! Sorting through one shared instantiation of the standard library's stable sort.
//!
//! Every `sort`/`sort_by` on a new element type or comparator compiles another copy of the
//! sort (about 3 kB of wasm each; nine copies were 30 kB of the package). These helpers sort a
//! permutation of indices with a comparator behind `dyn`, so the sort itself exists once.

use std::cmp::Ordering;

/// The stable order of `0..len` under `cmp` (which compares positions).
pub fn order(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..len as u32).collect();
    idx.sort_by(|&a, &b| cmp(a as usize, b as usize));
    idx
}

/// Sorts `v` stably by `cmp`.
pub fn sort_by<T>(v: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    let idx = order(v.len(), &|a, b| cmp(&v[a], &v[b]));
    let mut items: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(idx.into_iter().filter_map(|i| items[i as usize].take()));
}

/// Sorts `v` by its natural order.
pub fn sort<T: Ord>(v: &mut Vec<T>) {
    sort_by(v, T::cmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably() {
        let mut v = vec![(2, "a"), (1, "b"), (2, "c"), (0, "d"), (1, "e")];
        sort_by(&mut v, |a, b| a.0.cmp(&b.0));
        assert_eq!(v, vec![(0, "d"), (1, "b"), (1, "e"), (2, "a"), (2, "c")]);
        let mut w = vec!["q", "b", "z", "a"];
        sort(&mut w);
        assert_eq!(w, vec!["a", "b", "q", "z"]);
        let mut e: Vec<u8> = vec![];
        sort(&mut e);
        assert!(e.is_empty());
    }
}
