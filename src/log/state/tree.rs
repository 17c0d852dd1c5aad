//! The folder tree as a link-cut tree (Sleator and Tarjan, "A data structure
//! for dynamic trees", 1983), so that moving a folder is checked for cycles in
//! O(log n) amortized whatever the shape of the tree: a chain of 100,000
//! folders, or an adversary moving a folder back and forth at its bottom, costs
//! what a flat collection costs. Walking the ancestors instead costs the depth
//! on every move, quadratic over a log.
//!
//! Hand-written rather than taken from crates.io: the one link-cut tree there
//! (`lctree` 0.3) keeps unrooted trees (every link and cut re-roots the tree,
//! flipping paths), carries f64 path weights, and asserts (panics) on misuse,
//! while the verifier needs a rooted forest, must never panic on a log it
//! replays, and needs only link, cut, find-root and an ancestor test. What is
//! here is the rooted, splay-based structure without path reversal: about a
//! hundred lines, no unsafe, and no recursion (splay and access are loops, so
//! no shape of tree can overflow the stack). Nodes live in a `Vec` and name
//! each other by index.
//!
//! Only folders are nodes: a file has no children, so it can close no cycle.
//! A virtual root node stands for the top of the collection.

use std::collections::HashMap;

use super::ItemRecord;
use crate::log::op::{ItemId, ItemKind};

/// No node.
const NIL: u32 = u32::MAX;

/// One node. `parent` is the parent in the node's splay tree when the node is
/// that parent's left or right child, and otherwise the *path parent*: the
/// represented parent of the topmost node of the node's preferred path.
#[derive(Clone, Copy, Debug)]
struct Node {
    left: u32,
    right: u32,
    parent: u32,
}

const DETACHED: Node = Node {
    left: NIL,
    right: NIL,
    parent: NIL,
};

/// A forest of rooted trees under link, cut, find-root and an ancestor test,
/// each O(log n) amortized. Indices of removed nodes are reused.
#[derive(Clone, Debug, Default)]
pub(crate) struct LinkCut {
    nodes: Vec<Node>,
    free: Vec<u32>,
}

impl LinkCut {
    /// A new node, alone in its tree; `None` only past 2³² − 1 nodes.
    pub(crate) fn add(&mut self) -> Option<u32> {
        if let Some(x) = self.free.pop() {
            self.set(x, |n| *n = DETACHED);
            return Some(x);
        }
        let x = u32::try_from(self.nodes.len()).ok().filter(|x| *x != NIL)?;
        self.nodes.push(DETACHED);
        Some(x)
    }

    /// Removes `x` (cut from its parent) for reuse. The caller guarantees it
    /// has no children.
    pub(crate) fn remove(&mut self, x: u32) {
        if self.nodes.get(x as usize).is_none() {
            return;
        }
        self.cut(x);
        self.set(x, |n| *n = DETACHED);
        self.free.push(x);
    }

    /// Makes `parent` the parent of `child`, which must be the root of its tree
    /// and not an ancestor of `parent`. Returns whether it did (nothing changes
    /// otherwise).
    pub(crate) fn link(&mut self, child: u32, parent: u32) -> bool {
        if !self.exists(child) || !self.exists(parent) || self.is_ancestor(child, parent) {
            return false;
        }
        self.access(child);
        if self.left(child) != NIL {
            return false; // not the root of its tree
        }
        self.set(child, |n| n.parent = parent);
        true
    }

    /// Detaches `x` (with its subtree) from its parent, if it has one.
    pub(crate) fn cut(&mut self, x: u32) {
        self.access(x);
        let above = self.left(x);
        if above != NIL {
            self.set(above, |n| n.parent = NIL);
            self.set(x, |n| n.left = NIL);
        }
    }

    /// The root of the tree holding `x`. (The verifier asks the cheaper
    /// [`LinkCut::is_ancestor`]; the tests check both against a model.)
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn find_root(&mut self, x: u32) -> u32 {
        self.access(x);
        let mut root = x;
        loop {
            let l = self.left(root);
            if l == NIL {
                break;
            }
            root = l;
        }
        self.splay(root);
        root
    }

