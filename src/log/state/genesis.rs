//! Genesis: operation 0 founds the collection.

use super::{Draft, Epoch, EventKind, LogState, Member};
use crate::crypto::aead::SealedBox;
use crate::crypto::wrap::WrappedSecret;
use crate::identity::Identity;
use crate::log::rules::{Role, Violation};

impl LogState {
    /// Operation 0: the author founds the collection as its owner, holding epoch 0.
    pub(super) fn check_create(&self, op: &Draft<'_>, owner: &Identity) -> Result<(), Violation> {
        if self.next_seq != 0 || owner.handle() != op.author {
            return Err(Violation::Genesis);
        }
        Ok(())
    }

    /// Applies a checked creation: the author is the owner and holds epoch 0.
    pub(super) fn apply_create(
        &mut self,
        op: &Draft<'_>,
        owner: &Identity,
        commitment: &[u8; 32],
        wrap: &WrappedSecret,
        info: &SealedBox,
    ) -> EventKind {
        self.owner = op.author.to_owned();
        self.creator_key = owner.signing_key().to_bytes();
        self.insert_member(
            op.author.to_owned(),
            Member {
                card: owner.clone(),
                role: Role::Owner,
                added_by: op.author.to_owned(),
                added_at: op.time,
                accepted_at: Some(op.time),
                key: Some((0, wrap.clone())),
                joined_via: None,
                approved_by: None,
            },
        );
        self.epochs.push(Epoch {
            commitment: *commitment,
            previous_keys: Vec::new(),
            started_seq: op.seq,
        });
        self.info = Some((0, info.clone()));
        EventKind::Created
    }
}
