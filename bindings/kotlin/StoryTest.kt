// The whole story through the generated Kotlin, run on the JVM with JNA
// (scripts/test-kotlin.sh). Mirrors bindings/python/test_story.py and
// bindings/swift/Tests/SealshareTests/StoryTests.swift.
import uniffi.sealshare_ffi.*

fun check(condition: Boolean, what: String) {
    if (!condition) throw AssertionError(what)
}

inline fun <reified E : Throwable> expect(what: String, block: () -> Unit) {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return
        throw AssertionError("$what: expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("$what: expected ${E::class.simpleName}, nothing thrown")
}

const val BASE = "https://notes.example/join"

fun story() {
    val server = MemoryServer()
    val alice = Account.create("alice")
    val bob = Account.create("bob")
    val carol = Account.create("carol")
    val a = Session(alice, server)
    val b = Session(bob, server)
    val c = Session(carol, server)

    // Safety numbers match on both sides; cards travel as bytes and verify.
    val bobCard = parseIdentityCard(bob.identity().card)
    check(safetyNumber(alice.identity(), bobCard) == safetyNumber(bobCard, alice.identity()), "safety numbers match")
    a.markVerified(bobCard)

    val notes = a.createCollection("Notes", "team notes")
    notes.share(bob.identity(), Role.VIEWER)
    notes.share(carol.identity(), Role.COLLABORATOR)

    val listing = b.listCollections()
    val pending = listing.pending
    check(
        pending.size == 1 && pending[0].name == "Notes" && pending[0].role == Role.VIEWER &&
            pending[0].kind == PendingKind.SHARE && listing.failed.isEmpty(),
        "pending share",
    )
    val bobs = b.openCollection(pending[0].id)
    bobs.accept()
    val after = b.listCollections()
    check(after.shared.map { it.name } == listOf("Notes") && after.pending.isEmpty(), "shared after accepting")
    check(a.listCollections().mine.map { it.name } == listOf("Notes"), "mine")
    val carols = c.openCollection(notes.id())
    carols.accept()

    val item = carols.addFile(null, "todo.md", "text/markdown", "- ship it".toByteArray())
    bobs.sync()
    check(String(bobs.read(item)) == "- ship it", "viewer reads")
    expect<SealshareException.NotAllowedByRole>("viewer adds") {
        bobs.addFile(null, "nope.md", "text/markdown", "x".toByteArray())
    }

    // The user's own mistakes are found before anything is signed or sent.
    notes.sync()
    val seen = notes.history().size
    expect<SealshareException.NotFound>("remove a non-member") { notes.remove("zed") }
    expect<SealshareException.NotFound>("change a non-member's role") { notes.changeRole("zed", Role.VIEWER) }
    expect<SealshareException.NotFound>("trash a missing item") { notes.trash("AAAAAAAAAAAAAAAAAAAAAA") }
    expect<SealshareException.InvalidArgument>("make an owner by a change of role") {
        notes.changeRole("bob", Role.OWNER)
    }
    expect<SealshareException.NotAllowedByRole>("collaborator changes a role") {
        carols.changeRole("bob", Role.COLLABORATOR)
    }
    notes.sync()
    check(notes.history().size == seen, "nothing was sent")

    // Remove Bob: he reads nothing that comes after.
    notes.sync()
    notes.remove("bob")
    val later = notes.addFile(null, "later.md", "text/markdown", "secret".toByteArray())
    try { bobs.sync() } catch (e: SealshareException) { }
    expect<SealshareException>("removed member reads") { bobs.read(later) }

    // An invite link, joined.
    val url = notes.createInviteLink(BASE, Role.VIEWER, 3600uL, 0u, false)
    check(url.startsWith("$BASE#"), "link url")
    val dave = Session(Account.create("dave"), server)
    val daves = dave.join(url)
    check(String(daves.read(later)) == "secret", "joiner reads")
    notes.sync()
    check(notes.links()[0].joined == listOf("dave"), "owner sees who joined")
    check(notes.links()[0].kind == LinkPurpose.INVITE, "the link reads as an invite link")

    // A public link, opened without an account.
    val public = notes.createPublicLink(BASE, PublicScope.LIVE, 3600uL, null)
    val view = PublicLinkView.open(server, public, null)
    val shown = view.items()
    check(shown.items.map { it.name }.sorted() == listOf("later.md", "todo.md"), "public link items")
    check(shown.unreadable.isEmpty(), "public link: every item readable")
    check(notes.items().items.map { it.name }.sorted() == listOf("later.md", "todo.md"), "member's items")

    check(notes.history().any { it.text.contains("removed bob") }, "history")
    check(notes.members().map { it.handle }.toSet() == setOf("alice", "carol", "dave"), "members")
}

fun errors() {
    val created = ProtectedAccount.create("erin", "correct horse battery", KdfProfile.CONSTRAINED)
    val keystore = created.keystore()
    val words = created.takeRecoveryPhrase()
    check(words.split(" ").size == 24, "24 words")
    expect<SealshareException.Wiped>("phrase shown once") { created.takeRecoveryPhrase() }
    expect<SealshareException.WrongPassword>("wrong password") { Account.unlock(keystore, "wrong") }
    check(Account.unlock(keystore, "correct horse battery").identity().handle == "erin", "unlock")
    check(Account.recover(keystore, words).identity().handle == "erin", "recover")
    val corrupted = keystore.copyOf()
    corrupted[corrupted.size / 2] = (corrupted[corrupted.size / 2].toInt() xor 1).toByte()
    expect<SealshareException>("corrupted keystore") { Account.unlock(corrupted, "correct horse battery") }
    expect<SealshareException.Malformed>("corrupted card") { parseIdentityCard("not a card".toByteArray()) }
    val acc = Account.create("wiped")
    acc.wipe()
    expect<SealshareException.Wiped>("wiped account") { acc.identity() }
}

class Chunks(private val data: ByteArray) : ContentSource {
    private var at = 0
    override fun read(maxLen: UInt): ByteArray {
        val n = minOf(maxLen.toInt(), 10_000, data.size - at)
        val chunk = data.copyOfRange(at, at + n)
        at += n
        return chunk
    }
}

class Collect : ContentSink {
    val parts = mutableListOf<ByteArray>()
    override fun write(chunk: ByteArray) { parts.add(chunk) }
}

fun streaming() {
    val server = MemoryServer()
    val me = Session(Account.create("me"), server)
    val box = me.createCollection("Box", "")
    val data = ByteArray(2_600_000) { (it % 256).toByte() }
    val item = box.addFileStreaming(null, "big.bin", "application/octet-stream", Chunks(data))
    val sink = Collect()
    check(box.readStreaming(item, sink) == data.size.toULong(), "size")
    check(sink.parts.size > 1, "chunks")
    check(sink.parts.all { it.size <= 1 shl 20 }, "pieces of at most 1 MiB")
    check(sink.parts.fold(ByteArray(0)) { acc, p -> acc + p }.contentEquals(data), "content")
    // The same file through a public link, streamed too.
    val view = PublicLinkView.open(server, box.createPublicLink(BASE, PublicScope.LIVE, 3600uL, null), null)
    val shown = Collect()
    check(view.readStreaming(item, shown) == data.size.toULong(), "public link size")
    check(shown.parts.all { it.size <= 1 shl 20 }, "public link pieces of at most 1 MiB")
    check(shown.parts.fold(ByteArray(0)) { acc, p -> acc + p }.contentEquals(data), "public link content")
}

fun main(args: Array<String>) {
    if (args.size == 2 && args[0] == "server") {
        serverStory(args[1])
        return
    }
    if (args.size == 3 && args[0] == "lifecycle") {
        lifecycle(args[1], args[2])
        return
    }
    readmeSnippet() // README.md's example, extracted by scripts/test-kotlin.sh
    story()
    errors()
    streaming()
    println("kotlin: all binding tests passed")
}
