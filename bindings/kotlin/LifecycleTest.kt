// The app's life through the generated Kotlin, each step a new JVM process
// (scripts/test-kotlin.sh runs `lifecycle STEP DIR` once per step). Mirrors
// bindings/python/lifecycle_app.py: what an app keeps on disk between runs (the
// keystore and the sealed session state), on a server that outlives every
// process (a folder).
import java.io.File
import uniffi.sealshare_ffi.*

const val PASSWORD = "correct horse battery staple"

class FolderStore(private val root: File) : RemoteStore {
    private val uploads = mutableMapOf<ULong, MutableList<ByteArray>>()

    private fun log(c: String) = File(root, "logs/$c").also { it.mkdirs() }
    private fun blob(c: String, id: ByteArray) =
        File(root, "blobs/$c").also { it.mkdirs() }.resolve(id.joinToString("") { "%02x".format(it) })

    override fun append(collection: String, seq: ULong, op: ByteArray): Boolean {
        val d = log(collection)
        if (d.list()!!.size.toULong() != seq) return false
        File(d, "%012d".format(seq.toLong())).writeBytes(op)
        return true
    }
    override fun fetch(collection: String, from: ULong): List<ByteArray> =
        log(collection).listFiles()!!.sortedBy { it.name }.drop(from.toInt()).map { it.readBytes() }
    override fun putBlob(collection: String, id: ByteArray, blob: ByteArray) = blob(collection, id).writeBytes(blob)
    override fun getBlob(collection: String, id: ByteArray): ByteArray = blob(collection, id).readBytes()
    override fun collectionsOf(handle: String): List<String> =
        File(root, "logs").list()?.sorted() ?: listOf()
    override fun putBlobChunk(collection: String, upload: ULong, chunk: ByteArray) {
        uploads.getOrPut(upload) { mutableListOf() }.add(chunk)
    }
    override fun finishBlob(collection: String, upload: ULong, id: ByteArray) {
        val parts = uploads.remove(upload) ?: mutableListOf()
        blob(collection, id).writeBytes(parts.fold(ByteArray(0)) { acc, p -> acc + p })
    }
    override fun getBlobRange(collection: String, id: ByteArray, offset: ULong, len: UInt): ByteArray {
        val all = blob(collection, id).readBytes()
        val start = minOf(offset.toLong(), all.size.toLong()).toInt()
        return all.copyOfRange(start, minOf(all.size, start + len.toInt()))
    }
}

class Device(root: File, name: String) {
    val dir = File(root, "devices/$name").also { it.mkdirs() }
    private val keystore get() = File(dir, "keystore")

    fun create(store: RemoteStore, handle: String): Session {
        val created = ProtectedAccount.create(handle, PASSWORD, KdfProfile.CONSTRAINED)
        keystore.writeBytes(created.keystore())
        val session = Session.withRemote(created.account(), store)
        save(session)
        return session
    }

    fun open(store: RemoteStore, stateFile: String = "state"): Session {
        val account = Account.unlock(keystore.readBytes(), PASSWORD)
        val state = File(dir, stateFile).takeIf { it.exists() }?.readBytes()
        return Session.restoreWithRemote(account, store, state)
    }

    fun save(session: Session) {
        val saved = session.saveState(keystore.readBytes())
        // The state first, then the keystore (see Session.saveState).
        File(dir, "state").writeBytes(saved.state)
        keystore.writeBytes(saved.keystore!!)
    }
}

class World(val root: File) {
    val store = FolderStore(File(root, "server"))
    fun card(name: String) = parseIdentityCard(File(root, "cards/$name").readBytes())
    fun publish(name: String, card: IdentityCard) {
        File(root, "cards").mkdirs()
        File(root, "cards/$name").writeBytes(card.card)
    }
    fun fact(name: String) = File(root, "fact-$name").readText()
    fun remember(name: String, value: String) = File(root, "fact-$name").writeText(value)
}

