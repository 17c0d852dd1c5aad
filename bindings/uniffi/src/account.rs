//! Accounts: creation, the password-protected keystore, recovery, safety numbers.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Result, wiped};
use crate::records::IdentityCard;

use sealshare::system_time as now;

/// A user's account: handle and keys. Holds secrets: call `wipe()` when done
/// (for example when the app locks); every later call then fails with `Wiped`.
#[derive(uniffi::Object)]
pub struct Account {
    inner: Mutex<Option<sealshare::Account>>,
}

impl Account {
    fn wrap(account: sealshare::Account) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Some(account)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<sealshare::Account>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the account for a session (the copy is wiped with the session).
    pub(crate) fn copy(&self) -> Result<sealshare::Account> {
        let guard = self.lock();
        let account = guard.as_ref().ok_or_else(|| wiped("account"))?;
        Ok(account.duplicate()?)
    }
}

#[uniffi::export]
impl Account {
    /// A new account with fresh keys (kept in memory only; see `ProtectedAccount`).
    #[uniffi::constructor]
    pub fn create(handle: String) -> Result<Arc<Self>> {
        Ok(Self::wrap(sealshare::Account::create(&handle, now())?))
    }

    /// Opens an account from its keystore with the password (`WrongPassword` otherwise).
    #[uniffi::constructor]
    pub fn unlock(keystore: Vec<u8>, password: String) -> Result<Arc<Self>> {
        let keystore = sealshare::Keystore::from_bytes(&keystore)?;
        Ok(Self::wrap(sealshare::Account::unlock(
            &keystore, &password,
        )?))
    }

    /// Opens an account from its keystore with the 24-word recovery phrase.
    #[uniffi::constructor]
    pub fn recover(keystore: Vec<u8>, recovery_phrase: String) -> Result<Arc<Self>> {
        let keystore = sealshare::Keystore::from_bytes(&keystore)?;
        let phrase = sealshare::RecoveryPhrase::parse(&recovery_phrase)?;
        Ok(Self::wrap(sealshare::Account::recover(&keystore, &phrase)?))
    }

    /// The public identity card.
    pub fn identity(&self) -> Result<IdentityCard> {
        let guard = self.lock();
        let account = guard.as_ref().ok_or_else(|| wiped("account"))?;
        Ok(IdentityCard::from_core(account.identity()))
    }

    /// Zeroizes the account's keys now.
    pub fn wipe(&self) {
        self.lock().take();
    }
}

/// A new account with its password-protected keystore and its recovery phrase.
#[derive(uniffi::Object)]
pub struct ProtectedAccount {
    account: Arc<Account>,
    keystore: Vec<u8>,
    phrase: Mutex<Option<sealshare::RecoveryPhrase>>,
}

#[uniffi::export]
impl ProtectedAccount {
    /// Creates an account and its keystore, its password hashed with Argon2id
    /// under `profile` (`Interactive`, about 64 MiB, for most phones;
    /// `Constrained`, 32 MiB, for small ones).
    #[uniffi::constructor]
    pub fn create(handle: String, password: String, profile: KdfProfile) -> Result<Arc<Self>> {
        let (account, keystore, phrase) = sealshare::Account::create_protected(
            &handle,
            now(),
            &password,
            sealshare::KdfProfile::from(profile),
        )?;
        Ok(Arc::new(Self {
            account: Account::wrap(account),
            keystore: keystore.to_bytes(),
            phrase: Mutex::new(Some(phrase)),
        }))
    }

    /// The account.
    pub fn account(&self) -> Arc<Account> {
        self.account.clone()
    }

    /// The keystore to store (encrypted under the password and the recovery phrase).
    pub fn keystore(&self) -> Vec<u8> {
        self.keystore.clone()
    }

    /// The recovery phrase, to show the user once; it is wiped from here as it
    /// is returned.
    pub fn take_recovery_phrase(&self) -> Result<String> {
        let phrase = self
            .phrase
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| wiped("recovery phrase"))?;
        Ok(phrase.words().as_str().to_owned())
    }

    /// Zeroizes the account and the phrase now.
    pub fn wipe(&self) {
        self.account.wipe();
        self.phrase.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// The safety number of two cards, the same on both sides, as digit groups.
#[uniffi::export]
pub fn safety_number(mine: IdentityCard, theirs: IdentityCard) -> Result<String> {
    Ok(mine.to_core()?.safety_number(&theirs.to_core()?).digits())
}

/// Decodes a card received from anywhere, verifying its self-signature.
#[uniffi::export]
pub fn parse_identity_card(card: Vec<u8>) -> Result<IdentityCard> {
    let card = sealshare::Identity::from_bytes(&card)?;
    Ok(IdentityCard::from_core(&card))
}

/// How much memory and time hashing the password takes: the more, the dearer
/// each guess for whoever holds a copy of the keystore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum KdfProfile {
    /// 32 MiB, 6 passes: for devices short of memory.
    Constrained,
    /// 64 MiB, 3 passes: for most phones.
    Interactive,
    /// 256 MiB, 3 passes.
    Moderate,
    /// 1 GiB, 4 passes.
    Sensitive,
}

impl From<KdfProfile> for sealshare::KdfProfile {
    fn from(p: KdfProfile) -> Self {
        match p {
            KdfProfile::Constrained => Self::Constrained,
            KdfProfile::Interactive => Self::Interactive,
            KdfProfile::Moderate => Self::Moderate,
            KdfProfile::Sensitive => Self::Sensitive,
        }
    }
}