    /// Whether `a` is `d` or one of its ancestors. After `access(d)` the path
    /// from the root to `d` is one splay tree with `d` at its top; `a` is on
    /// that path exactly when splaying `a` pushes `d` down from the top.
    pub(crate) fn is_ancestor(&mut self, a: u32, d: u32) -> bool {
        if a == d {
            return true;
        }
        self.access(d);
        self.splay(a);
        !self.is_splay_root(d)
    }

    fn exists(&self, x: u32) -> bool {
        (x as usize) < self.nodes.len()
    }

    fn get(&self, x: u32) -> Node {
        self.nodes.get(x as usize).copied().unwrap_or(DETACHED)
    }

    fn set(&mut self, x: u32, f: impl FnOnce(&mut Node)) {
        if let Some(n) = self.nodes.get_mut(x as usize) {
            f(n);
        }
    }

    fn left(&self, x: u32) -> u32 {
        self.get(x).left
    }

    fn right(&self, x: u32) -> u32 {
        self.get(x).right
    }

    fn parent(&self, x: u32) -> u32 {
        self.get(x).parent
    }

    /// Whether `x` is the root of its splay tree (its parent pointer, if any, is
    /// a path parent).
    fn is_splay_root(&self, x: u32) -> bool {
        let p = self.parent(x);
        p == NIL || (self.left(p) != x && self.right(p) != x)
    }

    /// Rotates `x` above its splay parent.
    fn rotate(&mut self, x: u32) {
        let p = self.parent(x);
        let g = self.parent(p);
        let p_was_root = self.is_splay_root(p);
        if self.left(p) == x {
            let b = self.right(x);
            self.set(p, |n| n.left = b);
            self.set(b, |n| n.parent = p);
            self.set(x, |n| n.right = p);
        } else {
            let b = self.left(x);
            self.set(p, |n| n.right = b);
            self.set(b, |n| n.parent = p);
            self.set(x, |n| n.left = p);
        }
        self.set(p, |n| n.parent = x);
        self.set(x, |n| n.parent = g);
        if !p_was_root {
            if self.left(g) == p {
                self.set(g, |n| n.left = x);
            } else {
                self.set(g, |n| n.right = x);
            }
        }
    }

    /// Brings `x` to the top of its splay tree (zig, zig-zig, zig-zag).
    fn splay(&mut self, x: u32) {
        if !self.exists(x) {
            return;
        }
        while !self.is_splay_root(x) {
            let p = self.parent(x);
            if !self.is_splay_root(p) {
                let g = self.parent(p);
                if (self.left(g) == p) == (self.left(p) == x) {
                    self.rotate(p);
                } else {
                    self.rotate(x);
                }
            }
            self.rotate(x);
        }
    }

    /// Makes the path from the root to `x` preferred: afterwards it is one splay
    /// tree with `x` at its top and nothing deeper than `x` in it.
    fn access(&mut self, x: u32) {
        if !self.exists(x) {
            return;
        }
        let mut below = NIL;
        let mut y = x;
        while y != NIL {
            self.splay(y);
            self.set(y, |n| n.right = below);
            below = y;
            y = self.parent(y);
        }
        self.splay(x);
    }
}

/// The folders of a collection as a [`LinkCut`] forest under one virtual root
/// (the top of the collection), each folder linked to its parent folder.
#[derive(Clone, Debug)]
pub(crate) struct FolderTree {
    tree: LinkCut,
    nodes: HashMap<ItemId, u32>,
    top: u32,
}

impl Default for FolderTree {
    fn default() -> Self {
        let mut tree = LinkCut::default();
        let top = tree.add().unwrap_or(0);
        Self {
            tree,
            nodes: HashMap::new(),
            top,
        }
    }
}

impl FolderTree {
    /// The node of a parent (`None`: the top), if it is a known folder.
    fn node_of(&self, parent: Option<ItemId>) -> Option<u32> {
        match parent {
            None => Some(self.top),
            Some(p) => self.nodes.get(&p).copied(),
        }
    }

