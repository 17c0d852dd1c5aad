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
        try notes.share(card: try bob.identity(), role: .viewer)
        try notes.share(card: try carol.identity(), role: .collaborator)

        let listing = try b.listCollections()
        XCTAssertEqual(listing.pending.map { $0.name }, ["Notes"])
        XCTAssertEqual(listing.pending.map { $0.kind }, [.share])
        XCTAssertTrue(listing.failed.isEmpty)
        let bobs = try b.openCollection(id: listing.pending[0].id)
        try bobs.accept()
        XCTAssertEqual(try b.listCollections().shared.map { $0.name }, ["Notes"])
        let carols = try c.openCollection(id: notes.id())
        try carols.accept()

        let item = try carols.addFile(parentId: nil, name: "todo.md",
                                      mediaType: "text/markdown", content: Data("- ship it".utf8))
        _ = try bobs.sync()
        XCTAssertEqual(try bobs.read(item: item), Data("- ship it".utf8))
        XCTAssertThrowsError(try bobs.addFile(parentId: nil, name: "nope.md",
                                              mediaType: "text/markdown", content: Data("x".utf8))) { error in
            guard case SealshareError.NotAllowedByRole = error else { return XCTFail("\(error)") }
        }

        _ = try notes.sync()
        try notes.remove(member: "bob")
        let later = try notes.addFile(parentId: nil, name: "later.md",
                                      mediaType: "text/markdown", content: Data("secret".utf8))
        _ = try? bobs.sync()
        XCTAssertThrowsError(try bobs.read(item: later))

        let url = try notes.createInviteLink(baseUrl: base, role: .viewer,
                                             validForSeconds: 3600, maxUses: 0, approval: false)
        let dave = try Session(account: try Account.create(handle: "dave"), server: server)
        let daves = try dave.join(url: url)
        XCTAssertEqual(try daves.read(item: later), Data("secret".utf8))

        let publicUrl = try notes.createPublicLink(baseUrl: base, scope: .live,
                                                   validForSeconds: 3600, password: nil)
        let view = try PublicLinkView.open(server: server, url: publicUrl, password: nil)
        XCTAssertEqual(view.items().items.map { $0.name }.sorted(), ["later.md", "todo.md"])
        XCTAssertEqual(view.items().unreadable.count, 0)
    }

    func testWrongPasswordAndCorruptedInput() throws {
        let created = try ProtectedAccount.create(handle: "erin", password: "correct horse battery", profile: .constrained)
        let keystore = created.keystore()
        XCTAssertThrowsError(try Account.unlock(keystore: keystore, password: "wrong")) { error in
            guard case SealshareError.WrongPassword = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try parseIdentityCard(card: Data("not a card".utf8))) { error in
            guard case SealshareError.Malformed = error else { return XCTFail("\(error)") }
        }
    }
}
