//! Replay cost whatever the shape of the log: logs of 100,000 operations,
//! signed by hand (`Operation::sign` through `Account::sign_operation`, with
//! well-formed dummy boxes and wraps: the verifier opens none), each verified
//! from scratch (`LogState::empty` + `extend_from_bytes`, median of 3 runs).
//! Every shape must open within 2x the flat log's time:
//!
//! - (a) flat: 100,000 files at the top (the baseline);
//! - (b) a 100,000-deep folder chain;
//! - (c) a 50,000-deep chain, then 50,000 moves of a folder that holds an item
//!   between the bottom of the chain and the top (each move back down is
//!   checked for a cycle against the whole chain);
//! - (d) links: 10,000 invite links that need approval, created and revoked
//!   in batches of 100 (so at most 100 are unrevoked at once; revoked links do
//!   not count toward MAX_LINKS), padded with files;
//! - (e) 9,999 members, shared in batches of 100, padded with files;
//! - (f) rotations: 50,000 key rotations by the owner (each wrapping to the 4
//!   members who hold the key) alternating with 50,000 files.
//!
//! Run: `cargo bench --bench adversarial_logs` (set `SEALSHARE_BENCH_OPS` for
//! a smaller log for a quick look; the bar is then less meaningful).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::stream::ContentDigest;
use sealshare::internal::crypto::wrap::WrappedSecret;
use sealshare::internal::log::link_terms::{LinkKeys, LinkKind, LinkTerms};
use sealshare::internal::log::{Body, Grant, ItemHeader, LinkId, OpHash, Rotation};
use sealshare::internal::wire::{Kind, Writer};
use sealshare::{Account, CollectionId, ItemId, ItemKind, LogState, Role};

const COLLECTION: CollectionId = CollectionId([0x5e; 16]);

/// Builds a log of the given number of encoded operations.
type Shape = fn(usize) -> Vec<Vec<u8>>;

fn dummy_box() -> SealedBox {
    let mut w = Writer::new(Kind::SealedBox);
    w.fixed(&[1; 24]).bytes(&[2; 48]);
    SealedBox::from_bytes(&w.finish()).unwrap()
}

fn dummy_wrap() -> WrappedSecret {
    let mut w = Writer::new(Kind::WrappedSecret);
    w.fixed(&[3; 32]).bytes(&[4; 48]);
    WrappedSecret::from_bytes(&w.finish()).unwrap()
}

