//! A user's account: handle, signing key and KEM key, and the identity card that
//! publishes them. Secrets stay inside; they leave only sealed in a [`Keystore`].

use std::fmt;

use crate::crypto::password::{Argon2Budget, Argon2Params};
use crate::crypto::secret::{SecretBytes, SecretKey};
use crate::crypto::sign::SigningKey;
use crate::crypto::wrap::{WrapContext, WrappedSecret};
use crate::crypto::x25519::KemSecretKey;
use crate::error::Result;
use crate::identity::{self, Identity, MAX_HANDLE_LEN};
use crate::keystore::{Keystore, RecoveryPhrase};
use crate::wire::{Kind, Reader, Writer};

/// A user's account: who they are to the app (the handle) and the keys that act
/// for them. Zeroizes its keys on drop; `Debug` shows only public facts.
pub struct Account {
    signing: SigningKey,
    kem: KemSecretKey,
    identity: Identity,
    /// The generation of the trust store last saved (see [`Account::trust_generation`]).
    trust_generation: u64,
    /// The master key of the keystore this account was opened from, to reseal
    /// its payload without the password.
    keystore_key: Option<SecretKey>,
}

impl Account {
    /// Creates an account with fresh keys. `created_at` is the current time in
    /// seconds since the Unix epoch (the caller's clock).
    pub fn create(handle: &str, created_at: u64) -> Result<Self> {
        let signing = SigningKey::generate()?;
        let kem = KemSecretKey::generate()?;
        Self::from_keys(handle, created_at, signing, kem)
    }

    /// Creates an account and its password-protected keystore. Returns the
    /// recovery phrase, which the app shows the user once to write down.
    pub fn create_protected(
        handle: &str,
        created_at: u64,
        password: &str,
        profile: impl Into<Argon2Params>,
    ) -> Result<(Self, Keystore, RecoveryPhrase)> {
        let mut account = Self::create(handle, created_at)?;
        let (keystore, phrase, key) =
            Keystore::create_keeping_key(account.keystore_payload().expose(), password, profile)?;
        account.keystore_key = Some(key);
        Ok((account, keystore, phrase))
    }

    /// Opens an account from its keystore with the password, within
    /// [`Argon2Budget::DEFAULT`] (see [`Keystore::unlock_with_password`]).
    pub fn unlock(keystore: &Keystore, password: &str) -> Result<Self> {
        Self::unlock_within(keystore, password, Argon2Budget::DEFAULT)
    }

    /// [`Account::unlock`] within the caller's `budget` instead of the default
    /// (see [`Keystore::unlock_with_password_within`]).
    pub fn unlock_within(
        keystore: &Keystore,
        password: &str,
        budget: Argon2Budget,
    ) -> Result<Self> {
        let (payload, key) = keystore.unlock_keeping_key(password, budget)?;
        Self::from_keystore_payload(payload.expose(), key)
    }

    /// Opens an account from its keystore with the recovery phrase.
    pub fn recover(keystore: &Keystore, phrase: &RecoveryPhrase) -> Result<Self> {
        let (payload, key) = keystore.recover_keeping_key(phrase)?;
        Self::from_keystore_payload(payload.expose(), key)
    }

    /// The keystore payload: [`Account::to_secret_bytes`] followed by the trust
    /// generation, `u64`. A payload without it (written before it existed)
    /// reads as generation 0.
    fn keystore_payload(&self) -> SecretBytes {
        let secrets = self.to_secret_bytes();
        // Allocated once at its final size, so no copy is left behind by a
        // reallocation; SecretBytes zeroizes it on drop.
        let mut bytes = Vec::with_capacity(secrets.len() + 8);
        bytes.extend_from_slice(secrets.expose());
        bytes.extend_from_slice(&self.trust_generation.to_be_bytes());
        SecretBytes::new(bytes)
    }

    fn from_keystore_payload(payload: &[u8], key: SecretKey) -> Result<Self> {
        let mut account = match Self::from_secret_bytes(payload) {
            Ok(account) => account,
            Err(_) => {
                let split = payload.len().checked_sub(8).ok_or_else(|| {
                    crate::error::DecodeError::invalid("keystore payload", "too short")
                })?;
                let (secrets, generation) = payload.split_at(split);
                let mut account = Self::from_secret_bytes(secrets)?;
                let mut g = [0u8; 8];
                g.copy_from_slice(generation);
                account.trust_generation = u64::from_be_bytes(g);
                account
            }
        };
        account.keystore_key = Some(key);
        Ok(account)
    }

