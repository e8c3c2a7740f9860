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
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let idx = order(v.len(), &|a, b| cmp(&v[a], &v[b]));
    permute(v, &idx);
}

/// Sorts `v` by its natural order.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// Puts `v` in the order `idx` (the element at `idx[i]` goes to `i`), in place, one cycle
/// of the permutation at a time: only swaps, so each element type adds a few bytes of
/// wasm (moving through a `Vec<Option<T>>` added about 0.7 kB per type).
fn permute<T>(v: &mut [T], idx: &[u32]) {
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        let mut j = start;
        while !done[j] {
            done[j] = true;
            let k = idx[j] as usize;
            if k == start {
                break;
            }
            // Position j takes the element that belongs there; what it held (the cycle's
            // first element) moves on to k, whose own element is still in place.
            v.swap(j, k);
            j = k;
        }
    }
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

    #[test]
    fn matches_the_standard_stable_sort() {
        // Random lists of 0 to 199 elements with many repeated keys.
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for len in 0..200 {
            for _ in 0..5 {
                let v: Vec<(u32, usize)> = (0..len).map(|i| (next() % 7, i)).collect();
                let mut ours = v.clone();
                sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
                let mut std = v.clone();
                std.sort_by_key(|x| x.0);
                assert_eq!(ours, std, "{v:?}");
            }
        }
    }
}
