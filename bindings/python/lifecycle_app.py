"""A small app on the generated Python module, run as a new process per step by
test_lifecycle.py: what an app keeps on disk between runs (the keystore and the
sealed session state), on a server that outlives every process (a folder).

Usage: python3 lifecycle_app.py STEP DIR
"""

import inspect
import json
import os
import sys
import typing
from pathlib import Path

import sealshare_ffi as ss
from sealshare_ffi import (
    Account,
    CardTrust,
    ContentSink,
    ContentSource,
    IdentityCard,
    KdfProfile,
    ProtectedAccount,
    PublicLinkView,
    PublicScope,
    RemoteStore,
    Role,
    SealshareError,
    Session,
    SignerTrust,
    TrustRestore,
    parse_identity_card,
)

PASSWORD = "correct horse battery staple"
BASE = "https://notes.example/join"


class FolderStore(RemoteStore):
    """The app's transport: a folder another process can reopen."""

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.uploads = {}

    def _log(self, collection):
        d = self.root / "logs" / collection
        d.mkdir(parents=True, exist_ok=True)
        return d

    def append(self, collection, seq, op):
        d = self._log(collection)
        if len(list(d.iterdir())) != seq:
            return False
        (d / f"{seq:012}").write_bytes(bytes(op))
        return True

    def fetch(self, collection, frm):
        d = self._log(collection)
        return [p.read_bytes() for p in sorted(d.iterdir())][frm:]

    def _blob(self, collection, id):
        d = self.root / "blobs" / collection
        d.mkdir(parents=True, exist_ok=True)
        return d / bytes(id).hex()

    def put_blob(self, collection, id, blob):
        self._blob(collection, id).write_bytes(bytes(blob))

    def get_blob(self, collection, id):
        return self._blob(collection, id).read_bytes()

    def collections_of(self, handle):
        d = self.root / "logs"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def put_blob_chunk(self, collection, upload, chunk):
        self.uploads.setdefault(upload, []).append(bytes(chunk))

    def finish_blob(self, collection, upload, id):
        self._blob(collection, id).write_bytes(b"".join(self.uploads.pop(upload, [])))

    def get_blob_range(self, collection, id, offset, length):
        return self._blob(collection, id).read_bytes()[offset : offset + length]


class Empty(ContentSource):
    def read(self, max_len):
        return b""


class Drop(ContentSink):
    def write(self, chunk):
        pass


class Device:
    """One install of the app: a profile folder with a keystore and a state."""

    def __init__(self, root, name):
        self.dir = Path(root) / "devices" / name
        self.dir.mkdir(parents=True, exist_ok=True)

    def create(self, store, handle):
        created = ProtectedAccount.create(handle, PASSWORD, KdfProfile.CONSTRAINED)
        (self.dir / "keystore").write_bytes(created.keystore())
        session = Session.with_remote(created.account(), store)
        self.save(session)
        return session

    def open(self, store, state_file="state"):
        account = Account.unlock((self.dir / "keystore").read_bytes(), PASSWORD)
        path = self.dir / state_file
        state = path.read_bytes() if path.exists() else None
        return Session.restore_with_remote(account, store, state)

    def save(self, session):
        saved = session.save_state((self.dir / "keystore").read_bytes())
        # The state first, then the keystore (see Session.save_state).
        (self.dir / "state").write_bytes(saved.state)
        (self.dir / "keystore").write_bytes(saved.keystore)


def facts(root):
    path = Path(root) / "facts.json"
    return json.loads(path.read_text()) if path.exists() else {}


def remember(root, **kv):
    f = facts(root)
    f.update(kv)
    (Path(root) / "facts.json").write_text(json.dumps(f))


def card_of(root, name):
    return parse_identity_card((Path(root) / "cards" / name).read_bytes())


def publish(root, name, card):
    (Path(root) / "cards").mkdir(parents=True, exist_ok=True)
    (Path(root) / "cards" / name).write_bytes(bytes(card.card))


def step_setup(root, store):
    alice = Device(root, "alice-phone").create(store, "alice")
    bob = Device(root, "bob-phone").create(store, "bob")
    publish(root, "alice", alice.identity())
    publish(root, "bob", bob.identity())
    # An impostor publishes a card under Bob's handle.
    publish(root, "impostor", Account.create("bob").identity())
    # Alice and Bob meet and compare safety numbers.
    alice.mark_verified(card_of(root, "bob"))
    bob.mark_verified(card_of(root, "alice"))
    notes = alice.create_collection("Notes", "")
    notes.share(card_of(root, "bob"), Role.EDITOR)
    item = notes.add_file(None, "todo.md", "text/markdown", b"- ship it")
    bobs = bob.open_collection(notes.id())
    bobs.accept()
    remember(root, notes=notes.id(), item=item)
    Device(root, "alice-phone").save(alice)
    Device(root, "bob-phone").save(bob)
    # Keep a copy of Alice's state as it is now, for the rollback step.
    d = Device(root, "alice-phone").dir
    (d / "state.old").write_bytes((d / "state").read_bytes())
    # One more verified mark after that copy: the copy is now stale.
    alice.mark_verified(card_of(root, "bob"))
    Device(root, "alice-phone").save(alice)


