//! Epochs: the key new writes use must be current and fresh (unknown to anyone
//! who lost access), and a rotation starts the next epoch with the key wrapped
//! to exactly the members and live links that keep access.

use std::collections::HashSet;

use super::{Draft, Epoch, EventKind, LogState, Member};
use crate::log::op::{LinkId, Rotation};
use crate::log::rules::Violation;

impl LogState {
    /// A rotation by any member (the library rotates after a leave, or when a
    /// link holding the key expires).
    pub(super) fn check_rotate(
        &self,
        op: &Draft<'_>,
        rotation: &Rotation,
    ) -> Result<(), Violation> {
        self.check_rotation(op, rotation, &|_| true, &[])
    }

    /// Applies a checked rotation.
    pub(super) fn apply_rotate(&mut self, op: &Draft<'_>, rotation: &Rotation) -> EventKind {
        self.start_epoch(rotation, op.seq);
        EventKind::Rotated {
            epoch: rotation.epoch,
        }
    }

    /// New encryption must use the current epoch, and the current epoch key must
    /// not be known to anyone who lost access: no one left since it was made, and
    /// no link holding it has expired or been used up.
    pub(super) fn check_fresh_epoch(&self, epoch: u64, time: u64) -> Result<(), Violation> {
        if epoch != self.epoch() {
            return Err(Violation::WrongEpoch {
                current: self.epoch(),
                found: epoch,
            });
        }
        if self.needs_rotation_at(time) {
            return Err(Violation::RotationRequired);
        }
        Ok(())
    }

    /// Whether a link that can no longer be used still holds the current key.
    pub fn dead_link_holds_current_key(&self, time: u64) -> bool {
        self.key_links.iter().any(|id| {
            self.links
                .get(id)
                .is_some_and(|l| self.link_refusal(l, time, &|_| true).is_some())
        })
    }

    /// Whether new content at `time` needs a rotation first: a member left, or a
    /// link that holds the current key expired or was used up.
    pub fn needs_rotation_at(&self, time: u64) -> bool {
        self.stale || self.dead_link_holds_current_key(time)
    }

    /// A rotation must start the next epoch, wrap to exactly the members that
    /// `keep` keeps (those holding a key), each once, and seal the key for
    /// exactly the links that stay live at the operation's time and carry epoch
    /// keys (minus `revoking`; a link whose creator `keep` drops is not live).
    /// Its signer must be among the members it wraps to: whoever picks the
    /// next key keeps holding it.
    pub(super) fn check_rotation(
        &self,
        op: &Draft<'_>,
        rotation: &Rotation,
        keep: &dyn Fn(&str) -> bool,
        revoking: &[LinkId],
    ) -> Result<(), Violation> {
        let next = self.epoch() + 1;
        if rotation.epoch != next {
            return Err(Violation::WrongEpoch {
                current: self.epoch(),
                found: rotation.epoch,
            });
        }
        let holds_key = |h: &str| self.members.get(h).is_some_and(Member::holds_key);
        // Each wrap goes to a distinct kept key holder; with as many wraps as
        // kept key holders, every one of them gets exactly one. The count
        // comes from the operation's own list of who goes, never a scan of all
        // members (members waiting for approval cost nothing here).
        let dropped = match &op.body {
            crate::log::op::Body::Remove { members, .. } => {
                members.iter().filter(|h| holds_key(h)).count()
            }
            crate::log::op::Body::Unshare { .. } => self.holders.saturating_sub(1),
            _ => 0,
        };
        let expected = self.holders.saturating_sub(dropped);
        if rotation.wraps.len() != expected {
            return Err(Violation::RotationRecipients("wrong number of wraps"));
        }
        let mut seen = HashSet::with_capacity(expected);
        for (h, _) in &rotation.wraps {
            if !self.receives_rotation(h, keep) {
                return Err(Violation::RotationRecipients("a wrap for a non-member"));
            }
            if !seen.insert(h.as_str()) {
                return Err(Violation::RotationRecipients("two wraps for one member"));
            }
        }
        if !seen.contains(op.author) {
            return Err(Violation::RotationRecipients(
                "its signer must be among the members it wraps to",
            ));
        }
        let live: HashSet<LinkId> = self
            .live_epoch_links(op.time, keep)
            .filter(|l| !revoking.contains(l))
            .collect();
        let sealed: HashSet<LinkId> = rotation.links.iter().map(|(l, _)| *l).collect();
        if sealed.len() != rotation.links.len() || sealed != live {
            return Err(Violation::RotationRecipients(
                "the key must be sealed for exactly the live links that carry epoch keys",
            ));
        }
        Ok(())
    }

    /// Whether a rotation that keeps the members `keep` keeps must wrap its
    /// key to `handle`: a member holding the current key whom it keeps. The
    /// one rule of who gets a new key, for the client that builds a rotation
    /// ([`LogState::rotation_recipients`]) and the check of one.
    pub(crate) fn receives_rotation(&self, handle: &str, keep: &dyn Fn(&str) -> bool) -> bool {
        keep(handle) && self.members.get(handle).is_some_and(Member::holds_key)
    }

    /// Every member a rotation that keeps the members `keep` keeps must wrap
    /// its key to (a member holding the current key whom `keep` keeps).
    pub fn rotation_recipients<'a>(
        &'a self,
        keep: &'a dyn Fn(&str) -> bool,
    ) -> impl Iterator<Item = &'a Member> + 'a {
        self.members
            .iter()
            .filter(move |(h, _)| self.receives_rotation(h, keep))
            .map(|(_, m)| m)
    }

    /// The links that carry epoch keys and can still be used at `time`, when
    /// the members `keep` drops are gone.
    pub fn live_epoch_links<'a>(
        &'a self,
        time: u64,
        keep: &'a dyn Fn(&str) -> bool,
    ) -> impl Iterator<Item = LinkId> + 'a {
        self.open_links
            .iter()
            .filter_map(|id| self.links.get(id).map(|l| (*id, l)))
            .filter(move |(_, l)| {
                l.terms.carries_epoch_key() && self.link_refusal(l, time, keep).is_none()
            })
            .map(|(id, _)| id)
    }

    /// Applies a checked rotation: the new key for every recipient, the next
    /// epoch, and no pending rotation.
    pub(super) fn start_epoch(&mut self, rotation: &Rotation, seq: u64) {
        for (h, wrap) in &rotation.wraps {
            if let Some(m) = self.members.get_mut(h) {
                m.key = Some((rotation.epoch, wrap.clone()));
            }
        }
        for l in std::mem::take(&mut self.key_links) {
            if let Some(rec) = self.links.get_mut(&l) {
                rec.epoch_key = None;
            }
        }
        for (l, wrap) in &rotation.links {
            if let Some(rec) = self.links.get_mut(l) {
                rec.epoch_key = Some((rotation.epoch, wrap.clone()));
                self.key_links.insert(*l);
            }
        }
        self.epochs.push(Epoch {
            commitment: rotation.commitment,
            previous_keys: rotation.previous_keys.clone(),
            started_seq: seq,
        });
        self.stale = false;
    }
}
