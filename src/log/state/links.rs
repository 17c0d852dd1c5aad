//! Links: creating invite and public links under signed terms, revoking them,
//! and joining through an invite link with the link key's proof.

use std::collections::HashSet;

use super::{Draft, EventKind, LinkRecord, LogState, Member};
use crate::crypto::sign::{Signature, VerifyingKey};
use crate::crypto::wrap::WrappedSecret;
use crate::identity::Identity;
use crate::log::authority::{Standing, check_grant};
use crate::log::link_terms::{LinkKeys, LinkKind, LinkTerms, PublicScope};
use crate::log::op::{
    JOIN_PROOF_DOMAIN, LinkId, MAX_LINKS, MAX_MEMBERS, Operation, Rotation, join_proof_message,
};
use crate::log::rules::{Action, Role, Violation};

impl LogState {
    /// Applies a link created under terms [`LogState::check_link_terms`]
    /// accepted.
    pub(super) fn apply_create_link(&mut self, op: &Draft<'_>, terms: &LinkTerms) -> EventKind {
        let epoch_key = match &terms.keys {
            LinkKeys::Epoch { epoch, wrap } => Some((*epoch, wrap.clone())),
            _ => None,
        };
        self.open_links.insert(terms.link);
        if epoch_key.is_some() {
            self.key_links.insert(terms.link);
        }
        self.links.insert(
            terms.link,
            LinkRecord {
                terms: terms.clone(),
                creator: op.author.to_owned(),
                created_at: op.time,
                created_seq: op.seq,
                epoch_key,
                joins: Vec::new(),
                revoked: None,
            },
        );
        EventKind::LinkCreated(terms.link)
    }

    /// Links revoked; a link that holds the current key makes the key rotate in
    /// the same operation.
    pub(super) fn check_revoke_links(
        &self,
        op: &Draft<'_>,
        links: &[LinkId],
        rotation: Option<&Rotation>,
    ) -> Result<(), Violation> {
        if links.is_empty() {
            return Err(Violation::EmptyList("link to revoke"));
        }
        let mut seen = HashSet::with_capacity(links.len());
        let mut needs_rotation = false;
        for l in links {
            let rec = self.links.get(l).ok_or(Violation::NoSuchLink)?;
            if !seen.insert(*l) {
                return Err(Violation::NamedTwice(format!("link {l}")));
            }
            if rec.revoked.is_some() {
                return Err(Violation::LinkRevoked);
            }
            needs_rotation |= rec.terms.carries_epoch_key();
        }
        match rotation {
            None if needs_rotation => Err(Violation::RotationRequired),
            None => Ok(()),
            Some(r) => self.check_rotation(op, r, &|_| true, links),
        }
    }

    /// Applies a checked revocation: the links are revoked by the author and
    /// hold no key, and the next epoch starts if the operation rotates.
    pub(super) fn apply_revoke_links(
        &mut self,
        op: &Draft<'_>,
        links: &[LinkId],
        rotation: Option<&Rotation>,
    ) -> EventKind {
        for l in links {
            if let Some(rec) = self.links.get_mut(l) {
                rec.revoked = Some((op.author.to_owned(), op.time));
                rec.epoch_key = None;
            }
            self.open_links.remove(l);
            self.key_links.remove(l);
        }
        if let Some(r) = rotation {
            self.start_epoch(r, op.seq);
        }
        EventKind::LinksRevoked {
            links: links.to_vec(),
            epoch: rotation.map(|r| r.epoch),
        }
    }

