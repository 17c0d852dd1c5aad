//! The devices registered for public links with a device limit
//! (docs/server.md §Link devices): at most the link's limit per link, kept
//! in the database so every process counts the same devices. The SQL is at
//! the end of `signin_sqlite.rs` and `signin_postgres.rs`, beside the other
//! small tables.

use sealshare::{CollectionId, DeviceGate, LinkId, LogState};

use super::{Store, StoreError, Who};

/// What registering a device did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// Registered now.
    Now,
    /// It was registered before.
    Already,
    /// The link has as many devices as its limit allows.
    Full,
}

/// Whether a caller may fetch a collection's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentAccess {
    /// Yes.
    Allowed,
    /// A public link with a device limit, whose device is not registered
    /// (yet): register it first.
    DeviceNotRegistered,
    /// No.
    Denied,
}

/// The device table's operations; each is one unit.
pub(super) trait DevicesDb {
    /// Registers `device` for `link` of `collection` unless `limit` devices
    /// are registered, in one transaction no other registration for the
    /// link comes into.
    fn register_device(
        &self,
        collection: &CollectionId,
        link: &LinkId,
        device: &[u8; 32],
        limit: u32,
        now: i64,
    ) -> Result<Registered, StoreError>;
    /// Whether `device` is registered for `link` of `collection`.
    fn is_device(
        &self,
        collection: &CollectionId,
        link: &LinkId,
        device: &[u8; 32],
    ) -> Result<bool, StoreError>;
}

/// The device limit of `link` in `state`, if it is a live public link
/// (0: no limit).
fn live_limit(state: &LogState, link: &LinkId, now: u64) -> Option<(u32, [u8; 32])> {
    let rec = state.links().get(link)?;
    if state.link_refusal(rec, now, &|_| true).is_some() {
        return None;
    }
    match rec.terms.kind {
        sealshare::LinkKind::Public { device_limit, .. } => Some((device_limit, rec.terms.kem_key)),
        sealshare::LinkKind::Invite { .. } => Some((0, rec.terms.kem_key)),
    }
}

impl Store {
    /// This server's gate for device proofs, made on the first start of any
    /// process on this database and kept secret in `meta`.
    pub fn device_gate(&self) -> Result<DeviceGate, StoreError> {
        let bytes = self.db.meta_or_insert("device_gate", &|| {
            DeviceGate::generate()
                .map(|gate| gate.to_bytes().to_vec())
                .unwrap_or_default()
        })?;
        let bytes = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| StoreError::Damaged("a device gate key not of 32 bytes".into()))?;
        Ok(DeviceGate::from_bytes(bytes))
    }

    /// Registers the device `device` for `link` of `collection`, whose
    /// request proved the link's KEM secret with `proof`: the link must be a
    /// live public link with a device limit, and the proof check against the
    /// link's KEM key in the verified log. `None` if it is not such a link
    /// or the proof fails.
    pub fn register_link_device(
        &self,
        collection: &CollectionId,
        link: &LinkId,
        device: &[u8; 32],
        proof: &[u8; 32],
        now: u64,
    ) -> Result<Option<Registered>, StoreError> {
        let gate = self.device_gate()?;
        let mut limit = None;
        self.db.with_state(collection, &mut |state, _| {
            limit = match live_limit(state, link, now) {
                Some((limit, kem_key))
                    if limit > 0 && gate.check(collection, link, &kem_key, device, proof) =>
                {
                    Some(limit)
                }
                _ => None,
            };
            true
        })?;
        let Some(limit) = limit else {
            return Ok(None);
        };
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.db
            .register_device(collection, link, device, limit, now)
            .map(Some)
    }

    /// Whether `who` may fetch `collection`'s content at `now`: as for its
    /// log ([`Store::may_read`]), but a public link with a device limit only
    /// through a registered device's key.
    pub fn may_read_content(
        &self,
        collection: &CollectionId,
        who: &Who,
        now: u64,
    ) -> Result<ContentAccess, StoreError> {
        let Who::Link { link, key } = who else {
            return Ok(if self.may_read(collection, who, now)? {
                ContentAccess::Allowed
            } else {
                ContentAccess::Denied
            });
        };
        let mut terms = None;
        self.db.with_state(collection, &mut |state, _| {
            terms = live_limit(state, link, now).map(|(limit, _)| {
                let verifying = state
                    .links()
                    .get(link)
                    .map(|r| r.terms.verifying_key)
                    .unwrap_or_default();
                (limit, verifying)
            });
            true
        })?;
        Ok(match terms {
            None => ContentAccess::Denied,
            Some((0, verifying)) if verifying == *key => ContentAccess::Allowed,
            Some((0, _)) => ContentAccess::Denied,
            Some(_) if self.db.is_device(collection, link, key)? => ContentAccess::Allowed,
            Some(_) => ContentAccess::DeviceNotRegistered,
        })
    }
}
