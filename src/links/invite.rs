//! Invite links (join at a role, optionally with approval, limited in time and
//! uses), approvals, revocation, and invitations by handle.

use crate::collection::keys::{self, LINK_EPOCH_KEY_PURPOSE, link_recipient};
use crate::collection::{Client, Collection};
use crate::crypto::secret::SecretKey;
use crate::crypto::wrap::WrapContext;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::links::{LinkPurpose, LinkUrl};
use crate::log::link_terms::{LinkKeys, LinkKind, LinkTerms};
use crate::log::op::{JOIN_PROOF_DOMAIN, join_proof_message};
use crate::log::state::LinkRecord;
use crate::log::{Body, LinkId, LogState, Role};

/// The terms of a new invite link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteTerms {
    /// The role a join gets (at most the creator's own, never Owner).
    pub role: Role,
    /// How long the link stays valid, in seconds (one hour by default).
    pub valid_for: u64,
    /// How many people may join through it; 0 for no limit (the default).
    pub max_uses: u32,
    /// Whether an admin must approve each join before the joiner gets a key.
    pub approval: bool,
}

impl Default for InviteTerms {
    fn default() -> Self {
        Self {
            role: Role::Viewer,
            valid_for: 3600,
            max_uses: 0,
            approval: false,
        }
    }
}

impl Collection {
    /// The collection creator's signing key (what links carry).
    pub(crate) fn creator_key(&self) -> Result<[u8; 32]> {
        if self.state().is_empty() {
            return Err(Error::NotFound("the collection's log".into()));
        }
        Ok(self.state().creator_key())
    }

    /// The current epoch key wrapped to a link's KEM key.
    pub(crate) fn link_epoch_key(&self, link: &LinkId, kem_key: &[u8; 32]) -> Result<LinkKeys> {
        let epoch = self.state().epoch();
        Ok(LinkKeys::Epoch {
            epoch,
            wrap: keys::wrap_to_link(link, kem_key, &self.id(), epoch, self.current_key()?)?,
        })
    }

    /// Creates an invite link (Admin and up). The URL's fragment holds the secret:
    /// give the URL only to the people it is for.
    pub fn create_invite_link(
        &mut self,
        client: &mut Client,
        base_url: &str,
        terms: InviteTerms,
    ) -> Result<LinkUrl> {
        let link = LinkId::random()?;
        let secret = zeroize::Zeroizing::new(crate::crypto::random::array::<32>()?);
        let url = LinkUrl::new(
            LinkPurpose::Invite,
            self.id(),
            link,
            *secret,
            self.creator_key()?,
            base_url,
        );
        let derived = url.secrets(None)?;
        let kem_key = derived.kem.public_key().to_bytes();
        let verifying_key = derived.signing.verifying_key().to_bytes();
        self.commit(client, true, &mut |this, client| {
            let time = this.next_time(client);
            let keys = if terms.approval {
                LinkKeys::None
            } else {
                this.link_epoch_key(&link, &kem_key)?
            };
            Ok(Body::CreateLink(Box::new(LinkTerms {
                link,
                kind: LinkKind::Invite {
                    role: terms.role,
                    max_uses: terms.max_uses,
                    approval: terms.approval,
                },
                expires_at: time.saturating_add(terms.valid_for),
                password: None,
                verifying_key,
                kem_key,
                keys,
            })))
        })?;
        Ok(url)
    }

    /// Joins a collection through an invite link: verifies its log (pinned to the
    /// creator's key in the link), proves the link secret, and appends the join.
    /// Without approval the joiner reads at once; with approval, once an admin
    /// approves.
    pub fn join(client: &mut Client, url: &LinkUrl) -> Result<Self> {
        if url.purpose() != LinkPurpose::Invite {
            return Err(Error::BadLink(
                "a public link admits no one; open it with PublicView",
            ));
        }
        client.remote.use_link(url.request_signer()?);
        let mut collection =
            Self::open_with_creator_key(client, url.collection(), url.creator_key())?;
        let derived = url.secrets(None)?;
        let link = url.link();
        collection.commit(client, false, &mut |this, client| {
            let rec = this
                .state()
                .links()
                .get(&link)
                .ok_or_else(|| Error::NotFound("the link in the collection's log".into()))?;
            check_usable(this.state(), rec, this.next_time(client))?;
            let LinkKind::Invite { role, .. } = rec.terms.kind else {
                return Err(Error::BadLink("not an invite link"));
            };
            let me = client.account().identity().clone();
            let wrap = match &rec.epoch_key {
                None => None,
                Some((epoch, wrap)) => {
                    let key = wrap.unwrap_key(
                        &derived.kem,
                        &WrapContext {
                            purpose: LINK_EPOCH_KEY_PURPOSE,
                            collection: &this.id().0,
                            epoch: *epoch,
                            recipient: &link_recipient(&link),
                        },
                    )?;
                    check_commitment(this, *epoch, &key)?;
                    Some(keys::wrap_to(&me, &this.id(), *epoch, &key)?)
                }
            };
            let proof = derived.signing.sign(
                JOIN_PROOF_DOMAIN,
                &join_proof_message(&this.id(), &link, &me, role),
            );
            Ok(Body::Join {
                link,
                role,
                card: me,
                proof,
                wrap,
            })
        })?;
        Ok(collection)
    }