    /// Adds a new folder under `parent`. False (nothing added) if the parent
    /// is not a known folder or the folder is known already.
    pub(crate) fn insert(&mut self, folder: ItemId, parent: Option<ItemId>) -> bool {
        if self.nodes.contains_key(&folder) {
            return false;
        }
        let (Some(p), Some(x)) = (self.node_of(parent), self.tree.add()) else {
            return false;
        };
        self.nodes.insert(folder, x);
        self.tree.link(x, p)
    }

    /// Whether `target` is `folder` or inside it: moving `folder` into
    /// `target` would make it its own ancestor.
    pub(crate) fn contains(&mut self, folder: ItemId, target: ItemId) -> bool {
        match (self.nodes.get(&folder), self.nodes.get(&target)) {
            (Some(&a), Some(&d)) => self.tree.is_ancestor(a, d),
            _ => folder == target,
        }
    }

    /// Moves `folder` (with everything inside it) under `parent`. False, with
    /// nothing changed, if either is unknown or the move would close a cycle.
    pub(crate) fn move_to(&mut self, folder: ItemId, parent: Option<ItemId>) -> bool {
        let (Some(x), Some(p)) = (self.nodes.get(&folder).copied(), self.node_of(parent)) else {
            return false;
        };
        if self.tree.is_ancestor(x, p) {
            return false;
        }
        self.tree.cut(x);
        self.tree.link(x, p)
    }

    /// Forgets a folder (purged: it holds nothing).
    pub(crate) fn remove(&mut self, folder: ItemId) {
        if let Some(x) = self.nodes.remove(&folder) {
            self.tree.remove(x);
        }
    }

