//! Sharing: adding members at a role, accepting and declining, roles, removal
//! with key rotation, leaving, unsharing, transferring ownership. The list of
//! an account's collections is in `listing.rs`.

use rayon::prelude::*;

use crate::collection::{Client, Collection, keys};
use crate::error::Result;
use crate::identity::Identity;
use std::collections::HashMap;

use crate::log::{Body, EventKind, Grant, Member, Role};
use crate::trust::CardTrust;

impl Collection {
    /// Shares the collection with the holder of `card` at `role`. The card is
    /// checked against the trust store first: a card that differs from the one
    /// pinned for its handle is refused with [`crate::Error::KeyChanged`] and
    /// nothing is sent. A new handle's card is pinned once the share is in the
    /// log; a refused share pins nothing.
    pub fn share(&mut self, client: &mut Client, card: &Identity, role: Role) -> Result<()> {
        self.share_many(client, &[(card.clone(), role)])
    }

    /// Shares with several people in one operation (one wrap each, on all cores).
    pub fn share_many(&mut self, client: &mut Client, grants: &[(Identity, Role)]) -> Result<()> {
        for (card, _) in grants {
            client.trust.check_or_new(card)?;
        }
        self.commit(client, true, &mut |this, _| {
            let id = this.id();
            let epoch = this.state.epoch();
            let key = this.current_key()?;
            let grants = grants
                .par_iter()
                .map(|(card, role)| {
                    Ok(Grant {
                        card: card.clone(),
                        role: *role,
                        wrap: keys::wrap_to(card, &id, epoch, key)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Body::Share { epoch, grants })
        })?;
        // Sharing is the user's act of trust in these cards: they are pinned
        // once the share is in the log, never for a share that was refused.
        client.pin_all(grants.iter().map(|(card, _)| card))?;
        Ok(())
    }

    /// Accepts the share (this account must have been added and not yet
    /// accepted). Accepting is the user's act of trust in whoever shared: their
    /// card, as the log holds it, is pinned if their handle was never seen;
    /// if another card is pinned for them, the accept is refused with
    /// [`crate::Error::KeyChanged`] and nothing is sent.
    pub fn accept(&mut self, client: &mut Client) -> Result<()> {
        let me = client.account.handle();
        let sharer = self
            .member(me)
            .and_then(|m| self.member(&m.added_by))
            .filter(|s| s.card.handle() != me)
            .map(|s| s.card.clone());
        if let Some(card) = &sharer {
            client.trust.check_or_new(card)?;
        }
        self.commit(client, false, &mut |_, _| Ok(Body::Accept))?;
        if let Some(card) = &sharer {
            let now = client.now();
            client.trust.accept_share_from(card, now)?;
        }
        Ok(())
    }

    /// Declines the share: the same as leaving.
    pub fn decline(&mut self, client: &mut Client) -> Result<()> {
        self.leave(client)
    }

    /// Leaves the collection. The owner must transfer ownership first. The
    /// remaining members rotate the key before anyone writes again.
    pub fn leave(&mut self, client: &mut Client) -> Result<()> {
        self.commit(client, false, &mut |_, _| Ok(Body::Leave))?;
        Ok(())
    }

    /// Changes a member's role (to a role below the author's own).
    pub fn change_role(&mut self, client: &mut Client, member: &str, role: Role) -> Result<()> {
        self.commit(client, false, &mut |_, _| {
            Ok(Body::ChangeRole {
                member: member.to_owned(),
                role,
            })
        })?;
        Ok(())
    }

    /// Removes a member and starts a new epoch: one wrap per remaining member,
    /// no item is re-encrypted. The removed member cannot open anything added
    /// after this.
    pub fn remove(&mut self, client: &mut Client, member: &str) -> Result<()> {
        self.remove_many(client, &[member])
    }

    /// Removes several members with one rotation.
    pub fn remove_many(&mut self, client: &mut Client, members: &[&str]) -> Result<()> {
        self.commit(client, false, &mut |this, client| {
            Ok(Body::Remove {
                members: members.iter().map(|m| (*m).to_owned()).collect(),
                rotation: this.rotation(client, |h| !members.contains(&h), &[])?,
            })
        })?;
        Ok(())
    }

    /// Removes every member but the owner and starts a new epoch only the owner
    /// holds (owner only).
    pub fn unshare(&mut self, client: &mut Client) -> Result<()> {
        self.commit(client, false, &mut |this, client| {
            let owner = this.owner().to_owned();
            let every_link: Vec<_> = this.state.links().keys().copied().collect();
            Ok(Body::Unshare {
                rotation: this.rotation(client, |h| h == owner, &every_link)?,
            })
        })?;
        Ok(())
    }

    /// Makes `member` the owner; this account (the owner) becomes an admin.
    pub fn transfer_ownership(&mut self, client: &mut Client, member: &str) -> Result<()> {
        self.commit(client, false, &mut |_, _| {
            Ok(Body::Transfer {
                to: member.to_owned(),
            })
        })?;
        Ok(())
    }

    /// Every member, the owner included, with role, who added them and when, and
    /// when they accepted.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.state.members().values()
    }

    /// One member.
    pub fn member(&self, handle: &str) -> Option<&Member> {
        self.state.member(handle)
    }

    /// How the client's trust store judges the card this log holds for the
    /// member `handle` (`None` if not a member). The log is the same for every
    /// client; trust is this user's: an unpinned card is only as good as who
    /// introduced it (`Member::added_by`), and a changed one gets nothing
    /// wrapped to it by this client until the user accepts it.
    pub fn card_trust(&self, client: &Client, handle: &str) -> Option<CardTrust> {
        self.member(handle).map(|m| client.assess(&m.card))
    }

    /// Judges whose key signed operations of this log, for the user: see
    /// [`Signers::judge`].
    pub fn signers<'a>(&'a self, client: &'a Client) -> Signers<'a> {
        let mut starts = HashMap::new();
        for e in self.state.history().iter().rev() {
            let mut added = |h: &'a str, own: bool| {
                starts.entry(h).or_insert((e.seq, own));
            };
            match &e.what {
                EventKind::Created | EventKind::Joined { .. } => added(&e.author, true),
                EventKind::Shared(list) => list.iter().for_each(|(h, _)| added(h, false)),
                EventKind::InvitationCompleted(h) => added(h, false),
                _ => {}
            }
        }
        Signers {
            collection: self,
            client,
            starts,
        }
    }

    /// The members whose card in this log differs from the one the user
    /// pinned for their handle, each with the pinned card: what an app shows
    /// as "key changed, unconfirmed". A rotation by this client refuses to
    /// wrap to them ([`crate::Error::KeyChanged`]) until the user accepts the change
    /// or removes them.
    pub fn unconfirmed_members(&self, client: &Client) -> Vec<(&Member, Identity)> {
        self.members()
            .filter_map(|m| match client.assess(&m.card) {
                CardTrust::Changed { pinned } => Some((m, *pinned)),
                _ => None,
            })
            .collect()
    }
}

/// How the user's trust store judges the key that signed an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerTrust {
    /// Signed with the author's current card in this log, judged so: a
    /// [`CardTrust::Changed`] author's operations are not to be believed as
    /// theirs until the user accepts the change.
    Current(CardTrust),
    /// Signed before the author's current membership began (with the card
    /// they had then, which may differ from today's: a reinstall, a key
    /// change, or an impostor since removed), or by someone who is no longer
    /// a member. It is not to be shown as signed by the member's current key.
    Earlier,
}

/// Judges the signers of a collection's operations (see [`Collection::signers`]).
pub struct Signers<'a> {
    collection: &'a Collection,
    client: &'a Client,
    /// Where each member's current membership began, and whether the
    /// operation that began it was their own (a creation or a join).
    starts: HashMap<&'a str, (u64, bool)>,
}

impl Signers<'_> {
    /// Whose key signed the operation at `seq` by `author`: the author's
    /// current card if it was signed after their current membership began
    /// (or is the operation that began it, for a creator or a joiner, who
    /// sign their own), an earlier card otherwise. Follows log position,
    /// never claimed time.
    pub fn judge(&self, author: &str, seq: u64) -> SignerTrust {
        match (self.collection.member(author), self.starts.get(author)) {
            (Some(member), Some(&(start, own))) if seq > start || (seq == start && own) => {
                SignerTrust::Current(self.client.assess(&member.card))
            }
            _ => SignerTrust::Earlier,
        }
    }
}
