//! Public links: read-only access for people without an account, to the live
//! collection, a snapshot of it, or chosen items; optionally behind a password
//! that enters the key derivation.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::collection::items::{
    item_view, open_content, open_content_into, open_item_key, open_metadata,
};
use crate::collection::keys::{self, EpochKeys, LINK_EPOCH_KEY_PURPOSE, link_recipient};
use crate::collection::{Client, Collection, ItemListing, Remote, check_creator_key};
use crate::crypto::aead::SealedBox;
use crate::crypto::password::{Argon2Budget, Argon2Params, Profile};
use crate::crypto::secret::SecretKey;
use crate::crypto::wrap::WrapContext;
use crate::error::{Error, Result};
use crate::links::invite::check_usable;
use crate::links::{LinkPurpose, LinkSecrets, LinkUrl, new_password_lock, password_key};
use crate::log::link_terms::{LinkKeys, LinkKind, LinkTerms, PublicScope};
use crate::log::{Body, ItemHeader, ItemId, LinkId, LogState};
use crate::request::{DeviceKey, LinkDevice};
use crate::wire::{Reader, Writer};

/// The most items a snapshot or item link may carry.
pub const MAX_LINK_ITEMS: usize = 100_000;

/// The terms of a new public link. Its `Debug` output never shows the password.
#[derive(Clone)]
pub struct PublicLinkTerms {
    /// What it shows: the live collection, the collection as it stands now
    /// (items not in the trash), or the chosen `items` as they stand now.
    pub scope: PublicScope,
    /// The items a [`PublicScope::Items`] link shows; empty for the others.
    pub items: Vec<ItemId>,
    /// How long it stays valid, in seconds (seven days by default).
    pub valid_for: u64,
    /// A password readers must also know, if any.
    pub password: Option<String>,
    /// The Argon2id parameters for the password: at most
    /// [`Argon2Budget::LINK_PASSWORD`] (the Moderate profile), since every
    /// reader pays them.
    pub password_params: Argon2Params,
    /// How many devices may open it (for the server to enforce); 0 for no limit.
    pub device_limit: u32,
    /// Whether downloads are allowed (for the server to enforce).
    pub download: bool,
}

impl std::fmt::Debug for PublicLinkTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicLinkTerms")
            .field("scope", &self.scope)
            .field("items", &self.items)
            .field("valid_for", &self.valid_for)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_params", &self.password_params)
            .field("device_limit", &self.device_limit)
            .field("download", &self.download)
            .finish()
    }
}

impl Default for PublicLinkTerms {
    fn default() -> Self {
        Self {
            scope: PublicScope::Live,
            items: Vec::new(),
            valid_for: 7 * 24 * 3600,
            password: None,
            password_params: Profile::Interactive.params(),
            device_limit: 0,
            download: true,
        }
    }
}

impl Collection {
    /// Creates a public link (Admin and up). Give the URL only to its readers.
    ///
    /// With a password, refuses `terms.password_params` above
    /// [`Argon2Budget::LINK_PASSWORD`] (or outside the absolute bounds) with
    /// [`Error::UnsafeParameters`] before anything is hashed or signed: the log
    /// would refuse such a link.
    pub fn create_public_link(
        &mut self,
        client: &mut Client,
        base_url: &str,
        terms: &PublicLinkTerms,
    ) -> Result<LinkUrl> {
        match (terms.scope, terms.items.is_empty()) {
            (PublicScope::Items, true) => {
                return Err(Error::InvalidArgument(
                    "a link to chosen items needs at least one item".into(),
                ));
            }
            (PublicScope::Live | PublicScope::Snapshot, false) => {
                return Err(Error::InvalidArgument(
                    "only a link of scope Items shows chosen items".into(),
                ));
            }
            _ => {}
        }
        if terms.password.is_some() {
            terms
                .password_params
                .check_within(&Argon2Budget::LINK_PASSWORD)?;
        }
        let link = LinkId::random()?;
        let secret = Zeroizing::new(crate::crypto::random::array::<32>()?);
        let url = LinkUrl::new(
            LinkPurpose::Public,
            self.id(),
            link,
            *secret,
            self.creator_key()?,
            base_url,
        );
        let lock = match &terms.password {
            None => None,
            Some(_) => Some(new_password_lock(terms.password_params)?),
        };
        let pw_key = match (&lock, &terms.password) {
            (Some(lock), Some(pw)) => Some(password_key(lock, pw, &Argon2Budget::LINK_PASSWORD)?),
            _ => None,
        };
        let derived = url.secrets(pw_key.as_ref())?;
        let kem_key = derived.kem.public_key().to_bytes();
        let verifying_key = derived.signing.verifying_key().to_bytes();
        let scope = terms.scope;
        self.commit(client, true, &mut |this, client| {
            let time = this.next_time(client);
            let keys = match terms.scope {
                PublicScope::Live => this.link_epoch_key(&link, &kem_key)?,
                PublicScope::Snapshot => {
                    let live: Vec<ItemId> = this
                        .state()
                        .items()
                        .iter()
                        .filter(|(_, r)| r.trashed.is_none())
                        .map(|(id, _)| *id)
                        .collect();
                    this.item_bundle(&link, &live, &derived)?
                }
                PublicScope::Items => this.item_bundle(&link, &terms.items, &derived)?,
            };
            Ok(Body::CreateLink(Box::new(LinkTerms {
                link,
                kind: LinkKind::Public {
                    scope,
                    device_limit: terms.device_limit,
                    download: terms.download,
                },
                expires_at: time.saturating_add(terms.valid_for),
                password: lock,
                verifying_key,
                kem_key,
                keys,
            })))
        })?;
        Ok(url)
    }