def step_restart(root, store):
    f = facts(root)
    alice = Device(root, "alice-phone").open(store)
    assert isinstance(alice.trust_restored(), TrustRestore.CURRENT), alice.trust_restored()
    assert f["notes"] in alice.saved_collections()
    notes = alice.open_collection(f["notes"])
    assert bytes(notes.read(f["item"])) == b"- ship it"
    [todo] = notes.items().items
    assert isinstance(todo.last_author_trust, SignerTrust.CURRENT), todo.last_author_trust
    bob = next(m for m in notes.members() if m.handle == "bob")
    assert isinstance(bob.trust, CardTrust.VERIFIED), bob.trust
    # The impostor's card is reported with both cards, never pinned.
    impostor = card_of(root, "impostor")
    try:
        alice.observe(impostor)
        raise AssertionError("an impostor was pinned")
    except SealshareError.KeyChanged as e:
        assert e.pinned.fingerprint == card_of(root, "bob").fingerprint
        assert e.presented.fingerprint == impostor.fingerprint
    fresh = alice.create_collection("New notebook", "")
    try:
        fresh.share(impostor, Role.VIEWER)
        raise AssertionError("shared with an impostor")
    except SealshareError.KeyChanged:
        pass
    assert [m.handle for m in fresh.members()] == ["alice"]
    assert isinstance(alice.trust_of(impostor), CardTrust.CHANGED)
    Device(root, "alice-phone").save(alice)
    link = notes.create_public_link(BASE, PublicScope.LIVE, 3600, None)
    view = PublicLinkView.open_with_remote(store, link, None)
    assert [i.name for i in view.items().items] == ["todo.md"]
    # The app locks: every call on every object fails from now on.
    alice.wipe()
    view.wipe()
    for obj in (alice, notes, fresh, view):
        tried = every_method_fails(obj, impostor)
        assert tried >= 3, (obj, tried)


def every_method_fails(obj, card):
    """Calls every public method of `obj` with arguments of the right types;
    each must raise SealshareError.Wiped. Returns how many were tried."""
    samples = {
        str: "x",
        int: 0,
        bool: False,
        bytes: b"",
        IdentityCard: card,
        Role: Role.VIEWER,
        PublicScope: PublicScope.LIVE,
        ContentSource: Empty(),
        ContentSink: Drop(),
    }

    def sample(annotation):
        if typing.get_origin(annotation) is typing.Union:
            return None
        if typing.get_origin(annotation) in (list, typing.List):
            return []
        return samples[annotation]

    exempt = {"id", "trust_restored", "wipe"}  # the id is public; wipe is idempotent
    tried = 0
    for name, method in inspect.getmembers(type(obj), inspect.isfunction):
        if name.startswith("_") or name in exempt:
            continue
        hints = typing.get_type_hints(method)
        params = [p for p in inspect.signature(method).parameters if p != "self"]
        args = [sample(hints[p]) for p in params]
        try:
            getattr(obj, name)(*args)
        except SealshareError.Wiped:
            tried += 1
            continue
        raise AssertionError(f"{type(obj).__name__}.{name} worked after wipe()")
    obj.wipe() if hasattr(obj, "wipe") else None
    return tried


def step_rollback(root, store):
    # The old state is put back in place of the last one saved.
    alice = Device(root, "alice-phone").open(store, state_file="state.old")
    restored = alice.trust_restored()
    assert isinstance(restored, TrustRestore.ROLLED_BACK), restored
    assert isinstance(alice.trust_of(card_of(root, "bob")), CardTrust.PINNED)
    # And no state at all.
    d = Device(root, "alice-phone").dir
    os.replace(d / "state", d / "state.keep")
    gone = Device(root, "alice-phone").open(store)
    assert isinstance(gone.trust_restored(), TrustRestore.MISSING), gone.trust_restored()
    os.replace(d / "state.keep", d / "state")


def step_reinstall(root, store):
    f = facts(root)
    # Bob reinstalls: new keys under the same handle.
    bob = Device(root, "bob-new-phone").create(store, "bob")
    publish(root, "bob-new", bob.identity())
    bob.observe(card_of(root, "alice"))
    Device(root, "bob-new-phone").save(bob)
    alice = Device(root, "alice-phone").open(store)
    assert isinstance(alice.trust_restored(), TrustRestore.CURRENT)
    notes = alice.open_collection(f["notes"])
    notes.remove("bob")
    new_card = card_of(root, "bob-new")
    try:
        notes.share(new_card, Role.EDITOR)
        raise AssertionError("a changed key was accepted silently")
    except SealshareError.KeyChanged as e:
        assert e.pinned.fingerprint == card_of(root, "bob").fingerprint
        assert e.presented.fingerprint == new_card.fingerprint
        assert e.pinned.fingerprint != e.presented.fingerprint
        assert len(alice.safety_number_with(e.presented).split()) == 12
        alice.confirm_changed_key(e.presented)
    notes.share(new_card, Role.EDITOR)
    assert [c.how for c in alice.card_history("bob")] == [
        ss.PinReason.FIRST_USE,
        ss.PinReason.CONFIRMED_CHANGE,
    ]
    Device(root, "alice-phone").save(alice)


def step_from_scratch(root, store):
    f = facts(root)
    # The new Bob, Alice on a new device: both open the collection from scratch.
    bob = Device(root, "bob-new-phone").open(store)
    bobs = bob.open_collection(f["notes"])
    bobs.accept()
    assert bytes(bobs.read(f["item"])) == b"- ship it"
    tablet = Session.with_remote(
        Account.unlock((Device(root, "alice-phone").dir / "keystore").read_bytes(), PASSWORD),
        store,
    )
    notes = tablet.open_collection(f["notes"])
    assert bytes(notes.read(f["item"])) == b"- ship it"
    assert {m.handle for m in notes.members()} == {"alice", "bob"}


def main():
    step, root = sys.argv[1], sys.argv[2]
    store = FolderStore(Path(root) / "server")
    globals()[f"step_{step}"](root, store)
    print(f"lifecycle step {step}: ok")


if __name__ == "__main__":
    main()