fun setup(w: World) {
    val alice = Device(w.root, "alice-phone").create(w.store, "alice")
    val bob = Device(w.root, "bob-phone").create(w.store, "bob")
    w.publish("alice", alice.identity())
    w.publish("bob", bob.identity())
    w.publish("impostor", Account.create("bob").identity())
    alice.markVerified(w.card("bob"))
    bob.markVerified(w.card("alice"))
    val notes = alice.createCollection("Notes", "")
    notes.share(w.card("bob"), Role.EDITOR)
    val item = notes.addFile(null, "todo.md", "text/markdown", "- ship it".toByteArray())
    bob.openCollection(notes.id()).accept()
    w.remember("notes", notes.id())
    w.remember("item", item)
    Device(w.root, "alice-phone").save(alice)
    Device(w.root, "bob-phone").save(bob)
    val d = Device(w.root, "alice-phone").dir
    File(d, "state").copyTo(File(d, "state.old"), overwrite = true)
    alice.markVerified(w.card("bob"))
    Device(w.root, "alice-phone").save(alice)
}

fun restart(w: World) {
    val alice = Device(w.root, "alice-phone").open(w.store)
    check(alice.trustRestored() is TrustRestore.Current, "trust restored: ${alice.trustRestored()}")
    check(w.fact("notes") in alice.savedCollections(), "saved collections")
    val notes = alice.openCollection(w.fact("notes"))
    check(String(notes.read(w.fact("item"))) == "- ship it", "reads after restart")
    check(notes.members().first { it.handle == "bob" }.trust is CardTrust.Verified, "verified mark survives")
    val impostor = w.card("impostor")
    try {
        alice.observe(impostor)
        throw AssertionError("an impostor was pinned")
    } catch (e: SealshareException.KeyChanged) {
        check(e.pinned.fingerprint == w.card("bob").fingerprint, "pinned card shown")
        check(e.presented.fingerprint == impostor.fingerprint, "presented card shown")
    }
    val fresh = alice.createCollection("New notebook", "")
    expect<SealshareException.KeyChanged>("share with the impostor") { fresh.share(impostor, Role.VIEWER) }
    check(fresh.members().map { it.handle } == listOf("alice"), "nothing shared")
    Device(w.root, "alice-phone").save(alice)
    val view = PublicLinkView.openWithRemote(w.store, notes.createPublicLink(BASE, PublicScope.LIVE, 3600uL, null), null)
    check(view.items().items.map { it.name } == listOf("todo.md"), "public view")

    // The app locks: every call on every object fails from now on.
    alice.wipe()
    view.wipe()
    val card = impostor
    val calls: List<Pair<String, () -> Any?>> = listOf(
        "identity" to { alice.identity() },
        "safetyNumberWith" to { alice.safetyNumberWith(card) },
        "observe" to { alice.observe(card) },
        "trustOf" to { alice.trustOf(card) },
        "cardHistory" to { alice.cardHistory("bob") },
        "introductions" to { alice.introductions("bob") },
        "markVerified" to { alice.markVerified(card) },
        "confirmChangedKey" to { alice.confirmChangedKey(card) },
        "createCollection" to { alice.createCollection("x", "") },
        "openCollection" to { alice.openCollection("x") },
        "restoreCollection" to { alice.restoreCollection(ByteArray(0)) },
        "listCollections" to { alice.listCollections() },
        "join" to { alice.join("x") },
        "saveState" to { alice.saveState(null) },
        "savedCollections" to { alice.savedCollections() },
    ) + listOf(notes, fresh).flatMap { c ->
        listOf<Pair<String, () -> Any?>>(
            "name" to { c.name() }, "owner" to { c.owner() }, "sync" to { c.sync() },
            "checkpoint" to { c.checkpoint() }, "rename" to { c.rename("x", "") },
            "share" to { c.share(card, Role.VIEWER) }, "accept" to { c.accept() },
            "decline" to { c.decline() }, "leave" to { c.leave() },
            "changeRole" to { c.changeRole("bob", Role.VIEWER) }, "remove" to { c.remove("bob") },
            "unshare" to { c.unshare() }, "transferOwnership" to { c.transferOwnership("bob") },
            "members" to { c.members() }, "unconfirmedMembers" to { c.unconfirmedMembers() },
            "addFolder" to { c.addFolder(null, "x") },
            "addFile" to { c.addFile(null, "x", "text/plain", ByteArray(0)) },
            "updateFile" to { c.updateFile("x", ByteArray(0)) },
            "trash" to { c.trash("x") }, "restore" to { c.restore("x") }, "purge" to { c.purge("x") },
            "items" to { c.items() }, "read" to { c.read("x") },
            "history" to { c.history() }, "links" to { c.links() },
            "createInviteLink" to { c.createInviteLink(BASE, Role.VIEWER, 1uL, 0u, false) },
            "createPublicLink" to { c.createPublicLink(BASE, PublicScope.LIVE, 1uL, null) },
            "createItemLink" to { c.createItemLink(BASE, listOf(), 1uL) },
            "approve" to { c.approve("x") }, "revokeLink" to { c.revokeLink("x") },
            "revokeAllLinks" to { c.revokeAllLinks() }, "revokeAllJoined" to { c.revokeAllJoined() },
            "invite" to { c.invite("x", Role.VIEWER) }, "completeInvitation" to { c.completeInvitation(card) },
            "cancelInvitation" to { c.cancelInvitation("x") },
        )
    } + listOf<Pair<String, () -> Any?>>(
        "view.items" to { view.items() }, "view.read" to { view.read("x") },
    )
    for ((name, call) in calls) expect<SealshareException.Wiped>("$name after wipe()") { call() }
}