    /// A new link: its terms are well formed, fit the link's kind, and grant
    /// no more than the author holds.
    pub(super) fn check_link_terms(
        &self,
        op: &Draft<'_>,
        role: Role,
        terms: &LinkTerms,
    ) -> Result<(), Violation> {
        if self.links.contains_key(&terms.link) {
            return Err(Violation::LinkTerms("a link with this id exists"));
        }
        if self.open_links.len() >= MAX_LINKS {
            return Err(Violation::Limit("too many links not revoked"));
        }
        if terms.expires_at < op.time {
            return Err(Violation::LinkTerms("it expires before it is created"));
        }
        if let Some(lock) = &terms.password {
            lock.params
                .check_within(&crate::crypto::password::Argon2Budget::LINK_PASSWORD)
                .map_err(|_| Violation::LinkTerms("password-hashing parameters out of bounds"))?;
        }
        VerifyingKey::from_bytes(&terms.verifying_key)
            .map_err(|_| Violation::LinkTerms("the link's public key is unusable"))?;
        if crate::crypto::x25519::is_low_order(&terms.kem_key) {
            // Every later rotation must wrap to it: a low-order key would block them.
            return Err(Violation::LinkTerms("the link's KEM key is of low order"));
        }
        let wants_epoch_key = match terms.kind {
            LinkKind::Invite {
                role: granted,
                approval,
                ..
            } => {
                check_grant(op.author, role, &format!("link {}", terms.link), granted)?;
                if terms.password.is_some() {
                    return Err(Violation::LinkTerms("invite links take no password"));
                }
                !approval
            }
            LinkKind::Public { scope, .. } => scope == PublicScope::Live,
        };
        match (&terms.keys, wants_epoch_key, &terms.kind) {
            (LinkKeys::Epoch { epoch, .. }, true, _) => self.check_fresh_epoch(*epoch, op.time),
            (LinkKeys::None, false, LinkKind::Invite { .. }) => Ok(()),
            (LinkKeys::Items { .. }, false, LinkKind::Public { .. }) => Ok(()),
            _ => Err(Violation::LinkTerms(
                "the key material does not match the link's kind",
            )),
        }
    }

    /// Why the link `rec` cannot be used at `time`, if it cannot: it was
    /// revoked, it expired, its use limit is reached, or its creator no longer
    /// may grant what it grants (left, removed, demoted, or a member `keep`
    /// drops). The one place that decides whether a link is live: a join, a
    /// rotation's link wraps and the freshness of the current key all ask it.
    pub fn link_refusal(
        &self,
        rec: &LinkRecord,
        time: u64,
        keep: &dyn Fn(&str) -> bool,
    ) -> Option<Violation> {
        if rec.revoked.is_some() {
            return Some(Violation::LinkRevoked);
        }
        if time > rec.terms.expires_at {
            return Some(Violation::LinkExpired {
                expired_at: rec.terms.expires_at,
                claimed: time,
            });
        }
        if rec.used_up() {
            return Some(Violation::LinkUsedUp);
        }
        if !(keep(&rec.creator) && self.creator_may_grant(rec)) {
            return Some(Violation::LinkLapsed(rec.creator.clone()));
        }
        None
    }

    /// Whether `rec`'s creator is still an accepted member holding the key
    /// whose role may manage links and, for an invite link, is strictly above
    /// the role it grants.
    fn creator_may_grant(&self, rec: &LinkRecord) -> bool {
        match self.standing(&rec.creator) {
            Standing::Member(role) => {
                role.may(Action::ManageLinks)
                    && match rec.terms.kind {
                        LinkKind::Invite { role: granted, .. } => granted < role,
                        LinkKind::Public { .. } => true,
                    }
            }
            Standing::Outsider | Standing::Pending(_) | Standing::AwaitingApproval(_) => false,
        }
    }

    /// Ends for good every open link whose creator `op` (a change of role, a
    /// removal, a leave, a transfer) left unable to grant it: it counts as
    /// revoked by `op`'s author, so it never lives again, whatever later
    /// happens to its creator. A lapsed link that holds the current key keeps
    /// it until the next rotation, so the epoch is stale until then.
    pub(super) fn end_lapsed_links(&mut self, op: &Operation) {
        let lapsed: Vec<LinkId> = self
            .open_links
            .iter()
            .filter(|id| {
                self.links
                    .get(id)
                    .is_some_and(|rec| !self.creator_may_grant(rec))
            })
            .copied()
            .collect();
        for id in lapsed {
            if let Some(rec) = self.links.get_mut(&id) {
                rec.revoked = Some((op.author.clone(), op.time));
            }
            self.open_links.remove(&id);
        }
    }