    /// The keys of the newest versions of `items`, sealed for a link.
    fn item_bundle(
        &self,
        link: &LinkId,
        items: &[ItemId],
        derived: &LinkSecrets,
    ) -> Result<LinkKeys> {
        if items.len() > MAX_LINK_ITEMS {
            return Err(Error::InvalidArgument(format!(
                "a link carries at most {MAX_LINK_ITEMS} items"
            )));
        }
        // Sized up front: item keys are never left behind by a reallocation.
        let mut w = Writer::raw_with_capacity(4 + items.len() * (16 + 4 + 32));
        w.u32(items.len() as u32);
        for id in items {
            let rec = self
                .state()
                .items()
                .get(id)
                .ok_or_else(|| Error::NotFound(format!("item {id}")))?;
            let key = self.item_key(&rec.latest.header)?;
            w.fixed(&id.0)
                .u32(rec.latest.header.version)
                .fixed(key.expose());
        }
        let plain = Zeroizing::new(w.finish());
        Ok(LinkKeys::Items {
            sealed: SealedBox::seal(
                &derived.items,
                &plain,
                &keys::link_items_aad(&self.id(), link),
            )?,
        })
    }
}

/// What a public link opened: the verified log and the keys the link grants.
/// Holds no account and can sign nothing.
pub struct PublicView {
    url: LinkUrl,
    state: LogState,
    remote: Arc<dyn Remote>,
    epoch_keys: EpochKeys,
    item_keys: HashMap<ItemId, (u32, SecretKey)>,
    secrets: LinkSecrets,
    has_password: bool,
}

impl std::fmt::Debug for PublicView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicView")
            .field("link", &self.url)
            .field("operations", &self.state.len())
            .finish_non_exhaustive()
    }
}

impl PublicView {
    /// Opens a public link: fetches the log, checks it starts with the creator
    /// the link pins, verifies it, checks the link is neither revoked nor
    /// expired at `now`, and unlocks what the link grants. A link with a
    /// password needs it ([`Error::WrongPassword`] otherwise); its stored
    /// Argon2id parameters are checked against [`Argon2Budget::DEFAULT`] before
    /// anything is allocated or hashed ([`Error::UnsafeParameters`]). Every
    /// link the log accepts is within it ([`Argon2Budget::LINK_PASSWORD`]).
    pub fn open(
        remote: Arc<dyn Remote>,
        url: &LinkUrl,
        password: Option<&str>,
        now: u64,
    ) -> Result<Self> {
        Self::open_within(remote, url, password, now, Argon2Budget::DEFAULT)
    }

    /// [`PublicView::open`] with the reader's own `budget` for the link's
    /// password parameters instead of the default: parameters above it are
    /// refused with [`Error::UnsafeParameters`] before anything is allocated
    /// or hashed.
    pub fn open_within(
        remote: Arc<dyn Remote>,
        url: &LinkUrl,
        password: Option<&str>,
        now: u64,
        budget: Argon2Budget,
    ) -> Result<Self> {
        Self::open_inner(remote, url, password, now, budget, None)
    }

    /// [`PublicView::open`] as the device `device`: for a link with a device
    /// limit, a server lets fetch content only to devices it registered, up
    /// to the limit, so a device that keeps its key (and passes it here each
    /// time) counts once. [`PublicView::open`] uses a fresh key each time.
    pub fn open_on_device(
        remote: Arc<dyn Remote>,
        url: &LinkUrl,
        password: Option<&str>,
        now: u64,
        device: &DeviceKey,
    ) -> Result<Self> {
        Self::open_inner(
            remote,
            url,
            password,
            now,
            Argon2Budget::DEFAULT,
            Some(device),
        )
    }

