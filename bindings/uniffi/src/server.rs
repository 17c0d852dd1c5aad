//! Sessions and public links on a `sealshare-server`, through the HTTP
//! transport (`sealshare-http`): an app needs no `RemoteStore` of its own.
//! Every request is signed by the account (or, for a public link's reader,
//! by the link's key).

use std::sync::Arc;

use sealshare_http::HttpRemote;

use crate::account::Account;
use crate::error::Result;
use crate::public::{PublicLinkView, open_public};
use crate::records::IdentityCard;
use crate::session::Session;

/// A remote on `server_url` signing as `account`, its card published.
fn connect(server_url: &str, account: &Account) -> Result<Arc<HttpRemote>> {
    let copy = account.copy()?;
    let remote = Arc::new(HttpRemote::new(server_url, &copy)?);
    remote.publish_card(copy.identity())?;
    Ok(remote)
}

#[uniffi::export]
impl Session {
    /// A session on the sealshare-server at `server_url` (for example
    /// `http://10.0.2.2:8080`), signing every request as `account`, with a
    /// fresh trust store. Publishes the account's card in the server's
    /// directory first (nothing changes if it is there already; another card
    /// under the same handle is refused with `Remote`).
    #[uniffi::constructor]
    pub fn connect(server_url: String, account: Arc<Account>) -> Result<Arc<Self>> {
        let remote = connect(&server_url, &account)?;
        Session::start_with_directory(&account, remote.clone(), None, Some(remote))
    }

    /// As `connect`, restored from what `save_state` returned (see `restore`).
    #[uniffi::constructor]
    pub fn restore_connected(
        server_url: String,
        account: Arc<Account>,
        state: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        let remote = connect(&server_url, &account)?;
        Session::start_with_directory(&account, remote.clone(), state, Some(remote))
    }

    /// The card the server's directory publishes for `handle`, its
    /// self-signature checked, or `None` if there is none. The directory is
    /// not trusted: pass the card to `share` (which pins it) and compare
    /// safety numbers. `InvalidArgument` for a session not on a server.
    pub fn find_card(&self, handle: String) -> Result<Option<IdentityCard>> {
        let directory = self.directory.as_ref().ok_or_else(|| {
            crate::error::SealshareError::InvalidArgument {
                detail: "this session is not on a server (use Session.connect)".into(),
            }
        })?;
        Ok(directory
            .card(&handle)?
            .as_ref()
            .map(IdentityCard::from_core))
    }
}

#[uniffi::export]
impl PublicLinkView {
    /// Opens a public link on the sealshare-server at `server_url`, with no
    /// account: requests are signed with the link's key.
    #[uniffi::constructor]
    pub fn open_on_server(
        server_url: String,
        url: String,
        password: Option<String>,
    ) -> Result<Arc<Self>> {
        let remote = Arc::new(HttpRemote::builder(&server_url).build()?);
        open_public(remote, &url, password)
    }
}
