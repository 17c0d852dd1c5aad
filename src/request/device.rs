//! The devices of a public link with a device limit (docs/server.md §Link
//! devices). A server enforces the limit by letting fetch the link's content
//! only to devices it registered, up to the limit. A device is a key the
//! reader's device keeps ([`DeviceKey`]); registering it needs a proof
//! that the device holds the link's KEM secret, which is derived from the
//! URL's secret *and* the link's password where there is one, so holders of
//! the URL alone cannot use up the limit.
//!
//! The proof is `HKDF(X25519(link KEM secret, gate key), label
//! "link-device", collection || link || device key || gate key)`: the
//! server computes the same from its own gate secret ([`DeviceGate`]) and
//! the link's KEM public key in the verified log.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::secret::SecretKey;
use crate::crypto::sign::SigningKey;
use crate::crypto::x25519::{KemPublicKey, KemSecretKey};
use crate::crypto::{kdf, random};
use crate::error::Result;
use crate::labels;
use crate::log::{CollectionId, LinkId};
use crate::request::{Principal, RequestSigner};

/// A device's own key for public links with a device limit: the app keeps
/// it ([`DeviceKey::to_bytes`]) so that the device counts once, however
/// often it opens the link. Zeroized on drop; `Debug` shows nothing.
pub struct DeviceKey(SecretKey);

impl DeviceKey {
    /// A fresh key.
    pub fn generate() -> Result<Self> {
        Ok(Self(SecretKey::from_bytes(random::array()?)))
    }

    /// The key from what [`DeviceKey::to_bytes`] gave.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretKey::from_bytes(bytes))
    }

    /// The key's 32 bytes, for the app to store as a secret.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.0.expose())
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceKey(***)")
    }
}

/// A device reading one public link: signs its requests (as the link, with
/// the device's own key) and proves to a server that it holds the link's
/// secrets. Handed to the transport by [`crate::PublicView`]
/// ([`crate::Remote::use_link_device`]).
pub struct LinkDevice {
    collection: CollectionId,
    link: LinkId,
    device: SigningKey,
    kem: KemSecretKey,
}

impl LinkDevice {
    pub(crate) fn new(
        collection: CollectionId,
        link: LinkId,
        device: &DeviceKey,
        kem: &KemSecretKey,
    ) -> Self {
        Self {
            collection,
            link,
            device: SigningKey::from_seed(&device.0),
            kem: KemSecretKey::from_secret(&kem.to_secret()),
        }
    }

    /// The collection the link opens.
    pub fn collection(&self) -> CollectionId {
        self.collection
    }

    /// The link.
    pub fn link(&self) -> LinkId {
        self.link
    }

    /// The device's public key, which a server registers.
    pub fn device_key(&self) -> [u8; 32] {
        self.device.verifying_key().to_bytes()
    }

    /// Signs requests as this device of the link.
    pub fn signer(&self) -> RequestSigner {
        RequestSigner::new(
            Principal::Link {
                collection: self.collection,
                link: self.link,
            },
            SigningKey::from_seed(&self.device.seed()),
        )
    }

    /// The proof for a server whose gate key ([`DeviceGate::public_key`]) is
    /// `gate_key`.
    pub fn proof(&self, gate_key: &[u8; 32]) -> Result<[u8; 32]> {
        let shared = self
            .kem
            .diffie_hellman(&KemPublicKey::from_bytes(*gate_key))?;
        proof(
            &shared,
            &self.collection,
            &self.link,
            &self.device_key(),
            gate_key,
        )
    }
}

impl fmt::Debug for LinkDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LinkDevice({}, {}, device: {:?}, secrets: ***)",
            self.collection.to_text(),
            self.link.to_text(),
            self.device.verifying_key()
        )
    }
}

/// A server's key for checking device proofs: an X25519 key it makes once
/// and keeps secret, announcing its public half. Zeroized on drop.
pub struct DeviceGate(KemSecretKey);

