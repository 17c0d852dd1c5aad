//! Opening a public link to a 10,000-item collection: fetch and verify the log
//! (no account, creator key pinned by the link), unlock the link's key, and
//! list every item's name. Target: at most 0.5 s.
//!
//! Run: `cargo bench --bench links`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Instant;

use sealshare::internal::crypto::password::Profile;
use sealshare::{
    Account, Client, Collection, MemoryRemote, PublicLinkTerms, PublicScope, PublicView, Remote,
};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let mut owner = Client::new(Account::create("owner", 1).unwrap(), remote.clone());
    let mut coll = Collection::create(&mut owner, "Album", "").unwrap();
    for i in 0..10_000 {
        coll.add_file(
            &mut owner,
            None,
            &format!("photo-{i:05}.jpg"),
            "image/jpeg",
            b"jpeg",
        )
        .unwrap();
    }
    let now = owner.now();
    let base = "https://photos.example/s";
    let cases = [
        ("live, no password", PublicLinkTerms::default()),
        (
            "snapshot, no password",
            PublicLinkTerms {
                scope: PublicScope::Snapshot,
                ..Default::default()
            },
        ),
        (
            "live, password (Argon2id interactive)",
            PublicLinkTerms {
                password: Some("hunter2 but longer".into()),
                password_params: Profile::Interactive.params(),
                ..Default::default()
            },
        ),
    ];
    for (what, terms) in cases {
        let url = coll.create_public_link(&mut owner, base, &terms).unwrap();
        let mut runs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let view =
                PublicView::open(remote.clone(), &url, terms.password.as_deref(), now).unwrap();
            let names = view.items().complete().unwrap();
            runs.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(names.len(), 10_000);
        }
        let m = median(runs);
        let verdict = if m <= 500.0 { "PASS" } else { "FAIL" };
        println!(
            "open a public link to 10,000 items ({what:<38}) {m:>8.1} ms   target 500 ms   {verdict}"
        );
    }
}
