"""The whole story through the generated Python module (run by scripts/test-all.sh).

Two accounts compare safety numbers; a collection is shared with a viewer and a
collaborator; the collaborator adds an item; the viewer's attempt to add is
refused with the role error, and the owner's own mistakes with theirs (before
anything is signed); a member is removed and cannot read what comes
after; an invite link is joined; a public link is opened; a wrong password and a
corrupted input raise the right exceptions; content streams in and out; the
app's own transport (a Python RemoteStore) carries everything.
"""

import pytest

from sealshare_ffi import (
    Account,
    ContentSink,
    ContentSource,
    KdfProfile,
    LinkPurpose,
    MemoryServer,
    PendingKind,
    ProtectedAccount,
    PublicLinkView,
    PublicScope,
    RemoteStore,
    Role,
    SealshareError,
    Session,
    parse_identity_card,
    safety_number,
)

BASE = "https://notes.example/join"


def test_the_whole_story():
    server = MemoryServer()
    alice, bob, carol = (Account.create(h) for h in ("alice", "bob", "carol"))
    a, b, c = (Session(acc, server) for acc in (alice, bob, carol))

    # Safety numbers match on both sides; cards travel as bytes and verify.
    bob_card = parse_identity_card(bytes(bob.identity().card))
    assert safety_number(alice.identity(), bob_card) == safety_number(bob_card, alice.identity())
    a.mark_verified(bob_card)

    notes = a.create_collection("Notes", "team notes")
    notes.share(bob.identity(), Role.VIEWER)
    notes.share(carol.identity(), Role.COLLABORATOR)

    listing = b.list_collections()
    assert listing.mine == [] and listing.shared == [] and listing.failed == []
    pending = listing.pending
    assert [(p.kind, p.name, p.owner, p.role, p.by) for p in pending] == [
        (PendingKind.SHARE, "Notes", "alice", Role.VIEWER, "alice")
    ]
    bobs = b.open_collection(pending[0].id)
    bobs.accept()
    listing = b.list_collections()
    assert [(s.name, s.role) for s in listing.shared] == [("Notes", Role.VIEWER)]
    assert listing.pending == [] and listing.failed == []
    assert [m.name for m in a.list_collections().mine] == ["Notes"]
    carols = c.open_collection(notes.id())
    carols.accept()

    item = carols.add_file(None, "todo.md", "text/markdown", b"- ship it")
    bobs.sync()
    assert bytes(bobs.read(item)) == b"- ship it"
    with pytest.raises(SealshareError.NotAllowedByRole):
        bobs.add_file(None, "nope.md", "text/markdown", b"x")

    # The user's own mistakes are found before anything is signed or sent.
    notes.sync()
    seen = len(notes.history())
    with pytest.raises(SealshareError.NotFound):
        notes.remove("zed")
    with pytest.raises(SealshareError.NotFound):
        notes.change_role("zed", Role.VIEWER)
    with pytest.raises(SealshareError.NotFound):
        notes.trash("AAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(SealshareError.InvalidArgument):
        notes.change_role("bob", Role.OWNER)
    with pytest.raises(SealshareError.NotAllowedByRole):
        carols.change_role("bob", Role.COLLABORATOR)
    notes.sync()
    assert len(notes.history()) == seen

    # Remove Bob: he reads nothing that comes after.
    notes.sync()
    notes.remove("bob")
    later = notes.add_file(None, "later.md", "text/markdown", b"secret")
    try:
        bobs.sync()
    except SealshareError:
        pass
    with pytest.raises(SealshareError):
        bobs.read(later)

    # An invite link, joined.
    url = notes.create_invite_link(BASE, Role.VIEWER, 3600, 0, False)
    assert url.startswith(BASE + "#")
    dave = Session(Account.create("dave"), server)
    daves = dave.join(url)
    assert bytes(daves.read(later)) == b"secret"
    notes.sync()
    assert notes.links()[0].joined == ["dave"]
    assert notes.links()[0].kind == LinkPurpose.INVITE

    # A public link, opened without an account.
    public = notes.create_public_link(BASE, PublicScope.LIVE, 3600, None)
    view = PublicLinkView.open(server, public, None)
    listing = view.items()
    assert sorted(i.name for i in listing.items) == ["later.md", "todo.md"]
    assert listing.unreadable == []
    assert sorted(i.name for i in notes.items().items) == ["later.md", "todo.md"]

    # History, members.
    assert any("removed bob" in h.text for h in notes.history())
    assert {m.handle for m in notes.members()} == {"alice", "carol", "dave"}


def test_wrong_password_and_corrupted_input():
    created = ProtectedAccount.create("erin", "correct horse battery", KdfProfile.CONSTRAINED)
    keystore = created.keystore()
    words = created.take_recovery_phrase()
    assert len(words.split()) == 24
    with pytest.raises(SealshareError.Wiped):
        created.take_recovery_phrase()
    with pytest.raises(SealshareError.WrongPassword):
        Account.unlock(keystore, "wrong")
    assert Account.unlock(keystore, "correct horse battery").identity().handle == "erin"
    assert Account.recover(keystore, words).identity().handle == "erin"
    corrupted = bytearray(keystore)
    corrupted[len(corrupted) // 2] ^= 1
    with pytest.raises(SealshareError):
        Account.unlock(bytes(corrupted), "correct horse battery")
    with pytest.raises(SealshareError.Malformed):
        parse_identity_card(b"\x01\x01 not a card")
    with pytest.raises(SealshareError.Malformed):
        Session(Account.create("x"), MemoryServer()).join("https://x.example/#AAAA")
    acc = Account.create("wiped")
    acc.wipe()
    with pytest.raises(SealshareError.Wiped):
        acc.identity()


class DictStore(RemoteStore):
    """The app's own transport: here, Python dicts."""

    def __init__(self):
        self.logs, self.blobs, self.uploads = {}, {}, {}
        self.largest_piece = 0

    def append(self, collection, seq, op):
        log = self.logs.setdefault(collection, [])
        if len(log) != seq:
            return False
        log.append(bytes(op))
        return True

    def fetch(self, collection, frm):
        return self.logs.get(collection, [])[frm:]

    def put_blob(self, collection, id, blob):
        self.blobs[(collection, bytes(id))] = bytes(blob)

    def get_blob(self, collection, id):
        return self.blobs[(collection, bytes(id))]

    def collections_of(self, handle):
        return list(self.logs)

    def put_blob_chunk(self, collection, upload, chunk):
        self.largest_piece = max(self.largest_piece, len(chunk))
        self.uploads.setdefault(upload, []).append(bytes(chunk))

    def finish_blob(self, collection, upload, id):
        self.blobs[(collection, bytes(id))] = b"".join(self.uploads.pop(upload, []))

    def get_blob_range(self, collection, id, offset, length):
        self.largest_piece = max(self.largest_piece, length)
        return self.blobs[(collection, bytes(id))][offset : offset + length]


class Chunks(ContentSource):
    def __init__(self, data):
        self.data, self.at = data, 0

    def read(self, max_len):
        chunk = self.data[self.at : self.at + min(max_len, 10_000)]
        self.at += len(chunk)
        return chunk


class Collect(ContentSink):
    def __init__(self):
        self.parts = []

    def write(self, chunk):
        self.parts.append(bytes(chunk))


def test_own_transport_and_streaming():
    store = DictStore()
    me = Session.with_remote(Account.create("me"), store)
    box = me.create_collection("Box", "")
    data = bytes(range(256)) * 12000  # about 3 MB: the store only ever sees pieces of at most 1 MiB
    item = box.add_file_streaming(None, "big.bin", "application/octet-stream", Chunks(data))
    assert 0 < store.largest_piece <= 1 << 20
    sink = Collect()
    assert box.read_streaming(item, sink) == len(data)
    assert b"".join(sink.parts) == data
    assert len(sink.parts) > 1
    assert max(len(p) for p in sink.parts) <= 1 << 20
    # The same file through a public link, streamed too.
    url = box.create_public_link(BASE, PublicScope.LIVE, 3600, None)
    view = PublicLinkView.open_with_remote(store, url, None)
    shown = Collect()
    assert view.read_streaming(item, shown) == len(data)
    assert b"".join(shown.parts) == data
    assert max(len(p) for p in shown.parts) <= 1 << 20

    # A source that hands back more than asked is refused, never truncated.
    class Greedy(ContentSource):
        def read(self, max_len):
            return b"x" * (max_len + 1)

    with pytest.raises(SealshareError):
        box.add_file_streaming(None, "greedy.bin", "application/octet-stream", Greedy())
    # The server tampers with the blob: refused before any plaintext is written.
    key = next(iter(store.blobs))
    blob = bytearray(store.blobs[key])
    blob[50] ^= 1
    store.blobs[key] = bytes(blob)
    with pytest.raises(SealshareError.ServerMisbehaved):
        box.read_streaming(item, Collect())
    with pytest.raises(SealshareError.ServerMisbehaved):
        view.read_streaming(item, Collect())
    # A checkpoint restores the collection on this device.
    saved = box.checkpoint()
    again = me.restore_collection(saved)
    assert again.name() == "Box"


def test_a_store_that_lists_every_collection_shows_the_extra_ones_as_failed():
    """DictStore answers collections_of with every log it holds, which is not
    what a server must do: the listing names each collection that does not
    show this user in `failed`, and drops none."""
    store = DictStore()
    me = Session.with_remote(Account.create("me"), store)
    other = Session.with_remote(Account.create("other"), store)
    mine = me.create_collection("Box", "")
    theirs = other.create_collection("Secret", "")
    listing = me.list_collections()
    assert [c.name for c in listing.mine] == ["Box"]
    assert listing.shared == [] and listing.pending == []
    assert [f.id for f in listing.failed] == [theirs.id()]
    assert "does not show" in listing.failed[0].reason
    # A corrupted log is a failure too, named by its id.
    store.logs[mine.id()][0] = store.logs[mine.id()][0][:-1]
    listing = other.list_collections()
    assert [c.name for c in listing.mine] == ["Secret"]
    assert sorted(f.id for f in listing.failed) == [mine.id()]


def test_the_readme_example_runs():
    """README.md's Python example, run as written: what an app developer copies works."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    scope = {}
    exec(compile(example, "README.md (Python example)", "exec"), scope)
    assert [i.name for i in scope["view"].items().items] == []
