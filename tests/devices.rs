#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A public link with a device limit hands its reader's device to the
//! transport only once the link's password is proven, with a key that stays
//! the same when the app keeps it; a link without a limit hands nothing.

use std::sync::{Arc, Mutex};

use sealshare::{
    Account, Appended, Argon2Params, Client, Collection, CollectionId, DeviceGate, DeviceKey,
    LinkDevice, MemoryRemote, PublicLinkTerms, PublicView, Remote, Result, system_time,
};

/// The in-memory server, recording the devices it is handed.
struct Recording {
    inner: MemoryRemote,
    devices: Mutex<Vec<LinkDevice>>,
}

impl Remote for Recording {
    fn append(&self, c: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        self.inner.append(c, seq, op)
    }
    fn fetch(&self, c: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>> {
        self.inner.fetch(c, from)
    }
    fn put_blob(&self, c: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        self.inner.put_blob(c, id, blob)
    }
    fn get_blob(&self, c: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        self.inner.get_blob(c, id)
    }
    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        self.inner.collections_of(handle)
    }
    fn use_link_device(&self, device: LinkDevice) {
        self.devices.lock().unwrap().push(device);
    }
}

const BASE: &str = "https://share.example/l";

#[test]
fn a_device_is_handed_over_only_for_a_limited_link_and_only_with_its_password() {
    let remote = Arc::new(Recording {
        inner: MemoryRemote::new(),
        devices: Mutex::new(Vec::new()),
    });
    let shared: Arc<dyn Remote> = remote.clone();
    let mut alice = Client::new(
        Account::create("alice", system_time()).unwrap(),
        shared.clone(),
    );
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let fast = Argon2Params {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };
    let limited = notes
        .create_public_link(
            &mut alice,
            BASE,
            &PublicLinkTerms {
                device_limit: 2,
                password: Some("sesame".into()),
                password_params: fast,
                ..Default::default()
            },
        )
        .unwrap();
    let open = notes
        .create_public_link(&mut alice, BASE, &PublicLinkTerms::default())
        .unwrap();

    // No limit: nothing handed over.
    PublicView::open(shared.clone(), &open, None, system_time()).unwrap();
    assert!(remote.devices.lock().unwrap().is_empty());
    // A wrong password: refused before any device is handed over.
    assert!(PublicView::open(shared.clone(), &limited, Some("wrong"), system_time()).is_err());
    assert!(remote.devices.lock().unwrap().is_empty());
    // The right one, twice with the same kept key: the same device, whose
    // proof a server's gate checks against the link's KEM key in the log.
    let key = DeviceKey::generate().unwrap();
    for _ in 0..2 {
        PublicView::open_on_device(
            shared.clone(),
            &limited,
            Some("sesame"),
            system_time(),
            &key,
        )
        .unwrap();
    }
    let devices = remote.devices.lock().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].device_key(), devices[1].device_key());
    assert_eq!(devices[0].link(), limited.link());
    let gate = DeviceGate::generate().unwrap();
    let kem_key = notes
        .links()
        .find(|l| l.terms.link == limited.link())
        .unwrap()
        .terms
        .kem_key;
    let proof = devices[0].proof(&gate.public_key()).unwrap();
    assert!(gate.check(
        &notes.id(),
        &limited.link(),
        &kem_key,
        &devices[0].device_key(),
        &proof
    ));
}
