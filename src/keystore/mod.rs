//! The account keystore: the account's secrets sealed under a random master key,
//! which is wrapped twice, under the password (Argon2id) and under a recovery key
//! shown to the user once as 24 BIP39 words.
//!
//! # Keys
//!
//! - master key `M`: 32 random bytes, made once per keystore and never changed.
//! - payload key: `HKDF(M, label "keystore/payload-key")`; seals the payload.
//! - password key: `HKDF(Argon2id(password, salt, params), label
//!   "keystore/password-key")`. The HKDF step keeps the Argon2id output, a
//!   password hash, from ever being used as a key directly.
//! - recovery key: `HKDF(entropy, label "keystore/recovery-key")` where `entropy`
//!   is the 256 random bits the 24 words encode. No slow hash: 256 bits need none.
//!
//! (HKDF here is [`kdf::derive_key`] with an empty salt and an empty context.)
//!
//! # What the associated data binds
//!
//! - the master key under the password: the label
//!   `"sealshare/v1/keystore/master-by-password"`, a zero byte, then the first 30
//!   bytes of the encoding (version, kind, parameters, salt). A parameter or salt
//!   changed within bounds yields another key *and* other associated data:
//!   [`Error::WrongPassword`].
//! - the master key under the recovery key: `"sealshare/v1/keystore/master-by-recovery"`,
//!   a zero byte, version and kind. It cannot bind the parameters or the salt: a
//!   change of password rewrites those and leaves this box untouched.
//! - the payload: `"sealshare/v1/keystore/payload"`, a zero byte, version, kind,
//!   then the encoded recovery box (nonce, length, ciphertext). After a password
//!   unlock every byte of the blob has therefore been authenticated: the header
//!   and password box by the password box's tag, the recovery box and payload by
//!   the payload's tag.
//!
//! # Encoding (SPEC.md §Keystore)
//!
//! ```text
//! offset  size  field
//!      0     1  version 0x01
//!      1     1  kind 0x05 (keystore)
//!      2     4  memory_kib, u32 big-endian
//!      6     4  passes, u32 big-endian
//!     10     4  lanes, u32 big-endian
//!     14    16  salt
//!     30    24  master-by-password: nonce
//!     54     4  master-by-password: ciphertext length, always 48
//!     58    48  master-by-password: ciphertext (32-byte key + 16-byte tag)
//!    106    24  master-by-recovery: nonce
//!    130     4  master-by-recovery: ciphertext length, always 48
//!    134    48  master-by-recovery: ciphertext
//!    182    24  payload: nonce
//!    206     4  payload: ciphertext length n + 16, at most 1 MiB + 16
//!    210  n+16  payload: ciphertext (payload + tag)
//! ```
//!
//! Total `226 + n` bytes. A wrapped master key must be exactly 48 bytes: besides
//! keeping the encoding canonical, this leaves no room for the long multi-key
//! ciphertexts of partitioning-oracle attacks (one doctored wrap that opens under
//! many candidate passwords). Decoding checks only the structure (header, lengths, no
//! trailing bytes); the parameters are checked when the password path uses them,
//! so a blob whose parameters this device refuses can still be opened with the
//! recovery phrase and given a new password.
//!
//! # Budget
//!
//! Every path that runs Argon2id on the stored parameters (unlock, change of
//! password, reseal) checks them first against the absolute bounds and against
//! the caller's [`Argon2Budget`]: [`Argon2Budget::DEFAULT`] for the plain
//! methods, the caller's own for their `_within` variants. A keystore made with
//! parameters above the default budget (the Sensitive profile) opens only
//! through a `_within` variant with a budget that admits them. The recovery
//! path runs no Argon2id on the stored parameters.

use std::fmt;

use crate::crypto::aead::SealedBox;
use crate::crypto::kdf;
use crate::crypto::password::{self, Argon2Budget, Argon2Params, SALT_LEN};
use crate::crypto::random;
use crate::crypto::secret::{SecretBytes, SecretKey};
use crate::error::{Error, Result};
use crate::labels;
use crate::wire::{self, Kind, Writer};

mod encoding;
mod recovery;

pub use recovery::{RECOVERY_WORDS, RecoveryPhrase};

/// The largest payload a keystore seals: 1 MiB (account secrets are a few hundred bytes).
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;

const AD_MASTER_BY_PASSWORD: &[u8] = labels::AAD_KEYSTORE_MASTER_BY_PASSWORD;
const AD_MASTER_BY_RECOVERY: &[u8] = labels::AAD_KEYSTORE_MASTER_BY_RECOVERY;
const AD_PAYLOAD: &[u8] = labels::AAD_KEYSTORE_PAYLOAD;

