//! A collection as a member sees it, with every action of the roles table.

use std::io::{Read, Write};
use std::sync::Arc;

use sealshare::{InviteTerms, ItemId, PublicLinkTerms};

use crate::error::Result;
use crate::records::{
    CardTrust, HistoryEntry, IdentityCard, ItemListing, LinkInfo, MemberInfo, PublicScope, Role,
};
use crate::session::Session;

/// A collection (notebook, folder, vault), reached from the session that
/// opened it and acting only as that session's user. Every method that
/// changes it signs an operation and stores it on the session's server. It
/// holds no key itself: after the session's `wipe()`, every method fails with
/// `Wiped`.
#[derive(uniffi::Object)]
pub struct Collection {
    session: Arc<Session>,
    slot: u64,
    id: sealshare::CollectionId,
}

impl Drop for Collection {
    fn drop(&mut self) {
        self.session.release(self.slot);
    }
}

/// Where an upload reads its plaintext from, chunk by chunk.
#[uniffi::export(with_foreign)]
pub trait ContentSource: Send + Sync {
    /// Up to `max_len` more bytes; an empty array at the end.
    fn read(&self, max_len: u32) -> Result<Vec<u8>>;
}

/// Where a download writes its plaintext to, chunk by chunk.
#[uniffi::export(with_foreign)]
pub trait ContentSink: Send + Sync {
    /// The next chunk of plaintext (already authenticated), at most 1 MiB.
    fn write(&self, chunk: Vec<u8>) -> Result<()>;
}

struct SourceReader(Arc<dyn ContentSource>);

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let chunk = self.0.read(want).map_err(std::io::Error::other)?;
        // More than asked would be lost: refuse it rather than drop bytes.
        let dst = buf.get_mut(..chunk.len()).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the content source returned more bytes than asked for",
            )
        })?;
        dst.copy_from_slice(&chunk);
        Ok(chunk.len())
    }
}

