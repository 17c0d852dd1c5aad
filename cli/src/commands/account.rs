//! Accounts and identities: create (published, or not for an operator's
//! account reset), unlock, show, change the password, recover; write the
//! card for a reset, register sign-in on a server; export and import a card;
//! compare and confirm a safety number.

use sealshare::{Error, Identity, Result};
use sealshare_http::SignInSecret;
use serde_json::json;

use super::{now, password, place, profile_dir, say, secret_input, unlock};
use crate::profile::{Profile, kdf_budget, kdf_params};
use crate::{AccountCmd, Cli, IdentityCmd};

/// `sealshare account ...`
pub(super) fn account(cli: &Cli, cmd: &AccountCmd) -> Result<()> {
    match cmd {
        AccountCmd::Create { handle, no_publish } => {
            let pw = password("new password")?;
            let (p, phrase) = Profile::create(
                &profile_dir(cli),
                &place(cli)?,
                handle,
                &pw,
                now(),
                !*no_publish,
            )?;
            let card = p.client.account().identity();
            say!("created {} ({})", card.handle(), profile_dir(cli).display());
            say!("fingerprint: {}", card.fingerprint());
            say!(
                "recovery phrase (write it down, it is shown once):\n  {}",
                phrase.words().as_str()
            );
            if *no_publish {
                say!(
                    "not published: write the card with `sealshare account card --out FILE` for \
                     the server's operator, who resets the account to it \
                     (`sealshare-server reset-account`); then run \
                     `sealshare account register-sign-in --recovery`"
                );
            }
            Ok(())
        }
        AccountCmd::Card { out } => {
            let p = unlock(cli)?;
            let card = p.client.account().identity();
            std::fs::write(out, card.to_bytes())?;
            say!(
                "wrote the card of {} to {} (fingerprint {})",
                card.handle(),
                out.display(),
                card.fingerprint()
            );
            Ok(())
        }
        AccountCmd::RegisterSignIn { recovery } => register_sign_in(cli, *recovery),
        AccountCmd::SignIn { handle, recovery } => {
            let dir = profile_dir(cli);
            if *recovery {
                let phrase = sealshare::RecoveryPhrase::parse(&secret_input(
                    "SEALSHARE_RECOVERY_PHRASE",
                    "recovery phrase",
                )?)?;
                let new = secret_input("SEALSHARE_NEW_PASSWORD", "new password")?;
                Profile::sign_in(
                    &dir,
                    &place(cli)?,
                    handle,
                    SignInSecret::RecoveryPhrase(&phrase),
                    Some(&new),
                )?;
            } else {
                let pw = password("password")?;
                Profile::sign_in(
                    &dir,
                    &place(cli)?,
                    handle,
                    SignInSecret::Password(&pw),
                    None,
                )?;
            }
            say!("signed in as {handle} on this profile ({})", dir.display());
            Ok(())
        }
        AccountCmd::Show => {
            let p = unlock(cli)?;
            let card = p.client.account().identity();
            if cli.json {
                say!(
                    "{}",
                    json!({"handle": card.handle(), "fingerprint": card.fingerprint().digits()})
                );
            } else {
                say!("{}\nfingerprint: {}", card.handle(), card.fingerprint());
            }
            Ok(())
        }
        AccountCmd::Unlock => {
            let p = unlock(cli)?;
            let handle = p.client.account().identity().handle().to_owned();
            if cli.json {
                say!("{}", json!({"handle": handle, "unlocked": true}));
            } else {
                say!("unlocked {handle}: the password opens the keystore and the saved state");
            }
            Ok(())
        }
        AccountCmd::ChangePassword => {
            let dir = profile_dir(cli);
            let path = dir.join("keystore");
            let mut keystore =
                sealshare::Keystore::from_text(std::fs::read_to_string(&path)?.trim())?;
            let old = password("current password")?;
            let new = secret_input("SEALSHARE_NEW_PASSWORD", "new password")?;
            let params = keystore.params();
            keystore.change_password_within(&old, &new, params, kdf_budget())?;
            register_again(cli, &keystore, &new)?;
            std::fs::write(&path, keystore.to_text())?;
            say!("password changed (one key re-wrapped; nothing else re-encrypted)");
            Ok(())
        }
        AccountCmd::Recover => {
            let path = profile_dir(cli).join("keystore");
            let mut keystore =
                sealshare::Keystore::from_text(std::fs::read_to_string(&path)?.trim())?;
            let phrase = sealshare::RecoveryPhrase::parse(&secret_input(
                "SEALSHARE_RECOVERY_PHRASE",
                "recovery phrase",
            )?)?;
            let new = secret_input("SEALSHARE_NEW_PASSWORD", "new password")?;
            // The stored parameters come from the file: kept only if an unlock
            // would pay them, else the parameters a new keystore gets.
            let stored = keystore.params();
            let params = if stored.check_within(&kdf_budget()).is_ok() {
                stored
            } else {
                kdf_params()?
            };
            keystore.recover_and_set_password(&phrase, &new, params)?;
            register_again(cli, &keystore, &new)?;
            std::fs::write(&path, keystore.to_text())?;
            say!("recovered: the new password unlocks the account");
            Ok(())
        }
    }
}

