// Mirrors bindings/kotlin/StoryTest.kt and bindings/python/test_story.py.
// Runs on macOS with `swift test` after scripts/build-xcframework.sh; it cannot
// run on the Linux CI machine (no Apple toolchain), where the Kotlin and Python
// tests cover the same surface.
import XCTest
@testable import Sealshare

final class StoryTests: XCTestCase {
    let base = "https://notes.example/join"

    func testTheWholeStory() throws {
        let server = MemoryServer()
        let alice = try Account.create(handle: "alice")
        let bob = try Account.create(handle: "bob")
        let carol = try Account.create(handle: "carol")
        let a = try Session(account: alice, server: server)
        let b = try Session(account: bob, server: server)
        let c = try Session(account: carol, server: server)

        let bobCard = try parseIdentityCard(card: try bob.identity().card)
        XCTAssertEqual(try safetyNumber(mine: try alice.identity(), theirs: bobCard),
                       try safetyNumber(mine: bobCard, theirs: try alice.identity()))
        try a.markVerified(card: bobCard)

        let notes = try a.createCollection(name: "Notes", description: "team notes")
        try notes.share(session: a, card: try bob.identity(), role: .viewer)
        try notes.share(session: a, card: try carol.identity(), role: .collaborator)

        let shared = try b.sharedWithMe()
        XCTAssertEqual(shared.map { $0.name }, ["Notes"])
        let bobs = try b.openCollection(id: shared[0].id)
        try bobs.accept(session: b)
        let carols = try c.openCollection(id: notes.id())
        try carols.accept(session: c)

        let item = try carols.addFile(session: c, parentId: nil, name: "todo.md",
                                      mediaType: "text/markdown", content: Data("- ship it".utf8))
        _ = try bobs.sync(session: b)
        XCTAssertEqual(try bobs.read(session: b, item: item), Data("- ship it".utf8))
        XCTAssertThrowsError(try bobs.addFile(session: b, parentId: nil, name: "nope.md",
                                              mediaType: "text/markdown", content: Data("x".utf8))) { error in
            guard case SealshareError.NotAllowedByRole = error else { return XCTFail("\(error)") }
        }

        _ = try notes.sync(session: a)
        try notes.remove(session: a, member: "bob")
        let later = try notes.addFile(session: a, parentId: nil, name: "later.md",
                                      mediaType: "text/markdown", content: Data("secret".utf8))
        _ = try? bobs.sync(session: b)
        XCTAssertThrowsError(try bobs.read(session: b, item: later))

        let url = try notes.createInviteLink(session: a, baseUrl: base, role: .viewer,
                                             validForSeconds: 3600, maxUses: 0, approval: false)
        let dave = try Session(account: try Account.create(handle: "dave"), server: server)
        let daves = try dave.join(url: url)
        XCTAssertEqual(try daves.read(session: dave, item: later), Data("secret".utf8))

        let publicUrl = try notes.createPublicLink(session: a, baseUrl: base, scope: .live,
                                                   validForSeconds: 3600, password: nil)
        let view = try PublicLinkView.open(server: server, url: publicUrl, password: nil)
        XCTAssertEqual(view.items().items.map { $0.name }.sorted(), ["later.md", "todo.md"])
        XCTAssertEqual(view.items().unreadable.count, 0)
    }

    func testWrongPasswordAndCorruptedInput() throws {
        let created = try ProtectedAccount.create(handle: "erin", password: "correct horse battery", constrained: true)
        let keystore = created.keystore()
        XCTAssertThrowsError(try Account.unlock(keystore: keystore, password: "wrong")) { error in
            guard case SealshareError.WrongPassword = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try parseIdentityCard(card: Data("not a card".utf8))) { error in
            guard case SealshareError.Malformed = error else { return XCTFail("\(error)") }
        }
    }
}