impl DeviceGate {
    /// A fresh gate key.
    pub fn generate() -> Result<Self> {
        Ok(Self(KemSecretKey::generate()?))
    }

    /// The gate from what [`DeviceGate::to_bytes`] gave.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(KemSecretKey::from_secret(&SecretKey::from_bytes(bytes)))
    }

    /// The secret's 32 bytes, for the server to store.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.0.to_secret().expose())
    }

    /// The public key devices prove to.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.public_key().to_bytes()
    }

    /// Whether `proof` proves that `device_key`'s holder has the KEM secret
    /// of the link `link` of `collection`, whose KEM public key the verified
    /// log records as `link_kem_key`. Compared in constant time; false for a
    /// KEM key that yields no shared secret.
    pub fn check(
        &self,
        collection: &CollectionId,
        link: &LinkId,
        link_kem_key: &[u8; 32],
        device_key: &[u8; 32],
        proof_given: &[u8; 32],
    ) -> bool {
        let Ok(shared) = self
            .0
            .diffie_hellman(&KemPublicKey::from_bytes(*link_kem_key))
        else {
            return false;
        };
        let Ok(expected) = proof(&shared, collection, link, device_key, &self.public_key()) else {
            return false;
        };
        expected.ct_eq(proof_given).into()
    }
}

impl fmt::Debug for DeviceGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeviceGate(public: {:?}, secret: ***)",
            self.public_key()
        )
    }
}

fn proof(
    shared: &SecretKey,
    collection: &CollectionId,
    link: &LinkId,
    device_key: &[u8; 32],
    gate_key: &[u8; 32],
) -> Result<[u8; 32]> {
    let context = [&collection.0[..], &link.0, device_key, gate_key].concat();
    let key = kdf::derive_key(shared.expose(), b"", labels::KDF_LINK_DEVICE, &context)?;
    Ok(*key.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_checks_only_for_its_device_link_secret_and_gate() {
        let kem = KemSecretKey::generate().unwrap();
        let (collection, link) = (CollectionId([1; 16]), LinkId([2; 16]));
        let device = LinkDevice::new(collection, link, &DeviceKey::generate().unwrap(), &kem);
        let gate = DeviceGate::generate().unwrap();
        let kem_key = kem.public_key().to_bytes();
        let proof = device.proof(&gate.public_key()).unwrap();
        let dev = device.device_key();
        assert!(gate.check(&collection, &link, &kem_key, &dev, &proof));
        // Another device key, link, collection, link secret or gate: no.
        assert!(!gate.check(&collection, &link, &kem_key, &[9; 32], &proof));
        assert!(!gate.check(&collection, &LinkId([3; 16]), &kem_key, &dev, &proof));
        assert!(!gate.check(&CollectionId([4; 16]), &link, &kem_key, &dev, &proof));
        let other = KemSecretKey::generate().unwrap().public_key().to_bytes();
        assert!(!gate.check(&collection, &link, &other, &dev, &proof));
        let other_gate = DeviceGate::from_bytes(*DeviceGate::generate().unwrap().to_bytes());
        assert!(!other_gate.check(&collection, &link, &kem_key, &dev, &proof));
        // A low-order link key yields no secret: refused, no panic.
        assert!(!gate.check(&collection, &link, &[0; 32], &dev, &proof));
        // The same device key signs the same way each time it is restored.
        let seed = DeviceKey::generate().unwrap();
        let again = DeviceKey::from_bytes(*seed.to_bytes());
        let a = LinkDevice::new(collection, link, &seed, &kem);
        let b = LinkDevice::new(collection, link, &again, &kem);
        assert_eq!(a.device_key(), b.device_key());
        assert_eq!(a.signer().public_key(), a.device_key());
        assert!(!format!("{a:?}{gate:?}{seed:?}").contains(&format!("{:?}", seed.to_bytes())));
    }
}