    /// Approves a join waiting for approval, wrapping the current key to the joiner.
    pub fn approve(&mut self, client: &mut Client, member: &str) -> Result<()> {
        let card = self
            .member(member)
            .map(|m| m.card.clone())
            .ok_or_else(|| Error::NotFound(format!("member {member:?}")))?;
        client.trust.check_or_new(&card)?;
        self.commit(client, true, &mut |this, _| {
            let epoch = this.state().epoch();
            Ok(Body::Approve {
                member: member.to_owned(),
                epoch,
                wrap: keys::wrap_to(&card, &this.id(), epoch, this.current_key()?)?,
            })
        })?;
        // Approving is the user's act of trust in the joiner's card: pinned
        // once the approval is in the log.
        client.pin_all(std::iter::once(&card))?;
        Ok(())
    }

    /// Every link, with terms, creator, uses and joins (revoked ones too).
    pub fn links(&self) -> impl Iterator<Item = &LinkRecord> {
        self.state().links().values()
    }

    /// Revokes one link; if it carries a key, the key rotates so its holders
    /// read nothing added afterwards.
    pub fn revoke_link(&mut self, client: &mut Client, link: LinkId) -> Result<()> {
        self.revoke_links(client, &[link])
    }

    /// Revokes every link that is not revoked yet (one rotation at most).
    pub fn revoke_all_links(&mut self, client: &mut Client) -> Result<()> {
        let links: Vec<LinkId> = self
            .links()
            .filter(|l| l.revoked.is_none())
            .map(|l| l.terms.link)
            .collect();
        if links.is_empty() {
            return Ok(());
        }
        self.revoke_links(client, &links)
    }

    fn revoke_links(&mut self, client: &mut Client, links: &[LinkId]) -> Result<()> {
        self.commit(client, false, &mut |this, client| {
            let keyed = links.iter().any(|l| {
                this.state()
                    .links()
                    .get(l)
                    .is_some_and(|r| r.terms.carries_epoch_key())
            });
            Ok(Body::RevokeLinks {
                links: links.to_vec(),
                rotation: if keyed {
                    Some(this.rotation(client, |_| true, links)?)
                } else {
                    None
                },
            })
        })?;
        Ok(())
    }

    /// Removes everyone who joined through a link (one rotation).
    pub fn revoke_all_joined(&mut self, client: &mut Client) -> Result<()> {
        let joined: Vec<String> = self
            .members()
            .filter(|m| m.joined_via.is_some())
            .map(|m| m.card.handle().to_owned())
            .collect();
        if joined.is_empty() {
            return Ok(());
        }
        let refs: Vec<&str> = joined.iter().map(String::as_str).collect();
        self.remove_many(client, &refs)
    }

    /// Invites a handle that has no card yet, at `role`. Nothing secret is
    /// wrapped until [`Collection::complete_invitation`].
    pub fn invite(&mut self, client: &mut Client, handle: &str, role: Role) -> Result<()> {
        crate::identity::check_handle(handle)?;
        self.commit(client, false, &mut |_, _| {
            Ok(Body::Invite {
                handle: handle.to_owned(),
                role,
            })
        })?;
        Ok(())
    }

    /// Completes a pending invitation now that the invitee's card is known: the
    /// card is checked against the trust store, then the key is wrapped to it.
    pub fn complete_invitation(&mut self, client: &mut Client, card: &Identity) -> Result<()> {
        client.trust.check_or_new(card)?;
        self.commit(client, true, &mut |this, _| {
            let epoch = this.state().epoch();
            Ok(Body::CompleteInvite {
                epoch,
                card: card.clone(),
                wrap: keys::wrap_to(card, &this.id(), epoch, this.current_key()?)?,
            })
        })?;
        client.pin_all(std::iter::once(card))?;
        Ok(())
    }

    /// Cancels a pending invitation.
    pub fn cancel_invitation(&mut self, client: &mut Client, handle: &str) -> Result<()> {
        self.commit(client, false, &mut |_, _| {
            Ok(Body::CancelInvite {
                handle: handle.to_owned(),
            })
        })?;
        Ok(())
    }
}

/// Refuses a link that cannot be used at `now` with the error a user can act
/// on: revoked (or lapsed: its creator no longer may grant it), expired, or
/// used up. The log's own rule ([`LogState::link_refusal`]) decides, and
/// [`Error::from_own_request`] names the error.
pub(crate) fn check_usable(state: &LogState, rec: &LinkRecord, now: u64) -> Result<()> {
    match state.link_refusal(rec, now, &|_| true) {
        None => Ok(()),
        Some(refusal) => Err(Error::from_own_request(refusal)),
    }
}

/// Checks an epoch key from a link against the log's commitment.
pub(crate) fn check_commitment(c: &Collection, epoch: u64, key: &SecretKey) -> Result<()> {
    let expected = c
        .state()
        .epochs()
        .get(epoch as usize)
        .map(|e| e.commitment)
        .ok_or(Error::EpochKeyMismatch { epoch })?;
    let found = keys::commitment(&c.id(), epoch, key)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&found[..], &expected[..])) {
        return Err(Error::EpochKeyMismatch { epoch });
    }
    Ok(())
}