    /// Whether the link `link` can be used at `time` (see [`LogState::link_refusal`]).
    pub fn link_is_live(&self, link: &LinkId, time: u64) -> bool {
        self.links
            .get(link)
            .is_some_and(|rec| self.link_refusal(rec, time, &|_| true).is_none())
    }

    /// The author joins through an invite link, proving they hold its secret.
    /// Returns the key the joiner gets: the current epoch's, wrapped to them,
    /// or none until an admin approves.
    pub(super) fn check_join<'w>(
        &self,
        op: &Draft<'_>,
        link: LinkId,
        role: Role,
        card: &Identity,
        proof: &Signature,
        wrap: Option<&'w WrappedSecret>,
    ) -> Result<Option<(u64, &'w WrappedSecret)>, Violation> {
        if card.handle() != op.author {
            return Err(Violation::NotAMember {
                author: op.author.to_owned(),
            });
        }
        if self.members.contains_key(op.author) {
            return Err(Violation::AlreadyMember(op.author.to_owned()));
        }
        let rec = self.links.get(&link).ok_or(Violation::NoSuchLink)?;
        let LinkKind::Invite {
            role: granted,
            approval,
            ..
        } = rec.terms.kind
        else {
            return Err(Violation::LinkTerms("a public link admits no one"));
        };
        if let Some(refusal) = self.link_refusal(rec, op.time, &|_| true) {
            return Err(refusal);
        }
        if role != granted {
            return Err(Violation::WrongLinkRole {
                link: granted,
                claimed: role,
            });
        }
        let key = VerifyingKey::from_bytes(&rec.terms.verifying_key)
            .map_err(|_| Violation::BadJoinProof)?;
        key.verify(
            JOIN_PROOF_DOMAIN,
            &join_proof_message(&self.collection, &link, card, role),
            proof,
        )
        .map_err(|_| Violation::BadJoinProof)?;
        let key = match (approval, wrap) {
            (true, None) => None,
            (false, Some(w)) => {
                if rec.epoch_key.as_ref().map(|(e, _)| *e) != Some(self.epoch()) {
                    return Err(Violation::LinkTerms(
                        "the link holds no key for the current epoch",
                    ));
                }
                Some((self.epoch(), w))
            }
            _ => {
                return Err(Violation::LinkTerms(
                    "a join carries a key exactly when the link needs no approval",
                ));
            }
        };
        if self.members.len() >= MAX_MEMBERS {
            return Err(Violation::Limit("too many members"));
        }
        Ok(key)
    }

    /// Applies a checked join: the author is a member through `link`, with
    /// `key` (what [`LogState::check_join`] returned), and any invitation by
    /// their handle ends.
    pub(super) fn apply_join(
        &mut self,
        op: &Draft<'_>,
        link: LinkId,
        role: Role,
        card: &Identity,
        key: Option<(u64, &WrappedSecret)>,
    ) -> EventKind {
        self.invitations.remove(op.author);
        if let Some(rec) = self.links.get_mut(&link) {
            rec.joins.push((op.author.to_owned(), op.time));
        }
        let awaiting_approval = key.is_none();
        self.insert_member(
            op.author.to_owned(),
            Member {
                card: card.clone(),
                role,
                added_by: op.author.to_owned(),
                added_at: op.time,
                accepted_at: Some(op.time),
                key: key.map(|(epoch, wrap)| (epoch, wrap.clone())),
                joined_via: Some(link),
                approved_by: None,
            },
        );
        EventKind::Joined {
            link,
            role,
            awaiting_approval,
        }
    }
}
