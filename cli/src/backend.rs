//! Where a profile's collections live: the embedded store folder
//! (`--store`, the default), or a `sealshare-server` (`--server URL`),
//! reached with `sealshare-http` and every request signed by the account.
//! Both are untrusted alike: everything read from either is verified.

use std::sync::Arc;

use sealshare::{Account, CollectionId, Error, Identity, Keystore, Remote, Result};
use sealshare_http::{HttpRemote, SignInSecret};

use crate::store::Store;

/// Where to reach the collections, before an account is open.
pub(crate) enum Place {
    /// The store folder.
    Store(Arc<Store>),
    /// A server.
    Server {
        /// Its base URL.
        url: String,
        /// PEM: the only root certificates trusted for it, if given.
        roots: Option<Vec<u8>>,
    },
}

/// A connection to where the collections live, for one account (or for
/// none: a public link's reader).
#[derive(Clone)]
pub(crate) enum Backend {
    /// The store folder.
    Store(Arc<Store>),
    /// A server, signing as the account.
    Server(Arc<HttpRemote>),
}

impl Place {
    /// Connects as `account` (`None`: reads only through links).
    pub(crate) fn connect(&self, account: Option<&Account>) -> Result<Backend> {
        match self {
            Place::Store(store) => Ok(Backend::Store(store.clone())),
            Place::Server { url, roots } => {
                let mut builder = HttpRemote::builder(url);
                if let Some(roots) = roots {
                    builder = builder.root_certificates(roots);
                }
                if let Some(account) = account {
                    builder = builder.account(account);
                }
                Ok(Backend::Server(Arc::new(builder.build()?)))
            }
        }
    }
}

impl Backend {
    /// The `Remote` the core's client uses.
    pub(crate) fn remote(&self) -> Arc<dyn Remote> {
        match self {
            Backend::Store(store) => store.clone(),
            Backend::Server(remote) => remote.clone(),
        }
    }

    /// Runs `work`, whose appends the store folder commits and verifies
    /// together (see `Store::batch`: if that fails, the caller's view must
    /// not be saved); a server gets each append as it comes.
    pub(crate) fn batch<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        match self {
            Backend::Store(store) => store.batch(work),
            Backend::Server(_) => work(),
        }
    }

    /// Publishes the account's card in the directory.
    pub(crate) fn publish_card(&self, card: &Identity) -> Result<()> {
        match self {
            Backend::Store(store) => store.publish_card(card),
            Backend::Server(remote) => remote.publish_card(card).map(|_| ()),
        }
    }

    /// The card the directory holds for `handle`, self-signature checked
    /// (the caller pins it).
    pub(crate) fn card(&self, handle: &str) -> Result<Identity> {
        match self {
            Backend::Store(store) => store.card(handle),
            Backend::Server(remote) => remote
                .card(handle)?
                .ok_or_else(|| Error::NotFound(format!("no published card for {handle:?}"))),
        }
    }

    /// On a server, lets a new device sign in with `secret` and get
    /// `keystore` (see `sealshare_http::HttpRemote::register_keystore`);
    /// nothing for the store folder, which every profile on the machine
    /// reads anyway.
    pub(crate) fn register_keystore(
        &self,
        keystore: &Keystore,
        secret: SignInSecret<'_>,
    ) -> Result<()> {
        match self {
            Backend::Store(_) => Ok(()),
            Backend::Server(remote) => remote.register_keystore(keystore, secret),
        }
    }

    /// The collections where `handle` appears.
    pub(crate) fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        self.remote().collections_of(handle)
    }
}
