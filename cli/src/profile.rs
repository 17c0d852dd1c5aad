//! A user's profile folder: their keystore, their trust store and their
//! collections' checkpoints, the last two sealed under the account.

use std::path::{Path, PathBuf};

use sealshare::{
    Account, Client, Collection, CollectionId, Error, Keystore, RecoveryPhrase, Result,
    TrustRestored,
};
use sealshare::{Argon2Budget, Argon2Params, KdfProfile};

use sealshare_http::SignInSecret;

use crate::backend::{Backend, Place};

/// An unlocked profile: its folder and a client on the store or server.
pub(crate) struct Profile {
    dir: PathBuf,
    pub client: Client,
    pub backend: Backend,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The Argon2id parameters for new keystores. The default is the Constrained
/// profile (32 MiB, 6 passes: as much memory-time per guess as Interactive's
/// 64 MiB x 3, so a command peaks under 64 MiB) in two lanes, which unlock on two
/// cores in about half the time for the same cost to an attacker.
/// `SEALSHARE_KDF` picks a named profile instead.
pub(crate) fn kdf_params() -> Result<Argon2Params> {
    let Some(name) = std::env::var_os("SEALSHARE_KDF") else {
        return Ok(Argon2Params {
            lanes: 2,
            ..Argon2Params::CONSTRAINED
        });
    };
    match name.to_str() {
        Some("interactive") => Ok(KdfProfile::Interactive.params()),
        Some("moderate") => Ok(KdfProfile::Moderate.params()),
        Some("sensitive") => Ok(KdfProfile::Sensitive.params()),
        Some("constrained") => Ok(KdfProfile::Constrained.params()),
        _ => Err(Error::InvalidArgument(format!(
            "SEALSHARE_KDF is {name:?}; use interactive, moderate, sensitive or constrained \
             (or unset it for the default)"
        ))),
    }
}

/// The most Argon2id work an unlock pays for the parameters a keystore file
/// claims: the library's default budget (up to the Moderate profile), or the
/// Sensitive profile's when `SEALSHARE_KDF=sensitive` says the user pays that
/// much, so a keystore made that way unlocks with the same setting.
pub(crate) fn kdf_budget() -> Argon2Budget {
    match std::env::var_os("SEALSHARE_KDF") {
        Some(name) if name == "sensitive" => Argon2Budget::SENSITIVE,
        _ => Argon2Budget::DEFAULT,
    }
}

impl Profile {
    /// Creates the account, its keystore, and, if `publish`, publishes its
    /// card and registers sign-in on a server. Returns the recovery phrase
    /// to show once.
    pub(crate) fn create(
        dir: &Path,
        place: &Place,
        handle: &str,
        password: &str,
        now: u64,
        publish: bool,
    ) -> Result<(Self, RecoveryPhrase)> {
        if dir.join("keystore").exists() {
            return Err(Error::InvalidArgument(format!(
                "a profile already exists in {}",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir.join("collections"))?;
        let (account, keystore, phrase) =
            Account::create_protected(handle, now, password, kdf_params()?)?;
        let backend = place.connect(Some(&account))?;
        if publish {
            backend.publish_card(account.identity())?;
            // On a server, a new device can then sign in with the password or
            // the recovery phrase (`sealshare account sign-in`).
            backend.register_keystore(&keystore, SignInSecret::Password(password))?;
            backend.register_keystore(&keystore, SignInSecret::RecoveryPhrase(&phrase))?;
        }
        write_atomic(&dir.join("keystore"), keystore.to_text().as_bytes())?;
        let mut profile = Self {
            dir: dir.to_owned(),
            client: Client::new(account, backend.remote()),
            backend,
        };
        profile.save()?;
        Ok((profile, phrase))
    }

    /// Brings the account `handle` onto a new profile in `dir` from the
    /// server at `place`: signs in with `secret` (OPAQUE), checks that the
    /// keystore it releases opens, and writes it. With the recovery phrase,
    /// the keystore is given `new_password` and registered again for it.
    pub(crate) fn sign_in(
        dir: &Path,
        place: &Place,
        handle: &str,
        secret: SignInSecret<'_>,
        new_password: Option<&str>,
    ) -> Result<()> {
        if dir.join("keystore").exists() {
            return Err(Error::InvalidArgument(format!(
                "a profile already exists in {}",
                dir.display()
            )));
        }
        let Backend::Server(remote) = place.connect(None)? else {
            return Err(Error::InvalidArgument(
                "signing in needs a server: give --server URL (or SEALSHARE_SERVER)".into(),
            ));
        };
        let mut keystore = remote.sign_in(handle, secret)?;
        let account = match (secret, new_password) {
            (SignInSecret::Password(password), _) => {
                Account::unlock_within(&keystore, password, kdf_budget())?
            }
            (SignInSecret::RecoveryPhrase(phrase), Some(new)) => {
                let params = keystore.params();
                keystore.recover_and_set_password(phrase, new, params)?;
                let account = Account::unlock_within(&keystore, new, kdf_budget())?;
                place
                    .connect(Some(&account))?
                    .register_keystore(&keystore, SignInSecret::Password(new))?;
                account
            }
            (SignInSecret::RecoveryPhrase(_), None) => {
                return Err(Error::InvalidArgument(
                    "signing in with the recovery phrase sets a new password".into(),
                ));
            }
        };
        if account.identity().handle() != handle {
            return Err(Error::Remote(format!(
                "the server released {:?}'s keystore for {handle:?}",
                account.identity().handle()
            )));
        }
        std::fs::create_dir_all(dir.join("collections"))?;
        write_atomic(&dir.join("keystore"), keystore.to_text().as_bytes())?;
        Ok(())
    }

    /// Unlocks the profile in `dir` with the password.
    pub(crate) fn unlock(dir: &Path, place: &Place, password: &str) -> Result<Self> {
        let text = std::fs::read_to_string(dir.join("keystore")).map_err(|e| {
            Error::NotFound(format!(
                "no profile in {} ({e}); create one with `sealshare account create`",
                dir.display()
            ))
        })?;
        let keystore = Keystore::from_text(text.trim())?;
        let account = Account::unlock_within(&keystore, password, kdf_budget())?;
        let backend = place.connect(Some(&account))?;
        let mut client = Client::new(account, backend.remote());
        let trust_path = dir.join("trust");
        let saved = if trust_path.exists() {
            Some(std::fs::read(&trust_path)?)
        } else {
            None
        };
        // The profile keeps collections' checkpoints in files of their own:
        // the saved state holds the trust store alone.
        // One that does not open (altered, or written by an older version)
        // is treated as missing: the keystore's generation then reports it,
        // every verified mark is dropped and the user is told, which is what
        // deleting the file would do.
        let (restored, _) = match client.restore_state(saved.as_deref()) {
            Ok(restored) => restored,
            Err(e) => {
                eprintln!(
                    "warning: the saved trust store {} does not open ({e}); starting without it",
                    trust_path.display()
                );
                client.restore_state(None)?
            }
        };
        match restored {
            TrustRestored::Current => {}
            TrustRestored::RolledBack { saved, expected } => eprintln!(
                "warning: the saved trust store is older than the last one saved \
                 (generation {saved}, expected {expected}): every card is now unverified; \
                 compare safety numbers again (`sealshare verify`)."
            ),
            TrustRestored::Missing { expected } => eprintln!(
                "warning: the saved trust store is missing (expected generation {expected}): \
                 every card is unpinned; compare safety numbers again (`sealshare verify`)."
            ),
        }
        Ok(Self {
            dir: dir.to_owned(),
            client,
            backend,
        })
    }

    /// Seals and writes the trust store, then, if it changed, the keystore with
    /// the trust generation it expects (in that order: see `Client::save_trust`).
    pub(crate) fn save(&mut self) -> Result<()> {
        let before = self.client.account().trust_generation();
        let sealed = self.client.save_state([])?;
        write_atomic(&self.dir.join("trust"), &sealed)?;
        if self.client.account().trust_generation() != before {
            let path = self.dir.join("keystore");
            let text = std::fs::read_to_string(&path)?;
            let mut keystore = Keystore::from_text(text.trim())?;
            self.client.account().reseal_keystore(&mut keystore)?;
            write_atomic(&path, keystore.to_text().as_bytes())?;
        }
        Ok(())
    }

    fn checkpoint_path(&self, id: &CollectionId) -> PathBuf {
        self.dir
            .join("collections")
            .join(format!("{}.ckpt", id.to_text()))
    }

    /// Writes a collection's checkpoint.
    pub(crate) fn save_collection(&self, c: &Collection) -> Result<()> {
        write_atomic(
            &self.checkpoint_path(&c.id()),
            &c.to_checkpoint(self.client.account())?,
        )
    }

    /// The collections this profile keeps checkpoints of.
    pub(crate) fn known(&self) -> Result<Vec<CollectionId>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir.join("collections"))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".ckpt")
                && let Ok(id) = CollectionId::from_text(id)
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Opens a collection: from its checkpoint (verifying only what is new) or
    /// from the store (verifying the whole log).
    pub(crate) fn collection(&mut self, id: CollectionId) -> Result<Collection> {
        let mut c = match self.saved(id)? {
            Some(c) => c,
            None => Collection::open(&mut self.client, id)?,
        };
        c.sync(&mut self.client)?;
        Ok(c)
    }

    /// The collection as this device last verified it, if it did.
    pub(crate) fn saved(&self, id: CollectionId) -> Result<Option<Collection>> {
        let path = self.checkpoint_path(&id);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path)?;
        Collection::from_checkpoint(self.client.account(), &bytes)
            .map(Some)
            .map_err(|e| {
                Error::InvalidArgument(format!(
                    "the saved state {} is corrupted ({e}); delete it to re-verify from the store",
                    path.display()
                ))
            })
    }

