"""Two phones sharing a notebook over a real sealshare-server process.

The server binary is SEALSHARE_SERVER_BIN, or built with cargo (if needed),
and started on a loopback port with a temporary data folder; a missing binary
or a server that does not start fails the test, never skips it. Mirrors
bindings/kotlin/ServerStoryTest.kt.
"""

import os
import pathlib
import subprocess
import tempfile

import pytest

from sealshare_ffi import (
    Account,
    KdfProfile,
    ProtectedAccount,
    PublicLinkView,
    PublicScope,
    Role,
    SealshareError,
    Session,
    safety_number,
    sign_in_on_server,
    sign_in_with_recovery_phrase,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server_url():
    # scripts/test-all.sh gives the binary its workspace build made.
    given = os.environ.get("SEALSHARE_SERVER_BIN")
    if given:
        binary = pathlib.Path(given)
    else:
        subprocess.run(
            ["cargo", "build", "--locked", "-q", "-p", "sealshare-server", "--bin", "sealshare-server"],
            cwd=ROOT,
            check=True,
        )
        binary = ROOT / "target" / "debug" / "sealshare-server"
    assert binary.is_file(), f"no server binary at {binary}"
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen(
            [str(binary), "--data", os.path.join(data, "store"), "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            first = proc.stdout.readline().strip()
            assert first.startswith("listening on "), f"the server did not start: {first!r}"
            yield "http://" + first[len("listening on "):]
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_two_phones_share_a_notebook_over_the_server(server_url):
    alice, bob = Account.create("alice"), Account.create("bob")
    a = Session.connect(server_url, alice)
    b = Session.connect(server_url, bob)

    # The directory serves bob's card; safety numbers are what they compare.
    bob_card = a.find_card("bob")
    assert bob_card == bob.identity()
    assert a.find_card("nobody") is None
    assert safety_number(alice.identity(), bob_card) == safety_number(bob_card, alice.identity())

    notes = a.create_collection("Notes", "shared over the server")
    item = notes.add_file(None, "todo.md", "text/markdown", b"- ship it")
    notes.share(bob_card, Role.VIEWER)

    pending = b.list_collections().pending
    assert [p.name for p in pending] == ["Notes"]
    bobs = b.open_collection(pending[0].id)
    bobs.accept()
    assert bytes(bobs.read(item)) == b"- ship it"
    with pytest.raises(SealshareError.NotAllowedByRole):
        bobs.add_file(None, "nope.md", "text/markdown", b"x")

    # Removed, bob can no longer fetch the log: the server refuses him.
    notes.remove("bob")
    with pytest.raises(SealshareError.Server) as refused:
        bobs.sync()
    assert "403 forbidden" in str(refused.value)

    # A public link, opened with no account.
    link = notes.create_public_link("https://notes.example/l", PublicScope.LIVE, 3600, None)
    view = PublicLinkView.open_on_server(server_url, link, None)
    assert bytes(view.read(item)) == b"- ship it"

    # Alice's state resumes on the server.
    saved = a.save_state(None)
    again = Session.restore_connected(server_url, alice, saved.state)
    assert [m.name for m in again.list_collections().mine] == ["Notes"]

    # Another account under alice's handle cannot take her place.
    with pytest.raises(SealshareError.Server):
        Session.connect(server_url, Account.create("alice"))


def test_a_second_phone_signs_in_with_the_password_or_the_phrase(server_url):
    created = ProtectedAccount.create("carol", "hunter22", KdfProfile.CONSTRAINED)
    phrase = created.take_recovery_phrase()
    first = Session.connect(server_url, created.account())
    first.register_sign_in(created.keystore(), "hunter22", phrase)
    notes = first.create_collection("Carol's", "")
    item = notes.add_file(None, "a.md", "text/markdown", b"mine everywhere")

    # The second phone has nothing but the handle and the password.
    keystore = sign_in_on_server(server_url, "carol", "hunter22")
    account = Account.unlock(keystore, "hunter22")
    second = Session.connect(server_url, account)
    mine = second.list_collections().mine
    assert [m.name for m in mine] == ["Carol's"]
    assert bytes(second.open_collection(mine[0].id).read(item)) == b"mine everywhere"

    # Or the recovery phrase; a wrong password gets nothing.
    keystore = sign_in_with_recovery_phrase(server_url, "carol", phrase)
    assert Account.recover(keystore, phrase).identity().handle == "carol"
    with pytest.raises(SealshareError.WrongPassword):
        sign_in_on_server(server_url, "carol", "hunter2")


def _self_signed(folder):
    """A certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key_pem)
    return cert_pem


def test_over_https_a_phone_trusts_the_root_it_is_given_and_no_other():
    given = os.environ.get("SEALSHARE_SERVER_BIN")
    binary = pathlib.Path(given) if given else ROOT / "target" / "debug" / "sealshare-server"
    assert binary.is_file(), f"no server binary at {binary} (run the module's other tests first)"
    with tempfile.TemporaryDirectory() as data:
        folder = pathlib.Path(data)
        root = _self_signed(folder)
        proc = subprocess.Popen(
            [
                str(binary), "--data", str(folder / "store"), "--listen", "127.0.0.1:0",
                "--tls-cert", str(folder / "cert.pem"), "--tls-key", str(folder / "key.pem"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            first = proc.stdout.readline().strip()
            assert first.startswith("listening on "), f"the server did not start: {first!r}"
            url = "https://" + first[len("listening on "):]

            # Mozilla's roots do not include a certificate made here.
            with pytest.raises(SealshareError.Server):
                Session.connect(url, Account.create("mallory"))
            # Given as the only root, it is trusted: two phones share.
            alice, bob = Account.create("alice"), Account.create("bob")
            a = Session.connect(url, alice, root_certificates=root)
            b = Session.connect(url, bob, root_certificates=root)
            notes = a.create_collection("Notes", "over https")
            item = notes.add_file(None, "a.txt", "text/plain", b"sealed twice")
            notes.share(a.find_card("bob"), Role.VIEWER)
            pending = b.list_collections().pending
            assert [p.name for p in pending] == ["Notes"]
            bobs = b.open_collection(pending[0].id)
            bobs.accept()
            assert bytes(bobs.read(item)) == b"sealed twice"
            # Roots that are no certificate are refused as such.
            with pytest.raises(SealshareError.Server):
                Session.connect(url, Account.create("carol"), root_certificates=b"not a certificate")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