/// Distinct ids from a counter (tag byte first, so shapes never collide).
fn id16(tag: u8, n: u64) -> [u8; 16] {
    let mut id = [tag; 16];
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

/// A log under construction, signed operation by operation.
struct Log {
    owner: Account,
    ops: Vec<Vec<u8>>,
    prev: OpHash,
    epoch: u64,
    time: u64,
    items: u64,
}

impl Log {
    fn new() -> Self {
        let owner = Account::create("owner", 1).unwrap();
        let mut log = Self {
            owner,
            ops: Vec::new(),
            prev: [0; 32],
            epoch: 0,
            time: 1_800_000_000,
            items: 0,
        };
        let body = Body::Create {
            owner: log.owner.identity().clone(),
            commitment: [7; 32],
            wrap: dummy_wrap(),
            info: dummy_box(),
        };
        log.push(body);
        log
    }

    fn len(&self) -> usize {
        self.ops.len()
    }

    /// Signs `body` as the owner and appends it.
    fn push(&mut self, body: Body) {
        let op = self
            .owner
            .sign_operation(
                COLLECTION,
                self.ops.len() as u64,
                self.prev,
                self.time,
                body,
            )
            .unwrap();
        self.prev = op.hash();
        self.ops.push(op.to_bytes().to_vec());
    }

    fn header(&self, item: ItemId, version: u32, kind: ItemKind, parent: Option<ItemId>) -> Body {
        Body::PutItem(Box::new(ItemHeader {
            item,
            version,
            kind,
            parent,
            epoch: self.epoch,
            wrapped_key: dummy_box(),
            metadata: dummy_box(),
            content: (kind == ItemKind::File).then_some(ContentDigest {
                ciphertext_hash: [6; 32],
                key_commitment: [8; 32],
                ciphertext_len: 100,
            }),
        }))
    }

    /// Adds a new item; returns its id.
    fn add(&mut self, kind: ItemKind, parent: Option<ItemId>) -> ItemId {
        let item = ItemId(id16(0x17, self.items));
        self.items += 1;
        let body = self.header(item, 1, kind, parent);
        self.push(body);
        item
    }

    /// Pads with files at the top up to `total` operations.
    fn pad_to(mut self, total: usize) -> Vec<Vec<u8>> {
        while self.len() < total {
            self.add(ItemKind::File, None);
        }
        self.ops
    }
}

fn flat(total: usize) -> Vec<Vec<u8>> {
    Log::new().pad_to(total)
}

fn chain(total: usize) -> Vec<Vec<u8>> {
    let mut log = Log::new();
    let mut parent = None;
    while log.len() < total {
        parent = Some(log.add(ItemKind::Folder, parent));
    }
    log.ops
}

fn chain_and_moves(total: usize) -> Vec<Vec<u8>> {
    let mut log = Log::new();
    let depth = total / 2;
    let mut chain = Vec::with_capacity(depth);
    let mut parent = None;
    while log.len() < depth {
        let f = log.add(ItemKind::Folder, parent);
        chain.push(f);
        parent = Some(f);
    }
    // The folder second from the bottom holds the bottom one; it goes to the
    // top and back under the folder above it, again and again.
    let n = chain.len();
    let (mover, home) = (chain[n - 2], Some(chain[n - 3]));
    let mut version = 1;
    let mut at_home = true;
    while log.len() < total {
        version += 1;
        let to = if at_home { None } else { home };
        at_home = !at_home;
        let body = log.header(mover, version, ItemKind::Folder, to);
        log.push(body);
    }
    log.ops
}

fn links(total: usize) -> Vec<Vec<u8>> {
    let mut log = Log::new();
    let verifying_key = log.owner.identity().signing_key().to_bytes();
    let kem_key = log.owner.identity().kem_key().to_bytes();
    let mut made = 0u64;
    let mut batch = Vec::new();
    while made < 10_000 && log.len() + 2 < total {
        let link = LinkId(id16(0x11, made));
        made += 1;
        log.push(Body::CreateLink(Box::new(LinkTerms {
            link,
            kind: LinkKind::Invite {
                role: Role::Viewer,
                max_uses: 0,
                approval: true,
            },
            expires_at: u64::MAX,
            password: None,
            verifying_key,
            kem_key,
            keys: LinkKeys::None,
        })));
        batch.push(link);
        if batch.len() == 100 {
            log.push(Body::RevokeLinks {
                links: std::mem::take(&mut batch),
                rotation: None,
            });
        }
    }
    log.pad_to(total)
}

fn members(total: usize) -> Vec<Vec<u8>> {
    let mut log = Log::new();
    let mut added = 0;
    while added < 9_999 && log.len() < total {
        let grants = (added..(added + 100).min(9_999))
            .map(|i| Grant {
                card: Account::create(&format!("member{i}"), 1)
                    .unwrap()
                    .identity()
                    .clone(),
                role: Role::Viewer,
                wrap: dummy_wrap(),
            })
            .collect::<Vec<_>>();
        added += grants.len();
        log.push(Body::Share {
            epoch: log.epoch,
            grants,
        });
    }
    log.pad_to(total)
}

fn rotations(total: usize) -> Vec<Vec<u8>> {
    let mut log = Log::new();
    let others: Vec<String> = (0..3).map(|i| format!("member{i}")).collect();
    log.push(Body::Share {
        epoch: 0,
        grants: others
            .iter()
            .map(|h| Grant {
                card: Account::create(h, 1).unwrap().identity().clone(),
                role: Role::Viewer,
                wrap: dummy_wrap(),
            })
            .collect(),
    });
    let mut holders = others;
    holders.push("owner".to_owned());
    while log.len() < total {
        log.epoch += 1;
        let rotation = Rotation {
            epoch: log.epoch,
            commitment: [9; 32],
            previous_keys: vec![(log.epoch - 1, dummy_box())],
            wraps: holders.iter().map(|h| (h.clone(), dummy_wrap())).collect(),
            links: Vec::new(),
        };
        log.push(Body::Rotate { rotation });
        if log.len() < total {
            log.add(ItemKind::File, None);
        }
    }
    log.ops
}

/// Verifies `ops` from scratch `runs` times; the median, in seconds.
fn open_time(ops: &[Vec<u8>], runs: usize) -> f64 {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let mut state = LogState::empty(COLLECTION);
        // The verifier's clock: far ahead, so no operation is held back as
        // not yet valid.
        state.extend_from_bytes(ops, u64::MAX).unwrap();
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(state.len(), ops.len() as u64);
        drop(state);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let total: usize = std::env::var("SEALSHARE_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs = 3;
    println!(
        "{} cores; {total} operations per log, verified from scratch, median of {runs}\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let shapes: [(&str, Shape); 6] = [
        ("(a) flat: files at the top", flat),
        ("(b) a folder chain as deep as the log", chain),
        (
            "(c) half-depth chain, then moves at its bottom",
            chain_and_moves,
        ),
        ("(d) 10,000 links created and revoked, padded", links),
        ("(e) 9,999 members, padded", members),
        ("(f) rotations alternating with files", rotations),
    ];
    // One untimed run first, so thread pools and allocator pages are warm
    // before the baseline is measured.
    open_time(&flat(total.min(20_000)), 1);
    let mut baseline = None;
    let mut failed = false;
    for (name, build) in shapes {
        let ops = build(total);
        assert_eq!(ops.len(), total, "{name}");
        let secs = open_time(&ops, runs);
        let base = *baseline.get_or_insert(secs);
        let ratio = secs / base;
        let verdict = if ratio <= 2.0 { "PASS" } else { "FAIL" };
        failed |= ratio > 2.0;
        println!(
            "{name:<50} {:>9.1} ms   {ratio:>5.2}x flat   bar 2.00x   {verdict}",
            secs * 1000.0
        );
    }
    if failed {
        println!("\nsome shape opens more than twice as slowly as the flat log");
    }
}
