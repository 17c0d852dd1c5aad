//! The collection bars of issue 3, measured on real collections built through
//! the public API over the in-memory server:
//!
//! - share a collection with 1,000 members: at most 150 ms;
//! - remove one member from 1,000 members and 100,000 items: at most 200 ms, and
//!   at most 1.2 times the same removal with 1,000 items;
//! - verify a 100,000-operation log from scratch: at most 1.5 s on 2 cores;
//!   verify one operation appended onto a verified state: at most 0.5 ms;
//! - decrypt the names of 100,000 items: at most 1 s.
//!
//! Run: `cargo bench --bench collections` (set `SEALSHARE_BENCH_ITEMS` to build
//! a smaller collection for a quick look).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealshare::{Account, Client, Collection, Identity, LogState, MemoryRemote, Remote, Role};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, figure_ms: f64, bar_ms: f64) {
    let verdict = if figure_ms <= bar_ms { "PASS" } else { "FAIL" };
    println!("{what:<58} {figure_ms:>9.2} ms   bar {bar_ms:>7.1} ms   {verdict}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn client(handle: &str, remote: &Arc<dyn Remote>) -> Client {
    Client::new(
        Account::create(handle, 1_790_000_000).unwrap(),
        remote.clone(),
    )
}

/// A collection with `members` members (4 collaborators among them) and `items`
/// folders added by the owner and the 4 collaborators in turn.
fn build(members: usize, items: usize) -> (Arc<dyn Remote>, Client, Collection) {
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let mut owner = client("owner", &remote);
    let mut coll = Collection::create(&mut owner, "Bench", "").unwrap();
    let mut writers: Vec<Client> = (0..4)
        .map(|i| client(&format!("writer{i}"), &remote))
        .collect();
    let mut grants: Vec<(Identity, Role)> = writers
        .iter()
        .map(|c| (c.account().identity().clone(), Role::Collaborator))
        .collect();
    grants.extend((0..members.saturating_sub(5)).map(|i| {
        (
            Account::create(&format!("member{i}"), 1)
                .unwrap()
                .identity()
                .clone(),
            Role::Viewer,
        )
    }));
    coll.share_many(&mut owner, &grants).unwrap();
    let per_writer = items / 5;
    for w in writers.iter_mut() {
        let mut theirs = Collection::open(w, coll.id()).unwrap();
        theirs.accept(w).unwrap();
        for i in 0..per_writer {
            theirs
                .add_folder(w, None, &format!("{} folder {i}", w.account().handle()))
                .unwrap();
        }
    }
    coll.sync(&mut owner).unwrap();
    while coll.state().items().len() < items {
        let i = coll.state().items().len();
        coll.add_folder(&mut owner, None, &format!("owner folder {i}"))
            .unwrap();
    }
    (remote, owner, coll)
}

fn main() {
    let items: usize = std::env::var("SEALSHARE_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!(
        "{} cores; collections over the in-memory server\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // 1. Share with 1,000 members at once.
    let mut share_runs = Vec::new();
    for _ in 0..5 {
        let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
        let mut owner = client("owner", &remote);
        let mut coll = Collection::create(&mut owner, "Share", "").unwrap();
        let grants: Vec<(Identity, Role)> = (0..1000)
            .map(|i| {
                (
                    Account::create(&format!("m{i}"), 1)
                        .unwrap()
                        .identity()
                        .clone(),
                    Role::Viewer,
                )
            })
            .collect();
        let t = Instant::now();
        coll.share_many(&mut owner, &grants).unwrap();
        share_runs.push(ms(t.elapsed()));
    }
    report(
        "share with 1,000 members (median of 5)",
        median(share_runs),
        150.0,
    );

    // 2. Remove one member: 1,000 members with 1,000 items, then with `items`.
    let remove_time = |items: usize| -> (f64, Arc<dyn Remote>, Client, Collection) {
        let t = Instant::now();
        let (remote, mut owner, mut coll) = build(1000, items);
        eprintln!(
            "  (built 1,000 members and {items} items in {:.1} s)",
            t.elapsed().as_secs_f64()
        );
        let mut runs = Vec::new();
        for i in 0..5 {
            let t = Instant::now();
            coll.remove(&mut owner, &format!("member{i}")).unwrap();
            runs.push(ms(t.elapsed()));
        }
        (median(runs), remote, owner, coll)
    };
    let (small, _, _, _) = remove_time(1000);
    let (large, remote, mut owner, coll) = remove_time(items);
    report(
        "remove 1 of 1,000 members, 1,000 items (median of 5)",
        small,
        200.0,
    );
    report(
        &format!("remove 1 of 1,000 members, {items} items (median of 5)"),
        large,
        200.0,
    );
    let ratio = large / small;
    println!(
        "{:<58} {ratio:>9.2}      bar {:>7.1}      {}",
        "  ratio (large / small)",
        1.2,
        if ratio <= 1.2 { "PASS" } else { "FAIL" }
    );

    // 3. Verify the whole log from scratch (batch signatures on all cores).
    let mut coll = coll;
    coll.add_folder(&mut owner, None, "the last one").unwrap();
    let ops = remote.fetch(&coll.id(), 0).unwrap();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut state = LogState::empty(coll.id());
        state.extend_from_bytes(&ops, u64::MAX).unwrap();
        runs.push(ms(t.elapsed()));
        assert_eq!(state.len(), ops.len() as u64);
    }
    let bar = 1500.0 * ops.len() as f64 / 100_000.0;
    report(
        &format!(
            "verify a {}-operation log from scratch (median of 3)",
            ops.len()
        ),
        median(runs),
        bar,
    );

    // One operation appended onto a verified state (a checkpoint).
    let mut verified = LogState::empty(coll.id());
    verified
        .extend_from_bytes(&ops[..ops.len() - 1], u64::MAX)
        .unwrap();
    let last = [ops[ops.len() - 1].clone()];
    let mut runs = Vec::new();
    for _ in 0..100 {
        let mut state = verified.clone();
        let t = Instant::now();
        state.extend_from_bytes(&last, u64::MAX).unwrap();
        runs.push(ms(t.elapsed()));
    }
    report(
        "verify one appended operation on a checkpoint (median of 100)",
        median(runs),
        0.5,
    );
    // For scale: appending a removal, which carries 999 wraps.
    let removal = ops.len() - 2;
    let mut before = LogState::empty(coll.id());
    before.extend_from_bytes(&ops[..removal], u64::MAX).unwrap();
    let one = [ops[removal].clone()];
    let mut runs = Vec::new();
    for _ in 0..20 {
        let mut state = before.clone();
        let t = Instant::now();
        state.extend_from_bytes(&one, u64::MAX).unwrap();
        runs.push(ms(t.elapsed()));
    }
    println!(
        "{:<58} {:>9.2} ms   (no bar: for scale)",
        "  verify one appended removal of 1 in 1,000 (999 wraps)",
        median(runs)
    );

    // 4. Decrypt every item's name.
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let names = coll.item_names().unwrap();
        runs.push(ms(t.elapsed()));
        assert_eq!(names.len(), coll.state().items().len());
    }
    report(
        &format!(
            "decrypt the names of {} items (median of 3)",
            coll.state().items().len()
        ),
        median(runs),
        1000.0,
    );
    let _ = &mut owner;
}
