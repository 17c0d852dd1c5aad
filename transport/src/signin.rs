//! Signing in on a new device (docs/server.md §Signing in): the server keeps
//! a handle's keystore in a *locker* it cannot open, and releases it only to
//! a client that proves it knows the password, or the recovery phrase, by
//! OPAQUE (RFC 9807, the `opaque-ke` crate).
//!
//! - Registration (signed by the account): the client runs OPAQUE's
//!   registration with the secret and seals the keystore under a key derived
//!   from OPAQUE's export key, which only a client knowing the secret (and
//!   running the protocol with this server) can compute again. The server
//!   stores the OPAQUE record and the locker.
//! - Sign-in (no account yet, so unsigned): the client runs OPAQUE's login;
//!   once it proves the secret, the server releases the locker, and the
//!   client opens it with the export key of that login and then unlocks the
//!   keystore as on any device (Argon2id with the keystore's own parameters,
//!   refused below the core's floor whatever the server sent).
//!
//! The locker's key is HKDF-SHA256 of the export key with the info
//! `"sealshare/v1/signin-locker" || 0x00 || kind || 0x00 || handle` (kind
//! `password` or `recovery`), and the locker is `nonce[12] ||
//! ChaCha20-Poly1305(key, nonce, keystore, aad = handle)`. The label lives here,
//! not in the core's `labels.rs`, because the construction lives outside the
//! core; SPEC.md §Signing in lists it with the others.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use opaque_ke::{
    ClientLogin, ClientLoginFinishParameters, ClientRegistration,
    ClientRegistrationFinishParameters, CredentialResponse, RegistrationResponse,
};
use rand_core::{OsRng, RngCore};
use sealshare::{Error, Keystore, RecoveryPhrase, Result, body_digest};
use zeroize::Zeroizing;

use crate::HttpRemote;
use crate::http::{Method, expect, malformed, read_body, segment};
use crate::signing::As;

/// The OPAQUE configuration, the same on the server: ristretto255 with
/// SHA-512 and 3DH, and Argon2id (19 MiB, 2 passes, 1 lane: the core's
/// floor) as the key-stretching function, fixed by the client.
pub(crate) struct Suite;

impl opaque_ke::CipherSuite for Suite {
    type OprfCs = opaque_ke::Ristretto255;
    type KeyExchange = opaque_ke::TripleDh<opaque_ke::Ristretto255, sha2::Sha512>;
    type Ksf = argon2::Argon2<'static>;
}

/// The largest locker accepted: a keystore is a few hundred bytes.
const MAX_LOCKER: u64 = 64 * 1024;
/// The largest OPAQUE message read.
const MAX_MESSAGE: u64 = 4 * 1024;
const LOCKER_LABEL: &str = "sealshare/v1/signin-locker";

/// What proves the user: the account's password, or its recovery phrase.
#[derive(Clone, Copy)]
pub enum SignInSecret<'a> {
    /// The password.
    Password(&'a str),
    /// The 24-word recovery phrase.
    RecoveryPhrase(&'a RecoveryPhrase),
}

impl SignInSecret<'_> {
    fn kind(self) -> &'static str {
        match self {
            SignInSecret::Password(_) => "password",
            SignInSecret::RecoveryPhrase(_) => "recovery",
        }
    }

    fn bytes(self) -> Zeroizing<Vec<u8>> {
        match self {
            SignInSecret::Password(p) => Zeroizing::new(p.as_bytes().to_vec()),
            SignInSecret::RecoveryPhrase(phrase) => {
                Zeroizing::new(phrase.words().as_bytes().to_vec())
            }
        }
    }
}

fn path(handle: &str, kind: &str, step: &str) -> String {
    format!("/v1/accounts/{}/signin/{kind}/{step}", segment(handle))
}

fn ksf() -> argon2::Argon2<'static> {
    argon2::Argon2::default()
}

fn protocol(e: opaque_ke::errors::ProtocolError) -> Error {
    match e {
        opaque_ke::errors::ProtocolError::InvalidLoginError => Error::WrongPassword,
        other => malformed(format!("sign-in: {other}")),
    }
}

