//! Sharing: adding members at a role, accepting and declining, roles, removal
//! with key rotation, leaving, unsharing, transferring ownership. The list of
//! an account's collections is in `listing.rs`.

use rayon::prelude::*;

use crate::collection::{Client, Collection, keys};
use crate::error::Result;
use crate::identity::Identity;
use crate::log::{Body, Grant, Member, Role};

impl Collection {
    /// Shares the collection with the holder of `card` at `role`. The card is
    /// checked against the trust store first: a card that differs from the one
    /// pinned for its handle is refused with [`crate::Error::KeyChanged`].
    pub fn share(&mut self, client: &mut Client, card: &Identity, role: Role) -> Result<()> {
        self.share_many(client, &[(card.clone(), role)])
    }

    /// Shares with several people in one operation (one wrap each, on all cores).
    pub fn share_many(&mut self, client: &mut Client, grants: &[(Identity, Role)]) -> Result<()> {
        for (card, _) in grants {
            client.observe(card)?;
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
        Ok(())
    }

    /// Accepts the share (this account must have been added and not yet accepted).
    pub fn accept(&mut self, client: &mut Client) -> Result<()> {
        self.commit(client, false, &mut |_, _| Ok(Body::Accept))?;
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
}
