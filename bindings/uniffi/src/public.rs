//! Reading a public link without an account.

use std::sync::{Arc, Mutex};

use sealshare::{ItemId, LinkUrl, PublicView};

use crate::collection::{ContentSink, SinkWriter};
use crate::error::{Result, wiped};
use crate::records::ItemListing;
use crate::remote::{ForeignRemote, MemoryServer, RemoteStore};

/// What a public link shows, verified. Holds the link's keys and no account:
/// `wipe()` zeroizes them, and every later call fails with `Wiped`.
#[derive(uniffi::Object)]
pub struct PublicLinkView {
    inner: Mutex<Option<PublicView>>,
}

impl PublicLinkView {
    /// Fails with `Wiped` once wiped (checked before any argument is parsed).
    fn alive(&self) -> Result<()> {
        self.with(|_| Ok(()))
    }

    fn with<T>(&self, f: impl FnOnce(&PublicView) -> sealshare::Result<T>) -> Result<T> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let view = guard.as_ref().ok_or_else(|| wiped("public link view"))?;
        Ok(f(view)?)
    }
}

use sealshare::system_time as now;

pub(crate) fn open_public(
    remote: Arc<dyn sealshare::Remote>,
    url: &str,
    password: Option<String>,
) -> Result<Arc<PublicLinkView>> {
    let url = LinkUrl::parse(url)?;
    Ok(Arc::new(PublicLinkView {
        inner: Mutex::new(Some(PublicView::open(
            remote,
            &url,
            password.as_deref(),
            now(),
        )?)),
    }))
}

#[uniffi::export]
impl PublicLinkView {
    /// Opens a public link on an in-memory server.
    #[uniffi::constructor]
    pub fn open(
        server: Arc<MemoryServer>,
        url: String,
        password: Option<String>,
    ) -> Result<Arc<Self>> {
        open_public(server.inner.clone(), &url, password)
    }

    /// Opens a public link through the app's transport.
    #[uniffi::constructor]
    pub fn open_with_remote(
        remote: Arc<dyn RemoteStore>,
        url: String,
        password: Option<String>,
    ) -> Result<Arc<Self>> {
        open_public(Arc::new(ForeignRemote(remote)), &url, password)
    }

    /// The items the link shows that decrypt, and a report of each that does
    /// not (never a failure of the whole listing).
    pub fn items(&self) -> Result<ItemListing> {
        self.with(|v| Ok(v.items().into()))
    }

    /// An item's content, checked against its signed header.
    pub fn read(&self, item: String) -> Result<Vec<u8>> {
        self.alive()?;
        let item = ItemId::from_text(&item)?;
        self.with(|v| v.read(item))
    }

    /// Writes an item's content to `sink` as it is opened, in pieces of at most
    /// 1 MiB, in constant memory; returns its size. Every piece is
    /// authenticated before the sink gets it, but the whole blob is checked
    /// last: on an error, discard what the sink received.
    pub fn read_streaming(&self, item: String, sink: Arc<dyn ContentSink>) -> Result<u64> {
        self.alive()?;
        let item = ItemId::from_text(&item)?;
        self.with(|v| v.read_into(item, &mut SinkWriter(sink)))
    }

    /// Zeroizes the link's keys now; every later call fails with `Wiped`.
    pub fn wipe(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}
