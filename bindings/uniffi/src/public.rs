//! Reading a public link without an account.

use std::sync::Arc;

use sealshare::{ItemId, LinkUrl, PublicView};

use crate::collection::{ContentSink, SinkWriter};
use crate::error::Result;
use crate::records::ItemListing;
use crate::remote::{ForeignRemote, MemoryServer, RemoteStore};

/// What a public link shows, verified. Holds the link's keys and no account.
#[derive(uniffi::Object)]
pub struct PublicLinkView {
    inner: PublicView,
}

use sealshare::collection::client::system_time as now;

fn open(
    remote: Arc<dyn sealshare::Remote>,
    url: &str,
    password: Option<String>,
) -> Result<Arc<PublicLinkView>> {
    let url = LinkUrl::parse(url)?;
    Ok(Arc::new(PublicLinkView {
        inner: PublicView::open(remote, &url, password.as_deref(), now())?,
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
        open(server.inner.clone(), &url, password)
    }

    /// Opens a public link through the app's transport.
    #[uniffi::constructor]
    pub fn open_with_remote(
        remote: Arc<dyn RemoteStore>,
        url: String,
        password: Option<String>,
    ) -> Result<Arc<Self>> {
        open(Arc::new(ForeignRemote(remote)), &url, password)
    }

    /// The items the link shows that decrypt, and a report of each that does
    /// not (never a failure of the whole listing).
    pub fn items(&self) -> ItemListing {
        self.inner.items().into()
    }

    /// An item's content, checked against its signed header.
    pub fn read(&self, item: String) -> Result<Vec<u8>> {
        Ok(self.inner.read(ItemId::from_text(&item)?)?)
    }

    /// Writes an item's content to `sink` as it is opened, in pieces of at most
    /// 1 MiB, in constant memory; returns its size. Every piece is
    /// authenticated before the sink gets it, but the whole blob is checked
    /// last: on an error, discard what the sink received.
    pub fn read_streaming(&self, item: String, sink: Arc<dyn ContentSink>) -> Result<u64> {
        let item = ItemId::from_text(&item)?;
        Ok(self.inner.read_into(item, &mut SinkWriter(sink))?)
    }
}