    fn open_inner(
        remote: Arc<dyn Remote>,
        url: &LinkUrl,
        password: Option<&str>,
        now: u64,
        budget: Argon2Budget,
        device: Option<&DeviceKey>,
    ) -> Result<Self> {
        if url.purpose() != LinkPurpose::Public {
            return Err(Error::BadLink(
                "an invite link; join it with Collection::join",
            ));
        }
        remote.use_link(url.request_signer()?);
        let ops = remote.fetch(&url.collection(), 0)?;
        check_creator_key(ops.first().map(Vec::as_slice), url.creator_key())?;
        let mut state = LogState::empty(url.collection());
        state.extend_from_bytes(&ops, now)?;
        let rec = state
            .links()
            .get(&url.link())
            .ok_or_else(|| Error::NotFound("the link in the collection's log".into()))?;
        if !matches!(rec.terms.kind, LinkKind::Public { .. }) {
            return Err(Error::BadLink("not a public link"));
        }
        check_usable(&state, rec, now)?;
        let pw_key = match (&rec.terms.password, password) {
            (None, _) => None,
            (Some(_), None) => return Err(Error::WrongPassword),
            (Some(lock), Some(pw)) => Some(password_key(lock, pw, &budget)?),
        };
        let has_password = rec.terms.password.is_some();
        let device_limit = match rec.terms.kind {
            LinkKind::Public { device_limit, .. } => device_limit,
            LinkKind::Invite { .. } => 0,
        };
        let secrets = url.secrets(pw_key.as_ref())?;
        let mut view = Self {
            url: url.clone(),
            state,
            remote,
            epoch_keys: EpochKeys::default(),
            item_keys: HashMap::new(),
            secrets,
            has_password,
        };
        view.unlock()?;
        // Unlocked, so the password (if any) was right: the transport may
        // now register this device for the link's content.
        if device_limit > 0 {
            let fresh;
            let device = match device {
                Some(device) => device,
                None => {
                    fresh = DeviceKey::generate()?;
                    &fresh
                }
            };
            view.remote.use_link_device(LinkDevice::new(
                url.collection(),
                url.link(),
                device,
                &view.secrets.kem,
            ));
        }
        Ok(view)
    }

    fn record(&self) -> Result<&crate::log::state::LinkRecord> {
        self.state
            .links()
            .get(&self.url.link())
            .ok_or_else(|| Error::NotFound("the link".into()))
    }

    /// Maps a failure to open the link's key material to the error a reader can act on.
    fn locked(&self, e: crate::crypto::Error) -> Error {
        match e {
            crate::crypto::Error::DecryptionFailed if self.has_password => Error::WrongPassword,
            other => other.into(),
        }
    }

    fn unlock(&mut self) -> Result<()> {
        let id = self.url.collection();
        let link = self.url.link();
        let rec = self.record()?.clone();
        match (&rec.terms.keys, &rec.epoch_key) {
            (LinkKeys::Epoch { .. }, Some((epoch, wrap))) => {
                let key = wrap
                    .unwrap_key(
                        &self.secrets.kem,
                        &WrapContext {
                            purpose: LINK_EPOCH_KEY_PURPOSE,
                            collection: &id.0,
                            epoch: *epoch,
                            recipient: &link_recipient(&link),
                        },
                    )
                    .map_err(|e| self.locked(e))?;
                self.epoch_keys.insert_checked(&self.state, *epoch, key)?;
                self.epoch_keys.walk_back(&self.state)
            }
            (LinkKeys::Epoch { .. }, None) => Err(Error::LinkRevoked),
            (LinkKeys::Items { sealed }, _) => {
                let plain = sealed
                    .open(&self.secrets.items, &keys::link_items_aad(&id, &link))
                    .map_err(|e| self.locked(e))?;
                let mut r = Reader::raw(plain.expose(), "link item keys");
                let n = r.count("link items", MAX_LINK_ITEMS, 52)?;
                for _ in 0..n {
                    let item = ItemId(r.array()?);
                    let version = r.u32()?;
                    let key = SecretKey::from_bytes(r.array()?);
                    self.item_keys.insert(item, (version, key));
                }
                r.finish()?;
                Ok(())
            }
            (LinkKeys::None, _) => Err(Error::BadLink("the link carries no keys")),
        }
    }

    /// The link's terms as its creator signed them (scope, expiry, device limit,
    /// download permission).
    pub fn terms(&self) -> Result<&LinkTerms> {
        Ok(&self.record()?.terms)
    }

    /// The collection's name, if the link shows the live collection.
    pub fn name(&self) -> Result<String> {
        let (epoch, sealed) = self
            .state
            .info()
            .ok_or_else(|| Error::NotFound("collection info".into()))?;
        let key = self.epoch_keys.get(*epoch).ok_or_else(|| {
            Error::NotAllowed("this link does not show the collection's name".into())
        })?;
        Ok(crate::collection::open_info(&self.url.collection(), *epoch, key, sealed)?.0)
    }

