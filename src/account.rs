//! A user's account: handle, signing key and KEM key, and the identity card that
//! publishes them. Secrets stay inside; they leave only sealed in a [`Keystore`].

use std::fmt;

use crate::crypto::password::{Argon2Budget, Argon2Params};
use crate::crypto::secret::{SecretBytes, SecretKey};
use crate::crypto::sign::{Domain, Signature, SigningKey};
use crate::crypto::wrap::{WrapContext, WrappedSecret};
use crate::crypto::x25519::KemSecretKey;
use crate::error::Result;
use crate::identity::{self, Identity, MAX_HANDLE_LEN};
use crate::keystore::{Keystore, RecoveryPhrase};
use crate::log::{Body, CollectionId, OpHash, Operation};
use crate::wire::{Kind, Reader, Writer};

/// A user's account: who they are to the app (the handle) and the keys that act
/// for them. Zeroizes its keys on drop; `Debug` shows only public facts.
pub struct Account {
    signing: SigningKey,
    kem: KemSecretKey,
    identity: Identity,
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
        let account = Self::create(handle, created_at)?;
        let (keystore, phrase) =
            Keystore::create(account.to_secret_bytes().expose(), password, profile)?;
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
        Self::from_secret_bytes(
            keystore
                .unlock_with_password_within(password, budget)?
                .expose(),
        )
    }

    /// Opens an account from its keystore with the recovery phrase.
    pub fn recover(keystore: &Keystore, phrase: &RecoveryPhrase) -> Result<Self> {
        Self::from_secret_bytes(keystore.unlock_with_recovery(phrase)?.expose())
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

    /// Signs `msg` as an object of kind `domain`.
    pub fn sign(&self, domain: Domain, msg: &[u8]) -> Signature {
        self.signing.sign(domain, msg)
    }

    /// Signs an operation of a collection's log as this account (the author is
    /// the account's handle). Whether honest clients accept it is for the log to
    /// decide; see [`crate::log::LogState`].
    pub fn sign_operation(
        &self,
        collection: CollectionId,
        seq: u64,
        prev: OpHash,
        time: u64,
        body: Body,
    ) -> Result<Operation> {
        Operation::sign(
            &self.signing,
            collection,
            seq,
            prev,
            self.handle(),
            time,
            body,
        )
    }

    /// A key for sealing this account's local data at rest (checkpoints, caches),
    /// derived from its secrets, so only this account opens what it sealed.
    pub fn storage_key(&self) -> Result<SecretKey> {
        crate::crypto::kdf::derive_key(
            self.signing.seed().expose(),
            b"",
            "local-storage",
            self.handle().as_bytes(),
        )
    }

    /// Unwraps a secret wrapped to this account for `context`.
    pub fn unwrap(
        &self,
        wrapped: &WrappedSecret,
        context: &WrapContext<'_>,
    ) -> Result<SecretBytes> {
        wrapped.unwrap(&self.kem, context)
    }

    /// Unwraps a 32-byte key wrapped to this account for `context`.
    pub fn unwrap_key(
        &self,
        wrapped: &WrappedSecret,
        context: &WrapContext<'_>,
    ) -> Result<SecretKey> {
        wrapped.unwrap_key(&self.kem, context)
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