    /// The tree of `items` (as restored from a checkpoint): every folder under
    /// its parent, in O(n log n). Fails if an item's parent is not a folder
    /// among them or the parents form a cycle.
    pub(crate) fn build(items: &HashMap<ItemId, Box<ItemRecord>>) -> Result<Self, &'static str> {
        let mut t = Self::default();
        t.nodes.reserve(items.len());
        for (id, rec) in items {
            if let Some(p) = rec.latest.header.parent
                && items.get(&p).is_none_or(|r| r.kind() != ItemKind::Folder)
            {
                return Err("an item's parent is not a folder");
            }
            if rec.kind() == ItemKind::Folder {
                let x = t.tree.add().ok_or("too many folders")?;
                t.nodes.insert(*id, x);
            }
        }
        for (id, rec) in items {
            if rec.kind() != ItemKind::Folder {
                continue;
            }
            let x = t.nodes.get(id).copied();
            let p = t.node_of(rec.latest.header.parent);
            match (x, p) {
                (Some(x), Some(p)) if t.tree.link(x, p) => {}
                _ => return Err("the folder tree has a cycle"),
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use proptest::prelude::*;

    use super::*;

    /// The naive reference: a parent pointer per node.
    struct Naive {
        parent: Vec<Option<usize>>,
    }

    impl Naive {
        fn root(&self, mut x: usize) -> usize {
            while let Some(p) = self.parent[x] {
                x = p;
            }
            x
        }
        fn is_ancestor(&self, a: usize, mut d: usize) -> bool {
            loop {
                if a == d {
                    return true;
                }
                match self.parent[d] {
                    Some(p) => d = p,
                    None => return false,
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Link(usize, usize),
        Cut(usize),
        Root(usize),
        Ancestor(usize, usize),
        Move(usize, usize),
    }

    fn op(n: usize) -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..n, 0..n).prop_map(|(a, b)| Op::Link(a, b)),
            (0..n).prop_map(Op::Cut),
            (0..n).prop_map(Op::Root),
            (0..n, 0..n).prop_map(|(a, b)| Op::Ancestor(a, b)),
            (0..n, 0..n).prop_map(|(a, b)| Op::Move(a, b)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Random links, cuts, moves and queries agree with parent pointers.
        #[test]
        fn agrees_with_parent_pointers(ops in prop::collection::vec(op(24), 1..400)) {
            let n = 24;
            let mut lct = LinkCut::default();
            let ids: Vec<u32> = (0..n).map(|_| lct.add().unwrap()).collect();
            let mut naive = Naive { parent: vec![None; n] };
            for op in ops {
                match op {
                    Op::Link(c, p) => {
                        let ok = naive.parent[c].is_none() && !naive.is_ancestor(c, p);
                        prop_assert_eq!(lct.link(ids[c], ids[p]), ok);
                        if ok {
                            naive.parent[c] = Some(p);
                        }
                    }
                    Op::Cut(x) => {
                        lct.cut(ids[x]);
                        naive.parent[x] = None;
                    }
                    Op::Root(x) => {
                        prop_assert_eq!(lct.find_root(ids[x]), ids[naive.root(x)]);
                    }
                    Op::Ancestor(a, d) => {
                        prop_assert_eq!(
                            lct.is_ancestor(ids[a], ids[d]),
                            naive.is_ancestor(a, d)
                        );
                    }
                    Op::Move(x, p) => {
                        // The verifier's move: cut, check the root, link back on a cycle.
                        let old = naive.parent[x];
                        lct.cut(ids[x]);
                        if lct.find_root(ids[p]) == ids[x] {
                            prop_assert!(naive.is_ancestor(x, p));
                            if let Some(o) = old {
                                prop_assert!(lct.link(ids[x], ids[o]));
                            }
                        } else {
                            prop_assert!(!naive.is_ancestor(x, p));
                            prop_assert!(lct.link(ids[x], ids[p]));
                            naive.parent[x] = Some(p);
                        }
                    }
                }
            }
            for x in 0..n {
                prop_assert_eq!(lct.find_root(ids[x]), ids[naive.root(x)]);
            }
        }
    }

    /// A 200,000-deep chain and moves at its bottom: no stack overflow, and
    /// every answer right.
    #[test]
    fn deep_chains_and_moves_at_the_bottom() {
        let n = 200_000;
        let mut lct = LinkCut::default();
        let ids: Vec<u32> = (0..n).map(|_| lct.add().unwrap()).collect();
        for i in 1..n {
            assert!(lct.link(ids[i], ids[i - 1]));
        }
        assert_eq!(lct.find_root(ids[n - 1]), ids[0]);
        assert!(lct.is_ancestor(ids[0], ids[n - 1]));
        assert!(!lct.is_ancestor(ids[n - 1], ids[0]));
        // The bottom folder and its child go back and forth between the top
        // and the bottom of the chain.
        let (a, b) = (ids[n - 2], ids[n - 1]);
        for round in 0..1000 {
            lct.cut(a);
            let to = if round % 2 == 0 { ids[0] } else { ids[n - 3] };
            assert_ne!(lct.find_root(to), a);
            assert!(lct.link(a, to));
            assert!(!lct.link(ids[0], b), "a cycle is refused");
            assert_eq!(lct.find_root(b), ids[0]);
        }
    }

    /// Removed nodes are reused; a folder tree refuses cycles and unknown
    /// parents, and rebuilds from records.
    #[test]
    fn folder_tree_moves_and_removals() {
        let mut t = FolderTree::default();
        let [a, b, c] = [[1u8; 16], [2; 16], [3; 16]].map(ItemId);
        assert!(t.insert(a, None));
        assert!(t.insert(b, Some(a)));
        assert!(t.insert(c, Some(b)));
        assert!(!t.insert(c, None), "known already");
        assert!(!t.insert(ItemId([9; 16]), Some(ItemId([8; 16]))));
        assert!(t.contains(a, c));
        assert!(!t.contains(c, a));
        assert!(!t.move_to(a, Some(c)), "a cycle");
        assert!(t.move_to(c, None));
        assert!(t.move_to(a, Some(c)));
        assert!(t.contains(c, b));
        t.remove(b);
        let before = t.tree.nodes.len();
        assert!(t.insert(b, Some(a)));
        assert_eq!(t.tree.nodes.len(), before, "the node was reused");
    }
}
