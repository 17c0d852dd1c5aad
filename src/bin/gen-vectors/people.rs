//! The fixed inputs of the every-operation log: its accounts, each made from
//! its own seed, its clock, where its links point and the link password.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sealshare::Account;
use sealshare::internal::collection::Clock;
use sealshare::internal::crypto::password::Argon2Params;
use sealshare::internal::crypto::random::seeded::with_seed;

use crate::NOW;

/// Where the links of the vectors point (any base works: the fragment is the link).
pub(crate) const BASE: &str = "https://share.example/l";
/// The clock of the every-operation log starts here and ticks 10 s per step.
pub(crate) const T0: u64 = NOW + 1_000;
/// Argon2id parameters for the link password: the smallest the bounds admit,
/// far within the link-password ceiling (the Moderate profile).
pub(crate) const CHEAP: Argon2Params = Argon2Params {
    memory_kib: 19 * 1024,
    passes: 2,
    lanes: 1,
};
/// The link password: a precomposed "à" (U+00E0), hashed as its UTF-8 bytes.
pub(crate) const LINK_PASSWORD: &str = "sauce tomate \u{e0} l'ail";

/// The accounts of the every-operation log, each made from its own seed.
pub(crate) struct People {
    pub(crate) alice: Account,
    pub(crate) bob: Account,
    pub(crate) carol: Account,
    pub(crate) frank: Account,
    pub(crate) grace: Account,
    pub(crate) ivan: Account,
    pub(crate) mallory: Account,
}

fn person(name: &str, created_at: u64) -> sealshare::Result<Account> {
    with_seed(format!("sealshare v1 vectors: {name}").as_bytes(), || {
        Account::create(&format!("{name}@example.com"), created_at)
    })
}

pub(crate) fn copy(a: &Account) -> sealshare::Result<Account> {
    Account::from_secret_bytes(a.to_secret_bytes().expose())
}

impl People {
    pub(crate) fn new(alice: &Account, bob: &Account) -> sealshare::Result<Self> {
        Ok(Self {
            alice: copy(alice)?,
            bob: copy(bob)?,
            carol: person("carol", NOW + 120)?,
            frank: person("frank", NOW + 180)?,
            grace: person("grace", NOW + 240)?,
            ivan: person("ivan", NOW + 300)?,
            mallory: person("mallory", NOW + 360)?,
        })
    }

    pub(crate) fn all(&self) -> [&Account; 7] {
        [
            &self.alice,
            &self.bob,
            &self.carol,
            &self.frank,
            &self.grace,
            &self.ivan,
            &self.mallory,
        ]
    }
}

pub(crate) fn clock_of(clock: &Arc<AtomicU64>) -> Clock {
    let clock = clock.clone();
    Box::new(move || clock.load(Ordering::SeqCst))
}
