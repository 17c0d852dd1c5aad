//! Signatures for the benchmarks' bare Ed25519 floors.

use rayon::prelude::*;
use sealshare::internal::crypto::sign::{BatchItem, Domain, Signature, SigningKey, VerifyingKey};

/// `n` operation-sized messages, each signed by one of 32 keys in turn.
pub(crate) struct Signed {
    pub(crate) keys: Vec<VerifyingKey>,
    pub(crate) msgs: Vec<Vec<u8>>,
    pub(crate) sigs: Vec<Signature>,
}

/// The domain the benchmarks sign under.
pub(crate) const DOMAIN: Domain = Domain::IdentityCard;

impl Signed {
    /// Makes them (signing on all cores).
    pub(crate) fn new(n: usize) -> Self {
        let signers: Vec<SigningKey> = (0..32)
            .map(|_| SigningKey::generate().expect("randomness"))
            .collect();
        let msgs: Vec<Vec<u8>> = (0..n)
            .into_par_iter()
            .map(|i| format!("operation {i:08} {:>180}", "of a typical size").into_bytes())
            .collect();
        let sigs = msgs
            .par_iter()
            .enumerate()
            .map(|(i, m)| signers[i % 32].sign(DOMAIN, m))
            .collect();
        Self {
            keys: signers.iter().map(SigningKey::verifying_key).collect(),
            msgs,
            sigs,
        }
    }

    /// Every signature as an item of a batch verification.
    pub(crate) fn items(&self) -> Vec<BatchItem<'_>> {
        self.msgs
            .iter()
            .zip(&self.sigs)
            .enumerate()
            .map(|(i, (msg, signature))| BatchItem {
                key: &self.keys[i % 32],
                domain: DOMAIN,
                msg,
                signature,
            })
            .collect()
    }
}