const LABEL_PASSWORD_KEY: &str = labels::KDF_KEYSTORE_PASSWORD_KEY;
const LABEL_RECOVERY_KEY: &str = labels::KDF_KEYSTORE_RECOVERY_KEY;
const LABEL_PAYLOAD_KEY: &str = labels::KDF_KEYSTORE_PAYLOAD_KEY;

/// A password-protected store of an account's secrets. Holds only ciphertext and
/// public parameters; `Debug` shows the parameters and the payload size.
#[derive(Clone, PartialEq, Eq)]
pub struct Keystore {
    params: Argon2Params,
    salt: [u8; SALT_LEN],
    by_password: SealedBox,
    by_recovery: SealedBox,
    payload: SealedBox,
    payload_len: usize,
}

impl Keystore {
    /// Seals `payload` (the account's secrets) under a fresh master key, wrapped
    /// under `password` with the Argon2id parameters of `profile` (a [`Profile`] or
    /// explicit, checked [`Argon2Params`]) and under a fresh recovery key.
    ///
    /// Returns the keystore and the recovery phrase, which the app shows the user
    /// once ([`RecoveryPhrase::words`]) and then drops. Refuses an empty password
    /// and a payload above [`MAX_PAYLOAD_LEN`] with [`Error::InvalidArgument`].
    ///
    /// The parameters are checked against the absolute bounds only: a keystore
    /// made above [`Argon2Budget::DEFAULT`] (the Sensitive profile) is unlocked
    /// with [`Keystore::unlock_with_password_within`] and a budget that admits
    /// them.
    ///
    /// [`Profile`]: crate::crypto::password::Profile
    pub fn create(
        payload: &[u8],
        password: &str,
        profile: impl Into<Argon2Params>,
    ) -> Result<(Keystore, RecoveryPhrase)> {
        let params = profile.into();
        params.check()?;
        check_new_password(password)?;
        check_payload(payload)?;
        let master = SecretKey::random()?;
        let phrase = RecoveryPhrase::generate()?;
        let by_recovery =
            SealedBox::seal(&phrase.wrapping_key()?, master.expose(), &recovery_ad())?;
        let payload_box = seal_payload(&master, payload, &by_recovery)?;
        let (salt, by_password) = wrap_under_password(&master, password, params)?;
        let keystore = Keystore {
            params,
            salt,
            by_password,
            by_recovery,
            payload: payload_box,
            payload_len: payload.len(),
        };
        Ok((keystore, phrase))
    }

    /// Opens the payload with the password, within [`Argon2Budget::DEFAULT`].
    ///
    /// Checks the stored parameters first, against the absolute bounds and the
    /// default budget ([`Error::UnsafeParameters`], nothing allocated or
    /// hashed); a password that does not open the master key gives
    /// [`Error::WrongPassword`] (so does a doctored salt or parameter); a payload
    /// that fails to open after the right password gives [`Error::DecryptionFailed`].
    pub fn unlock_with_password(&self, password: &str) -> Result<SecretBytes> {
        self.unlock_with_password_within(password, Argon2Budget::DEFAULT)
    }

    /// [`Keystore::unlock_with_password`] within the caller's `budget` instead of
    /// the default (for example [`Argon2Budget::SENSITIVE`] for a keystore made
    /// with the Sensitive profile): stored parameters above it are refused with
    /// [`Error::UnsafeParameters`] before anything is allocated or hashed.
    pub fn unlock_with_password_within(
        &self,
        password: &str,
        budget: Argon2Budget,
    ) -> Result<SecretBytes> {
        let master = self.master_by_password(password, &budget)?;
        open_payload(&master, &self.payload, &self.by_recovery)
    }

    /// Opens the payload with the recovery phrase. A well-formed phrase that does
    /// not open this keystore gives [`Error::WrongRecoveryPhrase`]. Runs no
    /// Argon2id and reads no stored parameter, so it needs no budget.
    pub fn unlock_with_recovery(&self, phrase: &RecoveryPhrase) -> Result<SecretBytes> {
        let master = self.master_by_recovery(phrase)?;
        open_payload(&master, &self.payload, &self.by_recovery)
    }

    /// Wraps the master key under `new_password` with a new salt and the parameters
    /// of `profile`, after unlocking with `old_password` within
    /// [`Argon2Budget::DEFAULT`]. The payload and the recovery wrap are not
    /// touched (their bytes stay the same). On error the keystore is unchanged.
    /// The new parameters are the caller's choice, checked against the absolute
    /// bounds only.
    pub fn change_password(
        &mut self,
        old_password: &str,
        new_password: &str,
        profile: impl Into<Argon2Params>,
    ) -> Result<()> {
        self.change_password_within(old_password, new_password, profile, Argon2Budget::DEFAULT)
    }

