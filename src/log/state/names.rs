//! The handles that a state's records name, each held once: a log of a
//! million operations by a few authors names them a million times over.

use std::collections::HashSet;
use std::sync::Arc;

/// Shared handles, one allocation per distinct handle.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names(HashSet<Arc<str>>);

impl Names {
    /// `name`, shared with every record that already names it.
    pub(crate) fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(name) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        self.0.insert(shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_handle_is_held_once() {
        let mut names = Names::default();
        let a = names.get("alice");
        let b = names.get("alice");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*names.get("bob"), "bob");
        assert_eq!(names.0.len(), 2);
    }
}