    /// What the link shows: every item not in the trash (live), or the item
    /// versions the link was made with and still in the log (snapshot and item
    /// links). Never fails as a whole: an item whose key box or metadata does
    /// not open under what the link grants is reported in
    /// [`ItemListing::unreadable`] with its error, and every other is listed.
    pub fn items(&self) -> ItemListing {
        let id = self.url.collection();
        if self.item_keys.is_empty() {
            return ItemListing::from_results(
                self.state
                    .items()
                    .iter()
                    .filter(|(_, rec)| rec.trashed.is_none())
                    .map(|(item, rec)| {
                        let h = &rec.latest.header;
                        let shown = self
                            .epoch_key(h.epoch)
                            .and_then(|key| open_item_key(&id, h, key))
                            .and_then(|ikey| open_metadata(&id, h, &ikey))
                            .map(|metadata| item_view(*item, rec, &rec.latest, metadata));
                        (*item, shown)
                    }),
            );
        }
        ItemListing::from_results(self.item_keys.iter().filter_map(|(item, (version, ikey))| {
            // A purged item is gone for good: not listed, not unreadable.
            let rec = self.state.items().get(item)?;
            let view = rec
                .versions()
                .find(|v| v.header.version == *version)
                .ok_or_else(|| Error::NotFound(format!("version {version} of item {item}")))
                .and_then(|shown| {
                    open_metadata(&id, &shown.header, ikey)
                        .map(|metadata| item_view(*item, rec, shown, metadata))
                });
            Some((*item, view))
        }))
    }

    fn epoch_key(&self, epoch: u64) -> Result<&SecretKey> {
        self.epoch_keys
            .get(epoch)
            .ok_or_else(|| Error::NotAllowed(format!("this link holds no key for epoch {epoch}")))
    }

    /// The content of an item the link shows, checked against its signed header.
    pub fn read(&self, item: ItemId) -> Result<Vec<u8>> {
        self.with_shown(item, |header, key| {
            open_content(self.remote.as_ref(), &self.url.collection(), header, key)
        })
    }

    /// Writes the content of an item the link shows to `out` as it is opened,
    /// chunk by chunk, in constant memory, with the same guarantees and the same
    /// caveat as [`Collection::read_into`]: on [`Error::ContentMismatch`] part of
    /// the output may have been written, so keep it only on success. Returns the
    /// number of bytes written.
    pub fn read_into(&self, item: ItemId, out: &mut (dyn Write + Send)) -> Result<u64> {
        self.with_shown(item, |header, key| {
            open_content_into(
                self.remote.as_ref(),
                &self.url.collection(),
                header,
                key,
                out,
            )
        })
    }

    /// Calls `f` with the header of the version of `item` the link shows and
    /// that version's item key: the newest version for a live link (unless
    /// trashed), the pinned one for a snapshot or chosen items.
    fn with_shown<T>(
        &self,
        item: ItemId,
        f: impl FnOnce(&ItemHeader, &SecretKey) -> Result<T>,
    ) -> Result<T> {
        let rec = self
            .state
            .items()
            .get(&item)
            .ok_or_else(|| Error::NotFound(format!("item {item}")))?;
        if self.item_keys.is_empty() {
            if rec.trashed.is_some() {
                return Err(Error::NotFound(format!("item {item}")));
            }
            let h = &rec.latest.header;
            let ikey = open_item_key(&self.url.collection(), h, self.epoch_key(h.epoch)?)?;
            return f(h, &ikey);
        }
        let (version, ikey) = self
            .item_keys
            .get(&item)
            .ok_or_else(|| Error::NotAllowed("this link does not show that item".into()))?;
        let shown = rec
            .versions()
            .find(|v| v.header.version == *version)
            .ok_or_else(|| Error::NotFound(format!("version {version} of item {item}")))?;
        f(&shown.header, ikey)
    }

    /// Fetches what is new (a live link follows every change and rotation).
    /// Fails with [`Error::LinkRevoked`] or [`Error::LinkExpired`] once the link
    /// is no longer usable at `now`.
    pub fn refresh(&mut self, now: u64) -> Result<()> {
        let ops = self
            .remote
            .fetch(&self.url.collection(), self.state.len())?;
        self.state.extend_from_bytes(&ops, now)?;
        check_usable(&self.state, self.record()?, now)?;
        if self.item_keys.is_empty() {
            self.unlock()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::PublicLinkTerms;

    #[test]
    fn debug_never_shows_the_password() {
        let terms = PublicLinkTerms {
            password: Some("correct horse".into()),
            ..Default::default()
        };
        let shown = format!("{terms:?}");
        assert!(!shown.contains("correct horse"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