/// On a server, registers the keystore again for its new password, so that
/// a new device signs in with it (and no longer with the old one).
fn register_again(cli: &Cli, keystore: &sealshare::Keystore, password: &str) -> Result<()> {
    if cli.server.is_none() {
        return Ok(());
    }
    let account = sealshare::Account::unlock_within(keystore, password, kdf_budget())?;
    place(cli)?
        .connect(Some(&account))?
        .register_keystore(keystore, SignInSecret::Password(password))
}

/// `sealshare account register-sign-in [--recovery]`: publishes the card if
/// the server has none for the handle (it is already there after an
/// account reset), then registers the keystore for the password and, with
/// `recovery`, for the recovery phrase, checked against the keystore first.
fn register_sign_in(cli: &Cli, recovery: bool) -> Result<()> {
    if cli.server.is_none() {
        return Err(Error::InvalidArgument(
            "signing in is registered on a server: give --server URL (or SEALSHARE_SERVER)".into(),
        ));
    }
    let path = profile_dir(cli).join("keystore");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::NotFound(format!(
            "no profile in {} ({e}); create one with `sealshare account create`",
            profile_dir(cli).display()
        ))
    })?;
    let keystore = sealshare::Keystore::from_text(text.trim())?;
    let pw = password("password")?;
    let account = sealshare::Account::unlock_within(&keystore, &pw, kdf_budget())?;
    let phrase = if recovery {
        let phrase = sealshare::RecoveryPhrase::parse(&secret_input(
            "SEALSHARE_RECOVERY_PHRASE",
            "recovery phrase",
        )?)?;
        // The phrase must open this keystore: else a device that signs in
        // with it could not recover the account.
        keystore
            .clone()
            .recover_and_set_password(&phrase, &pw, keystore.params())?;
        Some(phrase)
    } else {
        None
    };
    let card = account.identity();
    let backend = place(cli)?.connect(Some(&account))?;
    let handle = card.handle();
    // Already there after the operator's reset (the server answers that it
    // has it); published now if the handle had no card; refused if it has
    // another.
    match backend.publish_card(card) {
        Ok(()) => {}
        Err(Error::Remote(message)) if message.contains("card_exists") => {
            return Err(Error::Remote(format!(
                "{message}\nThe server publishes another card for {handle}: until its operator \
                 resets the account to this one (`sealshare account card --out FILE`, then \
                 `sealshare-server reset-account`), this account cannot use it."
            )));
        }
        Err(e) => return Err(e),
    }
    backend.register_keystore(&keystore, SignInSecret::Password(&pw))?;
    if let Some(phrase) = &phrase {
        backend.register_keystore(&keystore, SignInSecret::RecoveryPhrase(phrase))?;
    }
    say!(
        "registered sign-in for {handle} with the password{}: a new device signs in with \
         `sealshare account sign-in {handle}`",
        if phrase.is_some() {
            " and the recovery phrase"
        } else {
            ""
        }
    );
    Ok(())
}

/// `sealshare identity ...`
pub(super) fn identity(cli: &Cli, cmd: &IdentityCmd) -> Result<()> {
    match cmd {
        IdentityCmd::Export => {
            let p = unlock(cli)?;
            say!("{}", p.client.account().identity().to_text());
            Ok(())
        }
        IdentityCmd::Import { file } => {
            let mut p = unlock(cli)?;
            let card = Identity::from_text(std::fs::read_to_string(file)?.trim())?;
            p.client.observe(&card)?;
            p.save()?;
            say!("pinned {} ({})", card.handle(), card.fingerprint());
            Ok(())
        }
    }
}

/// `sealshare verify HANDLE [--confirm] [--confirm-change]`: the safety number
/// with a pinned card; `--confirm-change` first makes the store's card the
/// pinned one if it differs.
pub(super) fn verify(cli: &Cli, handle: &str, confirm: bool, confirm_change: bool) -> Result<()> {
    let mut p = unlock(cli)?;
    let card = p.backend.card(handle)?;
    match p.client.observe(&card) {
        Err(Error::KeyChanged { pinned, .. }) if confirm_change => {
            let t = now();
            p.client.trust_mut().confirm_changed_key(&card, t);
            say!(
                "confirmed a new key for {handle}:\n  was: {}\n  now: {}",
                pinned.fingerprint(),
                card.fingerprint()
            );
        }
        other => {
            other?;
        }
    }
    let number = p.client.account().identity().safety_number(&card);
    if confirm {
        let t = now();
        p.client
            .trust_mut()
            .mark_verified(handle, &card.fingerprint(), t)?;
    }
    if cli.json {
        say!(
            "{}",
            json!({"handle": handle, "safety_number": number.to_string(), "verified": confirm})
        );
    } else {
        say!("safety number with {handle}:\n  {number}");
        if confirm {
            say!("marked {handle} verified");
        } else {
            say!("compare it with {handle} in person, then run again with --confirm");
        }
    }
    p.save()
}