    /// The generation of the trust store this account last saved
    /// ([`crate::Client::save_trust`]), kept inside the keystore once
    /// resealed ([`Account::reseal_keystore`]). A saved trust store older than
    /// this was rolled back.
    pub fn trust_generation(&self) -> u64 {
        self.trust_generation
    }

    pub(crate) fn raise_trust_generation(&mut self, generation: u64) {
        self.trust_generation = self.trust_generation.max(generation);
    }

    /// Rewrites `keystore`'s payload with this account's current state (the
    /// trust generation), without the password. Refused with
    /// [`crate::Error::NotAllowed`] for an account not opened from a keystore,
    /// and with [`crate::Error::DecryptionFailed`], changing nothing, for a
    /// keystore other than the one it was opened from.
    pub fn reseal_keystore(&self, keystore: &mut Keystore) -> Result<()> {
        let key = self.keystore_key.as_ref().ok_or_else(|| {
            crate::error::Error::NotAllowed("this account was not opened from a keystore".into())
        })?;
        keystore.reseal_with_key(key, self.keystore_payload().expose())
    }

    /// A second copy of this account, keystore key and trust generation
    /// included (for a session that must be wiped on its own).
    pub fn duplicate(&self) -> Result<Self> {
        let mut copy = Self::from_secret_bytes(self.to_secret_bytes().expose())?;
        copy.trust_generation = self.trust_generation;
        copy.keystore_key = self.keystore_key.clone();
        Ok(copy)
    }

    fn from_keys(
        handle: &str,
        created_at: u64,
        signing: SigningKey,
        kem: KemSecretKey,
    ) -> Result<Self> {
        let identity = Identity::new(handle, &signing, kem.public_key(), created_at)?;
        Ok(Self {
            signing,
            kem,
            identity,
            trust_generation: 0,
            keystore_key: None,
        })
    }

    /// The public identity card to publish.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The handle.
    pub fn handle(&self) -> &str {
        self.identity.handle()
    }

    /// The key that signs as this account (operations are signed on the log's
    /// side of the collection layer, with `Account::sign_operation`).
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// A key for sealing this account's local data at rest (checkpoints, caches),
    /// derived from its secrets, so only this account opens what it sealed.
    pub fn storage_key(&self) -> Result<SecretKey> {
        Ok(crate::crypto::kdf::derive_key(
            self.signing.seed().expose(),
            b"",
            crate::labels::KDF_LOCAL_STORAGE,
            self.handle().as_bytes(),
        )?)
    }

    /// Unwraps a secret wrapped to this account for `context`.
    pub fn unwrap(
        &self,
        wrapped: &WrappedSecret,
        context: &WrapContext<'_>,
    ) -> Result<SecretBytes> {
        Ok(wrapped.unwrap(&self.kem, context)?)
    }

    /// Unwraps a 32-byte key wrapped to this account for `context`.
    pub fn unwrap_key(
        &self,
        wrapped: &WrappedSecret,
        context: &WrapContext<'_>,
    ) -> Result<SecretKey> {
        Ok(wrapped.unwrap_key(&self.kem, context)?)
    }

    /// The account's secrets in their canonical encoding, for sealing in a keystore:
    /// `01 06 || handle || created_at u64 || signing_seed[32] || kem_secret[32]`.
    pub fn to_secret_bytes(&self) -> SecretBytes {
        let handle = self.identity.handle();
        let mut w = Writer::with_capacity(Kind::AccountSecrets, 2 + 4 + handle.len() + 8 + 64);
        w.str(handle)
            .u64(self.identity.created_at())
            .fixed(self.signing.seed().expose())
            .fixed(self.kem.to_secret().expose());
        SecretBytes::new(w.finish())
    }

    /// Restores an account from [`Account::to_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::AccountSecrets)?;
        let handle = r.str("handle", MAX_HANDLE_LEN)?;
        identity::check_handle(handle)?;
        let created_at = r.u64()?;
        let seed = SecretKey::from_bytes(r.array()?);
        let kem = SecretKey::from_bytes(r.array()?);
        r.finish()?;
        Self::from_keys(
            handle,
            created_at,
            SigningKey::from_seed(&seed),
            KemSecretKey::from_secret(&kem),
        )
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}
