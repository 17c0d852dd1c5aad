//! Sessions and public links on a `sealshare-server`, through the HTTP
//! transport (`sealshare-http`): an app needs no `RemoteStore` of its own.
//! Every request is signed by the account (or, for a public link's reader,
//! by the link's key).

use std::sync::Arc;

use sealshare_http::{HttpRemote, SignInSecret};

use crate::account::Account;
use crate::error::Result;
use crate::public::{PublicLinkView, open_public};
use crate::records::IdentityCard;
use crate::session::Session;

/// The settings of a remote on `server_url`: for `https://`, trusting only
/// the PEM certificates in `root_certificates` if given, else the bundled
/// Mozilla roots.
fn builder(server_url: &str, root_certificates: Option<&[u8]>) -> sealshare_http::Builder {
    let builder = HttpRemote::builder(server_url);
    match root_certificates {
        Some(pem) => builder.root_certificates(pem),
        None => builder,
    }
}

/// A remote on `server_url` signing as `account`, its card published.
fn connect(
    server_url: &str,
    account: &Account,
    root_certificates: Option<&[u8]>,
) -> Result<Arc<HttpRemote>> {
    let copy = account.copy()?;
    let remote = Arc::new(
        builder(server_url, root_certificates)
            .account(&copy)
            .build()?,
    );
    remote.publish_card(copy.identity())?;
    Ok(remote)
}

#[uniffi::export]
impl Session {
    /// A session on the sealshare-server at `server_url` (for example
    /// `http://10.0.2.2:8080`), signing every request as `account`, with a
    /// fresh trust store. Publishes the account's card in the server's
    /// directory first (nothing changes if it is there already; another card
    /// under the same handle is refused with `Server`).
    ///
    /// For an `https://` server, `root_certificates` (PEM text: one or more
    /// `CERTIFICATE` blocks) are the only roots trusted, for a server whose
    /// certificate is self-signed or from a private certificate authority;
    /// without them, Mozilla's roots, bundled, are. Roots that hold no
    /// certificate are refused with `Server`.
    #[uniffi::constructor(default(root_certificates = None))]
    pub fn connect(
        server_url: String,
        account: Arc<Account>,
        root_certificates: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        let remote = connect(&server_url, &account, root_certificates.as_deref())?;
        Session::start_with_directory(&account, remote.clone(), None, Some(remote))
    }

    /// As `connect`, restored from what `save_state` returned (see `restore`).
    #[uniffi::constructor(default(root_certificates = None))]
    pub fn restore_connected(
        server_url: String,
        account: Arc<Account>,
        state: Option<Vec<u8>>,
        root_certificates: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        let remote = connect(&server_url, &account, root_certificates.as_deref())?;
        Session::start_with_directory(&account, remote.clone(), state, Some(remote))
    }

    /// Lets a new device sign in as this account (`sign_in_on_server`) with
    /// `password` or, if given, `recovery_phrase`, and get `keystore` (the
    /// account's, as `ProtectedAccount.keystore` gave it). Call it once for
    /// each after creating the account, and again with the new password
    /// after changing it. The server learns neither the secret nor the
    /// keystore. `InvalidArgument` for a session not on a server.
    pub fn register_sign_in(
        &self,
        keystore: Vec<u8>,
        password: Option<String>,
        recovery_phrase: Option<String>,
    ) -> Result<()> {
        let directory = self.server()?;
        let keystore = sealshare::Keystore::from_bytes(&keystore)?;
        if let Some(password) = password {
            directory.register_keystore(&keystore, SignInSecret::Password(&password))?;
        }
        if let Some(words) = recovery_phrase {
            let phrase = sealshare::RecoveryPhrase::parse(&words)?;
            directory.register_keystore(&keystore, SignInSecret::RecoveryPhrase(&phrase))?;
        }
        Ok(())
    }

    /// The card the server's directory publishes for `handle`, its
    /// self-signature checked, or `None` if there is none. The directory is
    /// not trusted: pass the card to `share` (which pins it) and compare
    /// safety numbers. `InvalidArgument` for a session not on a server.
    pub fn find_card(&self, handle: String) -> Result<Option<IdentityCard>> {
        Ok(self
            .server()?
            .card(&handle)?
            .as_ref()
            .map(IdentityCard::from_core))
    }
}

impl Session {
    /// The server's directory: `Wiped` once wiped (checked first, as for
    /// every method), `InvalidArgument` for a session not on a server.
    fn server(&self) -> Result<&Arc<HttpRemote>> {
        self.alive()?;
        self.directory
            .as_ref()
            .ok_or_else(|| crate::error::SealshareError::InvalidArgument {
                detail: "this session is not on a server (use Session.connect)".into(),
            })
    }
}

/// Signs in as `handle` on a new device: proves `password` to the
/// sealshare-server at `server_url` (OPAQUE) and returns the keystore it
/// releases, to open with `Account.unlock(keystore, password)`.
/// `WrongPassword` for a wrong password or an unknown handle alike.
/// `root_certificates` as for `Session.connect`.
#[uniffi::export(default(root_certificates = None))]
pub fn sign_in_on_server(
    server_url: String,
    handle: String,
    password: String,
    root_certificates: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let remote = builder(&server_url, root_certificates.as_deref()).build()?;
    Ok(remote
        .sign_in(&handle, SignInSecret::Password(&password))?
        .to_bytes())
}

/// As `sign_in_on_server`, proving the 24-word recovery phrase instead; open
/// the keystore with `Account.recover(keystore, recovery_phrase)`.
#[uniffi::export(default(root_certificates = None))]
pub fn sign_in_with_recovery_phrase(
    server_url: String,
    handle: String,
    recovery_phrase: String,
    root_certificates: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let phrase = sealshare::RecoveryPhrase::parse(&recovery_phrase)?;
    let remote = builder(&server_url, root_certificates.as_deref()).build()?;
    Ok(remote
        .sign_in(&handle, SignInSecret::RecoveryPhrase(&phrase))?
        .to_bytes())
}

#[uniffi::export]
impl PublicLinkView {
    /// Opens a public link on the sealshare-server at `server_url`, with no
    /// account: requests are signed with the link's key.
    /// `root_certificates` as for `Session.connect`.
    #[uniffi::constructor(default(root_certificates = None))]
    pub fn open_on_server(
        server_url: String,
        url: String,
        password: Option<String>,
        root_certificates: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        let remote = Arc::new(builder(&server_url, root_certificates.as_deref()).build()?);
        open_public(remote, &url, password)
    }
}