/// Hands written bytes to a foreign sink in pieces of at most 1 MiB.
pub(crate) struct SinkWriter(pub(crate) Arc<dyn ContentSink>);

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let piece = buf
            .get(..buf.len().min(crate::remote::PIECE))
            .unwrap_or(buf);
        self.0
            .write(piece.to_vec())
            .map_err(std::io::Error::other)?;
        Ok(piece.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn item_id(text: &str) -> Result<ItemId> {
    Ok(ItemId::from_text(text)?)
}

fn parent(text: Option<String>) -> Result<Option<ItemId>> {
    text.as_deref().map(item_id).transpose()
}

impl Collection {
    pub(crate) fn new(session: Arc<Session>, slot: u64, id: sealshare::CollectionId) -> Arc<Self> {
        Arc::new(Self { session, slot, id })
    }

    /// Runs `f` with this collection and its session's client.
    fn act<T>(
        &self,
        f: impl FnOnce(&mut sealshare::Collection, &mut sealshare::Client) -> sealshare::Result<T>,
    ) -> Result<T> {
        self.session.with_collection(self.slot, f)
    }

    /// Fails with `Wiped` once the session was wiped (checked before any
    /// argument is parsed, so a locked collection refuses everything alike).
    fn alive(&self) -> Result<()> {
        self.view(|_| ())
    }

    /// Runs `f` on this collection, read only.
    fn view<T>(&self, f: impl FnOnce(&sealshare::Collection) -> T) -> Result<T> {
        self.act(|c, _| Ok(f(c)))
    }
}

#[uniffi::export]
impl Collection {
    /// The collection's id (base64url); known even after a wipe.
    pub fn id(&self) -> String {
        self.id.to_text()
    }

    /// The collection's name.
    pub fn name(&self) -> Result<String> {
        self.act(|c, _| c.name())
    }

    /// The owner's handle.
    pub fn owner(&self) -> Result<String> {
        self.view(|c| c.owner().to_owned())
    }

    /// Fetches and verifies what is new; returns how many operations were added.
    pub fn sync(&self) -> Result<u64> {
        self.act(|c, client| c.sync(client))
    }

    /// The verified state and this account's keys, sealed for storage on this device.
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        self.act(|c, client| c.to_checkpoint(client.account()))
    }

    /// Renames the collection (editor and up).
    pub fn rename(&self, name: String, description: String) -> Result<()> {
        self.act(|c, client| c.rename(client, &name, &description))
    }

    /// Shares with the holder of `card` at `role` (the card is checked against
    /// the trust store first).
    pub fn share(&self, card: IdentityCard, role: Role) -> Result<()> {
        self.alive()?;
        let card = card.to_core()?;
        self.act(|c, client| c.share(client, &card, role.into()))
    }

    /// Accepts the share.
    pub fn accept(&self) -> Result<()> {
        self.act(|c, client| c.accept(client))
    }

    /// Declines the share (the same as leaving).
    pub fn decline(&self) -> Result<()> {
        self.act(|c, client| c.decline(client))
    }

    /// Leaves the collection.
    pub fn leave(&self) -> Result<()> {
        self.act(|c, client| c.leave(client))
    }

    /// Changes a member's role.
    pub fn change_role(&self, member: String, role: Role) -> Result<()> {
        self.act(|c, client| c.change_role(client, &member, role.into()))
    }

    /// Removes a member (the key rotates; they read nothing added afterwards).
    pub fn remove(&self, member: String) -> Result<()> {
        self.act(|c, client| c.remove(client, &member))
    }

    /// Removes every member but the owner.
    pub fn unshare(&self) -> Result<()> {
        self.act(|c, client| c.unshare(client))
    }

    /// Makes a member the owner; the old owner becomes an admin.
    pub fn transfer_ownership(&self, member: String) -> Result<()> {
        self.act(|c, client| c.transfer_ownership(client, &member))
    }

    /// Every member with role, who added them and when.
    pub fn members(&self) -> Result<Vec<MemberInfo>> {
        self.act(|c, client| {
            Ok(c.members()
                .map(|m| MemberInfo {
                    handle: m.card.handle().to_owned(),
                    role: m.role.into(),
                    added_by: m.added_by.clone(),
                    added_at: m.added_at,
                    accepted_at: m.accepted_at,
                    awaits_approval: m.awaits_approval(),
                    fingerprint: m.card.fingerprint().digits(),
                    card: IdentityCard::from_core(&m.card),
                    trust: CardTrust::from_core(client.assess(&m.card)),
                })
                .collect())
        })
    }

    /// Adds a folder; returns its id.
    pub fn add_folder(&self, parent_id: Option<String>, name: String) -> Result<String> {
        self.alive()?;
        let parent = parent(parent_id)?;
        self.act(|c, client| c.add_folder(client, parent, &name))
            .map(|id| id.to_text())
    }

    /// Adds a file with its content; returns its id.
    pub fn add_file(
        &self,
        parent_id: Option<String>,
        name: String,
        media_type: String,
        content: Vec<u8>,
    ) -> Result<String> {
        self.alive()?;
        let parent = parent(parent_id)?;
        self.act(|c, client| c.add_file(client, parent, &name, &media_type, &content))
            .map(|id| id.to_text())
    }

    /// Adds a file whose content is read from `source` chunk by chunk.
    pub fn add_file_streaming(
        &self,
        parent_id: Option<String>,
        name: String,
        media_type: String,
        source: Arc<dyn ContentSource>,
    ) -> Result<String> {
        self.alive()?;
        let parent = parent(parent_id)?;
        let mut reader = SourceReader(source);
        self.act(|c, client| {
            c.add_file_from_reader(client, parent, &name, &media_type, &mut reader)
        })
        .map(|id| id.to_text())
    }

    /// Saves a new version of a file; returns its version number.
    pub fn update_file(&self, item: String, content: Vec<u8>) -> Result<u32> {
        self.alive()?;
        let item = item_id(&item)?;
        self.act(|c, client| c.update_file(client, item, None, &content))
    }

    /// Moves an item to the trash.
    pub fn trash(&self, item: String) -> Result<()> {
        self.alive()?;
        let item = item_id(&item)?;
        self.act(|c, client| c.trash(client, item))
    }

    /// Restores an item from the trash.
    pub fn restore(&self, item: String) -> Result<()> {
        self.alive()?;
        let item = item_id(&item)?;
        self.act(|c, client| c.restore(client, item))
    }

    /// Deletes a trashed item for good (admin and up).
    pub fn purge(&self, item: String) -> Result<()> {
        self.alive()?;
        let item = item_id(&item)?;
        self.act(|c, client| c.purge(client, item))
    }

    /// Every item and folder that decrypts, and a report of each that does
    /// not (never a failure of the whole listing).
    pub fn items(&self) -> Result<ItemListing> {
        self.act(|c, client| Ok(ItemListing::judged(c.items(), &c.signers(client))))
    }

    /// A file's newest content, checked against its signed header.
    pub fn read(&self, item: String) -> Result<Vec<u8>> {
        self.alive()?;
        let item = item_id(&item)?;
        self.act(|c, client| c.read(client, item))
    }

    /// Writes a file's newest content to `sink` chunk by chunk; returns its size.
    /// Every piece is authenticated before the sink gets it, but the whole blob
    /// is checked last: on an error, discard what the sink received.
    pub fn read_streaming(&self, item: String, sink: Arc<dyn ContentSink>) -> Result<u64> {
        self.alive()?;
        let item = item_id(&item)?;
        let mut writer = SinkWriter(sink);
        self.act(|c, client| c.read_into(client, item, &mut writer))
    }

    /// The verified history as readable lines.
    pub fn history(&self) -> Result<Vec<HistoryEntry>> {
        self.view(|c| {
            c.history()
                .into_iter()
                .map(|h| HistoryEntry {
                    seq: h.seq,
                    time: h.time,
                    author: h.author,
                    text: h.text,
                })
                .collect()
        })
    }

    /// Creates an invite link; returns its URL (the secret is in the fragment:
    /// share it only with the people it is for).
    pub fn create_invite_link(
        &self,
        base_url: String,
        role: Role,
        valid_for_seconds: u64,
        max_uses: u32,
        approval: bool,
    ) -> Result<String> {
        self.alive()?;
        let terms = InviteTerms {
            role: role.into(),
            valid_for: valid_for_seconds,
            max_uses,
            approval,
        };
        self.act(|c, client| c.create_invite_link(client, &base_url, terms))
            .map(|u| u.to_url())
    }

    /// Creates a public link; returns its URL.
    pub fn create_public_link(
        &self,
        base_url: String,
        scope: PublicScope,
        valid_for_seconds: u64,
        password: Option<String>,
    ) -> Result<String> {
        self.alive()?;
        let terms = PublicLinkTerms {
            scope: scope.into(),
            valid_for: valid_for_seconds,
            password,
            ..Default::default()
        };
        self.act(|c, client| c.create_public_link(client, &base_url, &terms))
            .map(|u| u.to_url())
    }

    /// Creates a public link to chosen items; returns its URL.
    pub fn create_item_link(
        &self,
        base_url: String,
        items: Vec<String>,
        valid_for_seconds: u64,
    ) -> Result<String> {
        self.alive()?;
        let items = items
            .iter()
            .map(|t| item_id(t))
            .collect::<Result<Vec<_>>>()?;
        let terms = PublicLinkTerms {
            scope: sealshare::PublicScope::Items,
            items,
            valid_for: valid_for_seconds,
            ..Default::default()
        };
        self.act(|c, client| c.create_public_link(client, &base_url, &terms))
            .map(|u| u.to_url())
    }

    /// Approves a join waiting for approval.
    pub fn approve(&self, member: String) -> Result<()> {
        self.act(|c, client| c.approve(client, &member))
    }

    /// Every link with its terms and joins (never its secret).
    pub fn links(&self) -> Result<Vec<LinkInfo>> {
        self.view(|c| {
            c.links()
                .map(|l| LinkInfo {
                    id: l.terms.link.to_text(),
                    kind: l.terms.kind.purpose().into(),
                    creator: l.creator.clone(),
                    expires_at: l.terms.expires_at,
                    joined: l.joins.iter().map(|(h, _)| h.clone()).collect(),
                    revoked: l.revoked.is_some(),
                })
                .collect()
        })
    }

    /// Members whose card in this log differs from the one the user pinned:
    /// shown as unconfirmed; nothing is wrapped to them until the user accepts
    /// the change or removes them.
    pub fn unconfirmed_members(&self) -> Result<Vec<MemberInfo>> {
        Ok(self
            .members()?
            .into_iter()
            .filter(|m| matches!(m.trust, CardTrust::Changed { .. }))
            .collect())
    }

    /// Revokes one link (by id).
    pub fn revoke_link(&self, link_id: String) -> Result<()> {
        self.alive()?;
        let link = sealshare::LinkId::from_text(&link_id)?;
        self.act(|c, client| c.revoke_link(client, link))
    }

    /// Revokes every link.
    pub fn revoke_all_links(&self) -> Result<()> {
        self.act(|c, client| c.revoke_all_links(client))
    }

    /// Removes everyone who joined through a link.
    pub fn revoke_all_joined(&self) -> Result<()> {
        self.act(|c, client| c.revoke_all_joined(client))
    }

    /// Invites a handle that has no card yet.
    pub fn invite(&self, handle: String, role: Role) -> Result<()> {
        self.act(|c, client| c.invite(client, &handle, role.into()))
    }

    /// Completes an invitation with the invitee's card.
    pub fn complete_invitation(&self, card: IdentityCard) -> Result<()> {
        self.alive()?;
        let card = card.to_core()?;
        self.act(|c, client| c.complete_invitation(client, &card))
    }

    /// Cancels a pending invitation.
    pub fn cancel_invitation(&self, handle: String) -> Result<()> {
        self.act(|c, client| c.cancel_invitation(client, &handle))
    }
}