    /// [`Keystore::change_password`], unlocking with `old_password` within the
    /// caller's `budget` instead of the default.
    pub fn change_password_within(
        &mut self,
        old_password: &str,
        new_password: &str,
        profile: impl Into<Argon2Params>,
        budget: Argon2Budget,
    ) -> Result<()> {
        let params = profile.into();
        params.check()?;
        check_new_password(new_password)?;
        let master = self.master_by_password(old_password, &budget)?;
        // Refuse to re-wrap a master key whose payload no longer opens.
        open_payload(&master, &self.payload, &self.by_recovery)?;
        self.set_password(&master, new_password, params)
    }

    /// Sets a new password with the recovery phrase (the user forgot theirs, or
    /// this device refuses the stored parameters). The payload and the recovery
    /// wrap are not touched. On error the keystore is unchanged. The stored
    /// parameters are not read; the new ones are the caller's choice, checked
    /// against the absolute bounds only.
    pub fn recover_and_set_password(
        &mut self,
        phrase: &RecoveryPhrase,
        new_password: &str,
        profile: impl Into<Argon2Params>,
    ) -> Result<()> {
        let params = profile.into();
        params.check()?;
        check_new_password(new_password)?;
        let master = self.master_by_recovery(phrase)?;
        open_payload(&master, &self.payload, &self.by_recovery)?;
        self.set_password(&master, new_password, params)
    }

    /// Replaces the payload (the account's secrets changed), after unlocking with
    /// `password` within [`Argon2Budget::DEFAULT`]. The master key and both of
    /// its wraps are not touched. On error the keystore is unchanged.
    pub fn reseal_payload(&mut self, password: &str, new_payload: &[u8]) -> Result<()> {
        self.reseal_payload_within(password, new_payload, Argon2Budget::DEFAULT)
    }

    /// [`Keystore::reseal_payload`], unlocking within the caller's `budget`
    /// instead of the default.
    pub fn reseal_payload_within(
        &mut self,
        password: &str,
        new_payload: &[u8],
        budget: Argon2Budget,
    ) -> Result<()> {
        check_payload(new_payload)?;
        let master = self.master_by_password(password, &budget)?;
        self.payload = seal_payload(&master, new_payload, &self.by_recovery)?;
        self.payload_len = new_payload.len();
        Ok(())
    }

    /// Opens the payload with the password within `budget`, keeping the master
    /// key so that the payload can be resealed later without the password.
    pub(crate) fn unlock_keeping_key(
        &self,
        password: &str,
        budget: Argon2Budget,
    ) -> Result<(SecretBytes, SecretKey)> {
        let master = self.master_by_password(password, &budget)?;
        let payload = open_payload(&master, &self.payload, &self.by_recovery)?;
        Ok((payload, master))
    }

    /// Opens the payload with the recovery phrase, keeping the master key.
    pub(crate) fn recover_keeping_key(
        &self,
        phrase: &RecoveryPhrase,
    ) -> Result<(SecretBytes, SecretKey)> {
        let master = self.master_by_recovery(phrase)?;
        let payload = open_payload(&master, &self.payload, &self.by_recovery)?;
        Ok((payload, master))
    }

    /// Replaces the payload under a master key kept from an unlock. Refused,
    /// changing nothing, with [`Error::DecryptionFailed`] if `master` does not
    /// open this keystore's current payload (another keystore's key).
    pub(crate) fn reseal_with_key(&mut self, master: &SecretKey, new_payload: &[u8]) -> Result<()> {
        check_payload(new_payload)?;
        open_payload(master, &self.payload, &self.by_recovery)?;
        self.payload = seal_payload(master, new_payload, &self.by_recovery)?;
        self.payload_len = new_payload.len();
        Ok(())
    }

    /// The master key of a keystore just made (for [`crate::Account::create_protected`]).
    pub(crate) fn create_keeping_key(
        payload: &[u8],
        password: &str,
        profile: impl Into<Argon2Params>,
    ) -> Result<(Keystore, RecoveryPhrase, SecretKey)> {
        let (keystore, phrase) = Self::create(payload, password, profile)?;
        let (_, master) = keystore.recover_keeping_key(&phrase)?;
        Ok((keystore, phrase, master))
    }

