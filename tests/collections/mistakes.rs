//! A caller's own mistakes (naming a member, item or folder that is not
//! there, a role they may not give, an action their role does not allow) are
//! the caller's errors, found before anything is signed: the server is not
//! even asked to append, and no content is uploaded.

use std::sync::atomic::{AtomicUsize, Ordering};

use sealshare::Appended;

use super::*;

/// Passes everything on to the test server, counting what would change it.
struct Counting {
    server: Arc<TestServer>,
    appends: AtomicUsize,
    uploads: AtomicUsize,
}

impl Counting {
    /// Appends and blob uploads asked for so far.
    fn writes(&self) -> (usize, usize) {
        (
            self.appends.load(Ordering::SeqCst),
            self.uploads.load(Ordering::SeqCst),
        )
    }
}

impl Remote for Counting {
    fn append(
        &self,
        collection: &CollectionId,
        seq: u64,
        op: &[u8],
    ) -> sealshare::Result<Appended> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        self.server.append(collection, seq, op)
    }
    fn fetch(&self, collection: &CollectionId, from: u64) -> sealshare::Result<Vec<Vec<u8>>> {
        self.server.fetch(collection, from)
    }
    fn put_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
        blob: &[u8],
    ) -> sealshare::Result<()> {
        self.uploads.fetch_add(1, Ordering::SeqCst);
        self.server.put_blob(collection, id, blob)
    }
    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> sealshare::Result<Vec<u8>> {
        self.server.get_blob(collection, id)
    }
    fn collections_of(&self, handle: &str) -> sealshare::Result<Vec<CollectionId>> {
        self.server.collections_of(handle)
    }
}

/// `client`'s account again, on `remote`, with the team's clock.
fn through(client: &Client, remote: Arc<dyn Remote>, clock: &TestClock) -> Client {
    let account =
        sealshare::Account::from_secret_bytes(client.account().to_secret_bytes().expose()).unwrap();
    let c = clock.clone();
    Client::with_clock(account, remote, Box::new(move || c.now()))
}

#[test]
fn own_mistakes_are_the_callers_errors_and_nothing_is_signed_or_sent() {
    let mut team = Team::new(&[("ad", Role::Admin), ("ed", Role::Editor)]);
    let counting = Arc::new(Counting {
        server: team.server.clone(),
        appends: AtomicUsize::new(0),
        uploads: AtomicUsize::new(0),
    });
    let remote: Arc<dyn Remote> = counting.clone();
    let mut owner = through(&team.owner, remote.clone(), &team.clock);
    let mut ad = through(&team.people[0].0, remote, &team.clock);
    let id = team.coll.id();
    let folder = team.coll.add_folder(&mut team.owner, None, "Docs").unwrap();
    let mut coll = Collection::open(&mut owner, id).unwrap();
    let mut ads = Collection::open(&mut ad, id).unwrap();
    let outsider = user("zed", &team.server, &team.clock);
    let missing = ItemId::random().unwrap();
    let len = ops(&team.server, id);
    let writes = counting.writes();

    // Each refusal: the caller-facing error (code and text), as the one
    // mapping from the violation gives it.
    let expect = |result: sealshare::Result<()>, rule: Violation, code: &str| {
        let shown = format!("{result:?}");
        let got = refused(result);
        assert_eq!(got, rule, "{shown}");
        assert_eq!(got.code, code, "{shown}");
    };
    expect(
        coll.remove(&mut owner, "zed"),
        Violation::NoSuchMember("zed".into()),
        "not_found",
    );
    expect(
        coll.change_role(&mut owner, "zed", Role::Viewer),
        Violation::NoSuchMember("zed".into()),
        "not_found",
    );
    expect(
        coll.trash(&mut owner, missing),
        Violation::NoSuchItem,
        "not_found",
    );
    expect(
        coll.restore(&mut owner, missing),
        Violation::NoSuchItem,
        "not_found",
    );
    expect(
        coll.purge(&mut owner, missing),
        Violation::NoSuchItem,
        "not_found",
    );
    expect(
        coll.add_file(&mut owner, Some(missing), "a.txt", "text/plain", b"a")
            .map(|_| ()),
        Violation::BadParent("no such folder"),
        "not_found",
    );
    expect(
        coll.move_item(&mut owner, folder, Some(missing))
            .map(|_| ()),
        Violation::BadParent("no such folder"),
        "not_found",
    );
    // Not a rules refusal (the library looks the item up first), but the
    // same kind of error.
    assert!(matches!(
        coll.update_file(&mut owner, missing, None, b"b"),
        Err(Error::NotFound(_))
    ));
    expect(
        coll.cancel_invitation(&mut owner, "zed"),
        Violation::NoSuchInvitation("zed".into()),
        "not_found",
    );
    // Sharing at or above one's own role.
    expect(
        ads.share(&mut ad, outsider.account().identity(), Role::Admin),
        Violation::NotBelowOwnRole {
            author: "ad".into(),
            role: Role::Admin,
            target: "zed".into(),
            target_role: Role::Admin,
        },
        "not_allowed_by_role",
    );
    expect(
        ads.share(&mut ad, outsider.account().identity(), Role::Owner),
        Violation::OwnerOnlyByTransfer,
        "invalid_argument",
    );
    expect(
        coll.change_role(&mut owner, "ed", Role::Owner),
        Violation::OwnerOnlyByTransfer,
        "invalid_argument",
    );
    expect(
        ads.change_role(&mut ad, "ed", Role::Admin),
        Violation::NotBelowOwnRole {
            author: "ad".into(),
            role: Role::Admin,
            target: "ed".into(),
            target_role: Role::Admin,
        },
        "not_allowed_by_role",
    );
    // Not allowed by role.
    expect(
        ads.unshare(&mut ad),
        Violation::RoleTooLow {
            author: "ad".into(),
            role: Role::Admin,
            action: Action::Unshare,
        },
        "not_allowed_by_role",
    );
    expect(
        coll.leave(&mut owner),
        Violation::OwnerCannotLeave,
        "not_allowed_by_role",
    );

    assert_eq!(
        counting.writes(),
        writes,
        "the server was asked for nothing"
    );
    assert_eq!(ops(&team.server, id), len, "nothing appended");
    // Everyone carries on: the same clients' next honest writes land.
    coll.rename(&mut owner, "Team 2", "").unwrap();
    assert_eq!(ops(&team.server, id), len + 1);
}

#[test]
fn a_removed_member_is_refused_as_not_allowed_before_signing() {
    let mut team = Team::new(&[("ed", Role::Editor)]);
    let id = team.coll.id();
    team.coll.remove(&mut team.owner, "ed").unwrap();
    let (ed, eds) = &mut team.people[0];
    eds.sync(ed).unwrap();
    let len = ops(&team.server, id);
    assert_eq!(
        refused(eds.leave(ed)),
        Violation::NotAMember {
            author: "ed".into(),
        }
    );
    // A write that needs the new epoch's key stops sooner, at the key.
    assert!(matches!(
        eds.add_folder(ed, None, "mine"),
        Err(Error::NotAllowed(_))
    ));
    assert_eq!(ops(&team.server, id), len, "nothing appended");
}
