//! `ByName`: values kept by name in a list sorted by name, for the few-entry maps of the
//! client (the profile's tables and file columns, a transaction's touched tables, the
//! first download's tables). A `BTreeMap`
//! or `HashMap` per value type is a few kB of wasm each; a sorted list is a binary search.

/// Values by name, in the order of names.
#[derive(Debug, Clone, PartialEq)]
pub struct ByName<V>(Vec<(String, V)>);

impl<V> Default for ByName<V> {
    fn default() -> Self {
        ByName(Vec::new())
    }
}

impl<V> ByName<V> {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&V> {
        let i = self.find(name).ok()?;
        Some(&self.0[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`; the value it had, if any.
    pub fn insert(&mut self, name: String, value: V) -> Option<V> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(n, _)| n)
    }

    /// The values, in the order of names.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        let i = self.find(name).ok()?;
        Some(&mut self.0[i].1)
    }

    /// The value of `name`, made by `new` if it is not there yet.
    pub fn entry(&mut self, name: &str, new: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (name.to_string(), new()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// The entries in the order of names.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut V)> {
        self.0.iter_mut().map(|(n, v)| (&*n, v))
    }
}

impl<'a, V> IntoIterator for &'a ByName<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, V)>,
        fn(&'a (String, V)) -> (&'a String, &'a V),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl<V> std::ops::Index<&str> for ByName<V> {
    type Output = V;
    /// As a `BTreeMap`'s: panics if `name` is not there.
    fn index(&self, name: &str) -> &V {
        self.get(name).expect("no entry found for key")
    }
}

impl<V> FromIterator<(String, V)> for ByName<V> {
    /// As a `BTreeMap` collects: a later value of a name replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut m = ByName::default();
        for (n, v) in iter {
            m.insert(n, v);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_names_sorted_and_each_once() {
        let mut m: ByName<Vec<u32>> = ByName::default();
        for (i, name) in ["b", "a", "c", "a", "b"].into_iter().enumerate() {
            m.entry(name, Vec::new).push(i as u32);
        }
        let got: Vec<(&String, &Vec<u32>)> = m.iter().collect();
        assert_eq!(
            got,
            [
                (&"a".to_string(), &vec![1, 3]),
                (&"b".to_string(), &vec![0, 4]),
                (&"c".to_string(), &vec![2]),
            ]
        );
        assert!(m.get_mut("d").is_none());
        m.get_mut("c").unwrap().push(9);
        assert_eq!(m.iter().last().unwrap().1, &vec![2, 9]);
    }
}