fn locker_cipher(export_key: &[u8], kind: &str, handle: &str) -> Result<ChaCha20Poly1305> {
    let mut info = Vec::with_capacity(LOCKER_LABEL.len() + kind.len() + handle.len() + 2);
    info.extend_from_slice(LOCKER_LABEL.as_bytes());
    info.push(0);
    info.extend_from_slice(kind.as_bytes());
    info.push(0);
    info.extend_from_slice(handle.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<sha2::Sha256>::new(None, export_key)
        .expand(&info, key.as_mut())
        .map_err(|_| Error::Bug("HKDF output of 32 bytes refused"))?;
    Ok(ChaCha20Poly1305::new(Key::from_slice(key.as_ref())))
}

impl HttpRemote {
    /// Lets `keystore` be released to a new device that proves `secret`
    /// (the account's password, or its recovery phrase), replacing what was
    /// registered for that secret's kind before. Signed as this remote's
    /// account, which must be the keystore's: call it after creating the
    /// account, after changing the password, and once with the recovery
    /// phrase. The server learns neither the secret nor the keystore.
    pub fn register_keystore(&self, keystore: &Keystore, secret: SignInSecret<'_>) -> Result<()> {
        let handle = self.account_handle()?;
        let kind = secret.kind();
        let password = secret.bytes();
        let mut rng = OsRng;
        let start = ClientRegistration::<Suite>::start(&mut rng, &password).map_err(protocol)?;
        let request = start.message.serialize().to_vec();
        let response = self.send(
            Method::Post,
            &path(&handle, kind, "register/start"),
            &request,
            body_digest(&request),
            As::Account,
        )?;
        let response = read_body(expect(response, &[200])?, MAX_MESSAGE)?;
        let response = RegistrationResponse::<Suite>::deserialize(&response)
            .map_err(|e| malformed(format!("registration response: {e}")))?;
        let ksf = ksf();
        let finish = start
            .state
            .finish(
                &mut rng,
                &password,
                response,
                ClientRegistrationFinishParameters::new(Default::default(), Some(&ksf)),
            )
            .map_err(protocol)?;
        let upload = finish.message.serialize().to_vec();
        let locker = seal_locker(&finish.export_key, kind, &handle, &keystore.to_bytes())?;
        let upload_len = u32::try_from(upload.len())
            .map_err(|_| Error::Bug("registration upload over 4 GiB"))?;
        let mut body = Vec::with_capacity(4 + upload.len() + locker.len());
        body.extend_from_slice(&upload_len.to_be_bytes());
        body.extend_from_slice(&upload);
        body.extend_from_slice(&locker);
        let response = self.send(
            Method::Post,
            &path(&handle, kind, "register/finish"),
            &body,
            body_digest(&body),
            As::Account,
        )?;
        expect(response, &[200, 201]).map(|_| ())
    }

    /// Signs in as `handle` on a new device: proves `secret` to the server
    /// by OPAQUE and returns the keystore it releases, for the caller to
    /// unlock (`Account::unlock` with the password, `Account::recover` with
    /// the phrase). A wrong secret is `Error::WrongPassword`, and the server
    /// counts it against its limit on attempts.
    pub fn sign_in(&self, handle: &str, secret: SignInSecret<'_>) -> Result<Keystore> {
        let kind = secret.kind();
        let password = secret.bytes();
        let mut rng = OsRng;
        let start = ClientLogin::<Suite>::start(&mut rng, &password).map_err(protocol)?;
        let request = start.message.serialize().to_vec();
        let response = self.send_signed(
            Method::Post,
            &path(handle, kind, "login/start"),
            &request,
            None,
        )?;
        let answer = read_body(expect(response, &[200])?, MAX_MESSAGE)?;
        let (login_id, response) = answer
            .split_at_checked(16)
            .ok_or_else(|| malformed("login answer shorter than its id".into()))?;
        let response = CredentialResponse::<Suite>::deserialize(response)
            .map_err(|e| malformed(format!("credential response: {e}")))?;
        let ksf = ksf();
        let finish = start
            .state
            .finish(
                &mut rng,
                &password,
                response,
                ClientLoginFinishParameters::new(None, Default::default(), Some(&ksf)),
            )
            .map_err(protocol)?;
        let mut body = login_id.to_vec();
        body.extend_from_slice(&finish.message.serialize());
        let response = self.send_signed(
            Method::Post,
            &path(handle, kind, "login/finish"),
            &body,
            None,
        )?;
        if response.status().as_u16() == 401 {
            return Err(Error::WrongPassword);
        }
        let locker = read_body(expect(response, &[200])?, MAX_LOCKER)?;
        let bytes = open_locker(&finish.export_key, kind, handle, &locker)?;
        Ok(Keystore::from_bytes(&bytes)?)
    }

    fn account_handle(&self) -> Result<String> {
        match self.account.as_ref().map(|s| s.principal().clone()) {
            Some(sealshare::Principal::Account { handle }) => Ok(handle),
            _ => Err(Error::InvalidArgument(
                "registering a keystore needs a remote signing as its account".into(),
            )),
        }
    }
}

fn seal_locker(export_key: &[u8], kind: &str, handle: &str, keystore: &[u8]) -> Result<Vec<u8>> {
    let cipher = locker_cipher(export_key, kind, handle)?;
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: keystore,
                aad: handle.as_bytes(),
            },
        )
        .map_err(|_| Error::Bug("sealing the sign-in locker"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open_locker(
    export_key: &[u8],
    kind: &str,
    handle: &str,
    locker: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let (nonce, sealed) = locker
        .split_at_checked(12)
        .ok_or_else(|| malformed("sign-in locker shorter than its nonce".into()))?;
    let cipher = locker_cipher(export_key, kind, handle)?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: handle.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| malformed("the server's sign-in locker does not open".into()))
}