    /// The stored Argon2id parameters (for example to offer a stronger profile
    /// once the device allows it, through [`Keystore::change_password`]).
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Checks the parameters against the bounds and `budget`, runs Argon2id and
    /// opens the master key.
    fn master_by_password(&self, password: &str, budget: &Argon2Budget) -> Result<SecretKey> {
        let hash = password::derive_within(password.as_bytes(), &self.salt, self.params, budget)?;
        let key = kdf::derive_key(hash.expose(), b"", LABEL_PASSWORD_KEY, &[])?;
        let master = self
            .by_password
            .open(&key, &password_ad(self.params, &self.salt))
            .map_err(|_| Error::WrongPassword)?;
        SecretKey::from_slice(master.expose()).ok_or(Error::WrongPassword)
    }

    fn master_by_recovery(&self, phrase: &RecoveryPhrase) -> Result<SecretKey> {
        let master = self
            .by_recovery
            .open(&phrase.wrapping_key()?, &recovery_ad())
            .map_err(|_| Error::WrongRecoveryPhrase)?;
        SecretKey::from_slice(master.expose()).ok_or(Error::WrongRecoveryPhrase)
    }

    /// Replaces the password wrap; nothing is assigned until everything succeeded.
    fn set_password(
        &mut self,
        master: &SecretKey,
        password: &str,
        params: Argon2Params,
    ) -> Result<()> {
        let (salt, by_password) = wrap_under_password(master, password, params)?;
        self.params = params;
        self.salt = salt;
        self.by_password = by_password;
        Ok(())
    }
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("params", &self.params)
            .field("payload_len", &self.payload_len)
            .finish_non_exhaustive()
    }
}

fn check_new_password(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::InvalidArgument("the password is empty".into()));
    }
    Ok(())
}

fn check_payload(payload: &[u8]) -> Result<()> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::InvalidArgument(format!(
            "a keystore payload holds at most {} bytes, got {}",
            MAX_PAYLOAD_LEN,
            payload.len()
        )));
    }
    Ok(())
}

fn write_header(w: &mut Writer, params: Argon2Params, salt: &[u8; SALT_LEN]) {
    w.u32(params.memory_kib)
        .u32(params.passes)
        .u32(params.lanes)
        .fixed(salt);
}

/// `label || 0x00 || version || kind`.
fn ad_start(label: &[u8]) -> Writer {
    let mut w = Writer::raw();
    w.fixed(label)
        .u8(0)
        .u8(wire::VERSION)
        .u8(Kind::Keystore as u8);
    w
}

fn password_ad(params: Argon2Params, salt: &[u8; SALT_LEN]) -> Vec<u8> {
    let mut w = ad_start(AD_MASTER_BY_PASSWORD);
    write_header(&mut w, params, salt);
    w.finish()
}

fn recovery_ad() -> Vec<u8> {
    ad_start(AD_MASTER_BY_RECOVERY).finish()
}

fn payload_ad(by_recovery: &SealedBox) -> Vec<u8> {
    let mut w = ad_start(AD_PAYLOAD);
    by_recovery.write(&mut w);
    w.finish()
}

/// The password key under parameters the caller chose (a new wrap).
fn password_key(password: &str, salt: &[u8; SALT_LEN], params: Argon2Params) -> Result<SecretKey> {
    let hash = password::derive(password.as_bytes(), salt, params)?;
    Ok(kdf::derive_key(
        hash.expose(),
        b"",
        LABEL_PASSWORD_KEY,
        &[],
    )?)
}

/// A fresh salt and the master key sealed under `password`.
fn wrap_under_password(
    master: &SecretKey,
    password: &str,
    params: Argon2Params,
) -> Result<([u8; SALT_LEN], SealedBox)> {
    let salt = random::array::<SALT_LEN>()?;
    let key = password_key(password, &salt, params)?;
    let sealed = SealedBox::seal(&key, master.expose(), &password_ad(params, &salt))?;
    Ok((salt, sealed))
}

fn payload_key(master: &SecretKey) -> Result<SecretKey> {
    Ok(kdf::derive_key(
        master.expose(),
        b"",
        LABEL_PAYLOAD_KEY,
        &[],
    )?)
}

fn seal_payload(master: &SecretKey, payload: &[u8], by_recovery: &SealedBox) -> Result<SealedBox> {
    Ok(SealedBox::seal(
        &payload_key(master)?,
        payload,
        &payload_ad(by_recovery),
    )?)
}

fn open_payload(
    master: &SecretKey,
    payload: &SealedBox,
    by_recovery: &SealedBox,
) -> Result<SecretBytes> {
    payload
        .open(&payload_key(master)?, &payload_ad(by_recovery))
        .map_err(|_| Error::DecryptionFailed)
}
