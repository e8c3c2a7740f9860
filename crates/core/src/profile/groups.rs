//! Sync groups: the tables that pull together. Tables linked by `related` scopes form
//! one group, pulled at the shortest `syncIntervalSeconds` among them: a child row moves
//! in and out of scope with its parent, so pulled apart the child would lag behind.

use super::{collect_related, Profile};

/// Tables pulled together, at one interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    /// In name order.
    pub tables: Vec<String>,
    pub interval_seconds: u32,
}

impl Profile {
    /// The profile's tables in sync groups, each table in exactly one; groups in the
    /// order of their first table's name.
    pub fn sync_groups(&self) -> Vec<SyncGroup> {
        let names: Vec<&String> = self.tables.keys().collect();
        let index = |t: &str| names.iter().position(|n| n.as_str() == t);
        // Union-find over the `related` links, by index in name order.
        let mut parent: Vec<usize> = (0..names.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for (i, name) in names.iter().enumerate() {
            let mut rels = Vec::new();
            collect_related(&self.tables[*name].scope, "", &mut rels);
            for (_, r) in rels {
                if let Some(j) = index(&r.table) {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
        let mut groups: Vec<(usize, SyncGroup)> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let r = root(&mut parent, i);
            let interval = self.tables[*name].sync_interval_seconds;
            match groups.iter_mut().find(|(g, _)| *g == r) {
                Some((_, g)) => {
                    g.tables.push((*name).clone());
                    g.interval_seconds = g.interval_seconds.min(interval);
                }
                None => groups.push((
                    r,
                    SyncGroup {
                        tables: vec![(*name).clone()],
                        interval_seconds: interval,
                    },
                )),
            }
        }
        groups.into_iter().map(|(_, g)| g).collect()
    }

    /// The groups holding any of `tables`, by index in `sync_groups()`.
    pub fn groups_of(&self, tables: &[String]) -> Vec<usize> {
        self.sync_groups()
            .iter()
            .enumerate()
            .filter(|(_, g)| g.tables.iter().any(|t| tables.contains(t)))
            .map(|(i, _)| i)
            .collect()
    }
}