    /// Finds a collection by id, or by name among those this user can see.
    ///
    /// A collection this device verified before and that no longer verifies
    /// (the store forked, rolled back or altered its log, or a member's key
    /// changed) is never skipped in silence: if it had the name asked for, its
    /// error is the answer; if nothing else has the name, the answer names it.
    pub(crate) fn resolve(&mut self, reference: &str) -> Result<Collection> {
        if let Ok(id) = CollectionId::from_text(reference) {
            return self.collection(id);
        }
        let mut found = Vec::new();
        let mut trouble = None;
        let known = self.known()?;
        for &id in &known {
            let mut c = match self.saved(id) {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    trouble.get_or_insert((id, e));
                    continue;
                }
            };
            let had_the_name = c.name().is_ok_and(|n| n == reference);
            match c.sync(&mut self.client) {
                Ok(_) if c.name().is_ok_and(|n| n == reference) => found.push(c),
                Ok(_) => {}
                Err(e) if had_the_name => return Err(e),
                Err(e) => {
                    trouble.get_or_insert((id, e));
                }
            }
        }
        let mut unopened = None;
        for id in self
            .backend
            .collections_of(self.client.account().handle())?
        {
            if known.contains(&id) {
                continue;
            }
            // Listed for this user but not opened on this device yet: one
            // that does not verify may be the one asked for, so it is named
            // if nothing else is found.
            match Collection::open(&mut self.client, id) {
                Ok(c) if c.name().is_ok_and(|n| n == reference) => found.push(c),
                Ok(_) => {}
                Err(e) => {
                    unopened.get_or_insert((id, e));
                }
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(match (trouble, unopened) {
                (None, None) => Error::NotFound(format!(
                    "no collection named {reference:?} that you can read"
                )),
                (None, Some((id, e))) => Error::NotFound(format!(
                    "no collection named {reference:?} that you can read; collection {id}, \
                     which the store lists for you, does not verify ({e}) and may be the one"
                )),
                (Some((id, e)), _) => Error::NotFound(format!(
                    "no collection named {reference:?} that you can read; collection {id}, \
                     verified on this device before, no longer verifies ({e}) and may be the one"
                )),
            }),
            n => Err(Error::InvalidArgument(format!(
                "{n} collections are named {reference:?}: use the id (see `sealshare collection list`)"
            ))),
        }
    }
}
