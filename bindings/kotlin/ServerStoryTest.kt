// Two phones sharing a notebook over a real sealshare-server (started by
// scripts/test-kotlin.sh on a loopback port): Session.connect, the server's
// card directory, a share, a refused write, a removal the server enforces,
// a public link opened with no account. Mirrors bindings/python/test_server.py.
import uniffi.sealshare_ffi.*

fun serverStory(url: String) {
    val alice = Account.create("alice")
    val bob = Account.create("bob")
    val a = Session.connect(url, alice)
    val b = Session.connect(url, bob)

    // Alice finds Bob's card in the server's directory: not trusted, so the
    // safety number is what they compare.
    val bobCard = a.findCard("bob") ?: throw AssertionError("bob's card is published")
    check(bobCard.card.contentEquals(bob.identity().card), "the directory serves bob's card")
    check(a.findCard("nobody") == null, "no card for nobody")
    check(safetyNumber(alice.identity(), bobCard) == safetyNumber(bobCard, alice.identity()), "safety numbers")

    val notes = a.createCollection("Notes", "shared over the server")
    val item = notes.addFile(null, "todo.md", "text/markdown", "- ship it".toByteArray())
    notes.share(bobCard, Role.VIEWER)

    val pending = b.listCollections().pending
    check(pending.size == 1 && pending[0].name == "Notes", "bob sees the share")
    val bobs = b.openCollection(pending[0].id)
    bobs.accept()
    check(String(bobs.read(item)) == "- ship it", "bob reads over the server")
    expect<SealshareException.NotAllowedByRole>("viewer adds") {
        bobs.addFile(null, "nope.md", "text/markdown", "x".toByteArray())
    }

    // Removed, bob can no longer fetch the log: the server refuses him.
    notes.remove("bob")
    expect<SealshareException.Server>("removed member syncs") { bobs.sync() }

    // A public link, opened with no account.
    val link = notes.createPublicLink("https://notes.example/l", PublicScope.LIVE, 3600uL, null)
    val view = PublicLinkView.openOnServer(url, link, null)
    check(String(view.read(item)) == "- ship it", "public link over the server")

    // Alice's state resumes on the server.
    val saved = a.saveState(null)
    val again = Session.restoreConnected(url, alice, saved.state)
    check(again.listCollections().mine.map { it.name } == listOf("Notes"), "restored session lists Notes")
    // A second phone signs in with the password alone.
    val dave = ProtectedAccount.create("dave", "hunter22", KdfProfile.CONSTRAINED)
    val phrase = dave.takeRecoveryPhrase()
    Session.connect(url, dave.account()).registerSignIn(dave.keystore(), "hunter22", phrase)
    val keystore = signInOnServer(url, "dave", "hunter22")
    check(Account.unlock(keystore, "hunter22").identity().handle == "dave", "signed in on a second phone")
    expect<SealshareException.WrongPassword>("a wrong password") { signInOnServer(url, "dave", "hunter2") }
    println("kotlin: server story passed")
}
