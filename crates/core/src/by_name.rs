//! `ByName`: values kept by name in a list sorted by name, for the few-entry maps of the
//! client (a transaction's touched tables, the first download's tables). A `BTreeMap`
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