fun rollback(w: World) {
    val alice = Device(w.root, "alice-phone").open(w.store, "state.old")
    check(alice.trustRestored() is TrustRestore.RolledBack, "rolled back: ${alice.trustRestored()}")
    check(alice.trustOf(w.card("bob")) is CardTrust.Pinned, "verified mark dropped")
    val d = Device(w.root, "alice-phone").dir
    File(d, "state").renameTo(File(d, "state.keep"))
    val gone = Device(w.root, "alice-phone").open(w.store)
    check(gone.trustRestored() is TrustRestore.Missing, "missing: ${gone.trustRestored()}")
    File(d, "state.keep").renameTo(File(d, "state"))
}

fun reinstall(w: World) {
    val bob = Device(w.root, "bob-new-phone").create(w.store, "bob")
    w.publish("bob-new", bob.identity())
    bob.observe(w.card("alice"))
    Device(w.root, "bob-new-phone").save(bob)
    val alice = Device(w.root, "alice-phone").open(w.store)
    val notes = alice.openCollection(w.fact("notes"))
    notes.remove("bob")
    val newCard = w.card("bob-new")
    try {
        notes.share(newCard, Role.EDITOR)
        throw AssertionError("a changed key was accepted silently")
    } catch (e: SealshareException.KeyChanged) {
        check(e.pinned.fingerprint == w.card("bob").fingerprint, "old fingerprint")
        check(e.presented.fingerprint == newCard.fingerprint, "new fingerprint")
        check(alice.safetyNumberWith(e.presented).split(" ").size == 12, "safety number")
        alice.confirmChangedKey(e.presented)
    }
    notes.share(newCard, Role.EDITOR)
    check(alice.cardHistory("bob").map { it.how } == listOf(PinReason.FIRST_USE, PinReason.CONFIRMED_CHANGE), "card history")
    Device(w.root, "alice-phone").save(alice)
}

fun fromScratch(w: World) {
    val bob = Device(w.root, "bob-new-phone").open(w.store)
    val bobs = bob.openCollection(w.fact("notes"))
    bobs.accept()
    check(String(bobs.read(w.fact("item"))) == "- ship it", "new Bob reads")
    val keystore = File(Device(w.root, "alice-phone").dir, "keystore").readBytes()
    val tablet = Session.withRemote(Account.unlock(keystore, PASSWORD), w.store)
    val notes = tablet.openCollection(w.fact("notes"))
    check(String(notes.read(w.fact("item"))) == "- ship it", "Alice's new device reads")
    check(notes.members().map { it.handle }.toSet() == setOf("alice", "bob"), "members")
}

fun lifecycle(step: String, dir: String) {
    val w = World(File(dir))
    when (step) {
        "setup" -> setup(w)
        "restart" -> restart(w)
        "rollback" -> rollback(w)
        "reinstall" -> reinstall(w)
        "from-scratch" -> fromScratch(w)
        else -> throw IllegalArgumentException("no step $step")
    }
    println("kotlin lifecycle step $step: ok")
}
