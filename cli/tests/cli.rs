//! The command line's own tests: each command's happy path, the error paths a
//! person meets (wrong password, role refusal, revoked link, changed key,
//! corrupted blob, saved state or log operation, a full disk), README.md's
//! walk-through as written, and two processes appending to one collection at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

struct Env {
    home: tempfile::TempDir,
    /// What SEALSHARE_LINK_PASSWORD holds for the next commands.
    link_password: std::cell::RefCell<&'static str>,
}

impl Env {
    fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            link_password: std::cell::RefCell::new("sesame"),
        }
    }

    fn cmd(&self, profile: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sealshare"));
        c.env("SEALSHARE_HOME", self.home.path())
            .env("SEALSHARE_PASSWORD", format!("{profile} password"))
            .env_remove("SEALSHARE_LINK_PASSWORD")
            .args(["--profile", profile])
            .args(args);
        let link_password = *self.link_password.borrow();
        if !link_password.is_empty() {
            c.env("SEALSHARE_LINK_PASSWORD", link_password);
        }
        c
    }

    fn ok(&self, profile: &str, args: &[&str]) -> String {
        let out = self.cmd(profile, args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, profile: &str, args: &[&str]) -> String {
        let out: Output = self.cmd(profile, args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    fn path(&self, p: &str) -> String {
        self.home.path().join(p).to_string_lossy().into_owned()
    }
}

fn setup() -> Env {
    let env = Env::new();
    for who in ["alice", "bob", "carol"] {
        let out = env.ok(who, &["account", "create", who]);
        assert!(out.contains("recovery phrase"));
    }
    env.ok("alice", &["collection", "create", "Notes"]);
    env
}

#[test]
fn the_happy_paths() {
    let env = setup();
    std::fs::write(env.path("a.txt"), b"hello").unwrap();
    std::fs::create_dir_all(env.path("tree/sub")).unwrap();
    std::fs::write(env.path("tree/sub/b.md"), b"# b").unwrap();
    env.ok("alice", &["put", "Notes", &env.path("a.txt")]);
    let added: serde_json::Value =
        serde_json::from_str(&env.ok("alice", &["--json", "put", "Notes", &env.path("tree")]))
            .unwrap();
    let paths: Vec<_> = added
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            env.path("tree"),
            env.path("tree/sub"),
            env.path("tree/sub/b.md")
        ]
    );
    let number = |me: &str, them: &str| -> serde_json::Value {
        serde_json::from_str(&env.ok(me, &["--json", "verify", them])).unwrap()
    };
    let (theirs, mine) = (number("bob", "alice"), number("alice", "bob"));
    assert_eq!(
        theirs["safety_number"], mine["safety_number"],
        "both sides see one number"
    );
    assert_eq!(mine["verified"], false);
    assert!(
        env.ok("alice", &["account", "show"])
            .contains("fingerprint")
    );
    assert!(
        env.ok("alice", &["verify", "bob"])
            .contains("safety number")
    );
    env.ok("alice", &["verify", "bob", "--confirm"]);
    env.ok("alice", &["share", "Notes", "bob", "--role", "viewer"]);
    assert!(
        env.ok("bob", &["collection", "list", "--filter", "pending"])
            .contains("Notes")
    );
    env.ok("bob", &["accept", "Notes"]);
    assert_eq!(env.ok("bob", &["get", "Notes", "a.txt"]), "hello");
    let ls: serde_json::Value =
        serde_json::from_str(&env.ok("bob", &["--json", "ls", "Notes"])).unwrap();
    assert_eq!(ls.as_array().unwrap().len(), 4);
    let out = env.path("b.out");
    env.ok("bob", &["get", "Notes", "b.md", "-o", &out]);
    assert_eq!(std::fs::read(&out).unwrap(), b"# b");
    let members = env.ok("alice", &["collection", "members", "Notes"]);
    assert!(members.contains("bob"), "{members}");
    assert!(
        members.contains("verified"),
        "Alice verified Bob: {members}"
    );
    env.ok("alice", &["role", "Notes", "bob", "collaborator"]);
    env.ok("alice", &["trash", "Notes", "a.txt"]);
    env.ok("alice", &["restore", "Notes", "a.txt"]);
    env.ok("alice", &["trash", "Notes", "a.txt"]);
    env.ok("alice", &["purge", "Notes", "a.txt"]);
    env.ok("alice", &["remove", "Notes", "bob"]);
    let history = env.ok("alice", &["collection", "history", "Notes"]);
    assert!(
        history.contains("removed bob (new key epoch 1)"),
        "{history}"
    );

    // Invite links and public links.
    let url = env.ok("alice", &["invite", "create", "Notes", "--role", "viewer"]);
    assert!(
        env.ok("carol", &["invite", "join", url.trim()])
            .contains("joined Notes as viewer")
    );
    assert!(
        env.ok("alice", &["invite", "list", "Notes"])
            .contains("carol@")
    );
    let public = env.ok("alice", &["link", "create", "Notes", "--password"]);
    // The password is never an argument (other users could read it).
    env.fails(
        "nobody",
        &["link", "open", public.trim(), "--password", "sesame"],
    );
    let listing = env.ok("nobody", &["link", "open", public.trim(), "--password"]);
    assert!(listing.contains("b.md"), "{listing}");
    assert_eq!(
        env.ok(
            "nobody",
            &["link", "open", public.trim(), "--password", "--get", "b.md"]
        ),
        "# b"
    );
    let shown = env.path("shown.md");
    env.ok(
        "nobody",
        &[
            "link",
            "open",
            public.trim(),
            "--password",
            "--get",
            "b.md",
            "-o",
            &shown,
        ],
    );
    assert_eq!(std::fs::read(&shown).unwrap(), b"# b");
    assert!(
        env.ok("alice", &["link", "list", "Notes"])
            .contains("public")
    );
    let json = |profile: &str, args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&env.ok(profile, &all)).unwrap()
    };
    let invites = json("alice", &["invite", "list", "Notes"]);
    assert_eq!(invites.as_array().unwrap().len(), 1, "{invites}");
    assert_eq!(invites[0]["joined"][0]["handle"], "carol");
    let publics = json("alice", &["link", "list", "Notes"]);
    assert_eq!(publics.as_array().unwrap().len(), 1, "{publics}");
    assert_eq!(publics[0]["state"], "live");
    // SEALSHARE_LINK_PASSWORD alone is enough to open it.
    let shown = json("nobody", &["link", "open", public.trim()]);
    assert!(
        shown
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "b.md" && i["size"] == 3),
        "{shown}"
    );
    env.ok("alice", &["mv", "Notes", "b.md", "--into", "tree"]);
    assert!(
        env.ok("alice", &["collection", "history", "Notes"])
            .contains("saved version 2 of \"b.md\"")
    );
    env.ok("alice", &["link", "revoke", "Notes", "--all"]);
    assert_eq!(
        json("alice", &["link", "list", "Notes"])[0]["state"],
        "revoked"
    );
    env.ok("carol", &["leave", "Notes"]);
    env.ok("alice", &["unshare", "Notes"]);

    // Identity export and import.
    let card = env.ok("bob", &["identity", "export"]);
    std::fs::write(env.path("bob.card"), card).unwrap();
    env.ok("carol", &["identity", "import", &env.path("bob.card")]);
}

#[test]
fn errors_are_plain_sentences_and_damage_nothing() {
    let env = setup();
    std::fs::write(env.path("a.txt"), b"hello").unwrap();
    env.ok("alice", &["put", "Notes", &env.path("a.txt")]);
    env.ok("alice", &["share", "Notes", "bob", "--role", "viewer"]);
    env.ok("bob", &["accept", "Notes"]);

    let mut wrong = env.cmd("alice", &["ls", "Notes"]);
    wrong.env("SEALSHARE_PASSWORD", "not it");
    let out = wrong.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    let mut wrong = env.cmd("alice", &["account", "unlock"]);
    wrong.env("SEALSHARE_PASSWORD", "not it");
    let out = wrong.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    assert!(
        env.ok("alice", &["account", "unlock"])
            .contains("unlocked alice")
    );

    // A write that fails at the very end (a full disk) is an error, not a
    // silently short file.
    if Path::new("/dev/full").exists() {
        let full = env.fails("alice", &["get", "Notes", "a.txt", "-o", "/dev/full"]);
        assert!(full.contains("No space left"), "{full}");
    }

    let mut typo = env.cmd("zed", &["account", "create", "zed"]);
    typo.env("SEALSHARE_KDF", "interactiv");
    let out = typo.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SEALSHARE_KDF"));
    assert!(!Path::new(&env.path("profiles/zed/keystore")).exists());

    let refused = env.fails("bob", &["put", "Notes", &env.path("a.txt")]);
    assert!(
        refused.contains("\"bob\" is viewer; to add items and folders needs collaborator"),
        "{refused}"
    );

    let url = env.ok("alice", &["invite", "create", "Notes"]);
    env.ok("alice", &["invite", "revoke", "Notes", "--all"]);
    assert!(
        env.fails("carol", &["invite", "join", url.trim()])
            .contains("revoked")
    );

    let public = env.ok("alice", &["link", "create", "Notes", "--password"]);
    *env.link_password.borrow_mut() = "";
    assert!(
        env.fails("nobody", &["link", "open", public.trim()])
            .contains("has a password")
    );
    *env.link_password.borrow_mut() = "guess";
    assert!(
        env.fails("nobody", &["link", "open", public.trim(), "--password"])
            .contains("wrong password")
    );
    *env.link_password.borrow_mut() = "sesame";

    // Someone publishes another card under bob's handle: Alice, who pinned the
    // first one, is told plainly.
    env.ok("alice", &["verify", "bob"]);
    assert!(
        env.ok("mallory", &["account", "create", "bob"])
            .contains("created")
    );
    let changed = env.fails("alice", &["share", "Notes", "bob"]);
    assert!(changed.contains("identity key of bob changed"), "{changed}");
    assert!(
        changed.contains("pinned:") && changed.contains("presented:"),
        "both fingerprints are shown: {changed}"
    );
    // `verify` alone refuses too; `--confirm-change` shows both and accepts.
    assert!(
        env.fails("alice", &["verify", "bob"])
            .contains("identity key of bob changed")
    );
    let accepted = env.ok("alice", &["verify", "bob", "--confirm-change"]);
    assert!(
        accepted.contains("was:") && accepted.contains("now:"),
        "{accepted}"
    );
    env.ok("alice", &["verify", "bob"]);

    // A corrupted blob in the store: refused, and the collection stays readable.
    let blobs = Path::new(&env.path("store")).join("blobs");
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let p = entry.unwrap().path();
        let mut b = std::fs::read(&p).unwrap();
        b[40] ^= 1;
        std::fs::write(&p, b).unwrap();
    }
    let corrupted = env.fails(
        "alice",
        &["get", "Notes", "a.txt", "-o", &env.path("out.txt")],
    );
    assert!(corrupted.contains("not telling the truth"), "{corrupted}");
    assert!(
        !Path::new(&env.path("out.txt")).exists(),
        "no partial output left behind"
    );
    assert!(env.ok("alice", &["ls", "Notes"]).contains("a.txt"));

    // A corrupted saved state is reported with what to do.
    let dir = Path::new(&env.path("profiles/bob/collections")).to_owned();
    // The checkpoint files only (never whatever else the folder may hold),
    // and the first by name, so the test does not depend on the order in
    // which the file system lists them.
    let mut ckpts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ckpt"))
        .collect();
    ckpts.sort();
    let ckpt = ckpts.first().expect("bob has a checkpoint").clone();
    let mut b = std::fs::read(&ckpt).unwrap();
    let n = b.len() / 2;
    b[n] ^= 1;
    std::fs::write(&ckpt, b).unwrap();
    let id = ckpt.file_stem().unwrap().to_string_lossy().into_owned();
    let corrupted = env.fails("bob", &["ls", &id]);
    assert!(corrupted.contains("corrupted"), "{corrupted}");

    // An operation altered inside the store's database: every command that
    // meets it says the store lies, and putting the bytes back heals it (the
    // device kept everything it had verified).
    let db = rusqlite::Connection::open(Path::new(&env.path("store")).join("store.db")).unwrap();
    let (coll, seq, op): (Vec<u8>, i64, Vec<u8>) = db
        .query_row(
            "SELECT collection, seq, op FROM ops ORDER BY rowid DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let set_op = |bytes: &[u8]| {
        db.execute(
            "UPDATE ops SET op = ?1 WHERE collection = ?2 AND seq = ?3",
            rusqlite::params![bytes, coll, seq],
        )
        .unwrap();
    };
    let mut altered = op.clone();
    altered[60] ^= 1;
    set_op(&altered);
    let lies = env.fails("alice", &["ls", "Notes"]);
    assert!(lies.contains("not telling the truth"), "{lies}");
    let listed = env.fails("alice", &["collection", "list"]);
    assert!(listed.contains("not telling the truth"), "{listed}");
    let named = env.fails("alice", &["ls", "No such name"]);
    assert!(named.contains("no longer verifies"), "{named}");
    set_op(&op);
    assert!(env.ok("alice", &["ls", "Notes"]).contains("a.txt"));
}

/// `collection list` shows what the user owns, what was shared with them and
/// what waits for them, and lists every collection that does not verify with
/// why (then fails), dropping none.
#[test]
fn collection_list_shows_mine_shared_pending_and_failures() {
    let env = setup();
    env.ok("bob", &["collection", "create", "Drafts"]);
    env.ok("alice", &["share", "Notes", "bob", "--role", "viewer"]);
    let statuses = |out: &str| -> Vec<(String, String)> {
        let list: serde_json::Value = serde_json::from_str(out).unwrap();
        let mut rows: Vec<_> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_owned(),
                    r["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let pair = |n: &str, s: &str| (n.to_owned(), s.to_owned());
    assert_eq!(
        statuses(&env.ok("bob", &["--json", "collection", "list"])),
        [pair("Drafts", "owner"), pair("Notes", "pending")]
    );
    env.ok("bob", &["accept", "Notes"]);
    assert_eq!(
        statuses(&env.ok("bob", &["--json", "collection", "list"])),
        [pair("Drafts", "owner"), pair("Notes", "member")]
    );
    assert_eq!(
        statuses(&env.ok(
            "bob",
            &["--json", "collection", "list", "--filter", "shared"]
        )),
        [pair("Notes", "member")]
    );
    assert!(
        env.ok("bob", &["collection", "list", "--filter", "pending"])
            .is_empty()
    );

    // Carol shares a collection with bob, and the store alters the share.
    env.ok("carol", &["collection", "create", "Plans"]);
    env.ok("carol", &["share", "Plans", "bob", "--role", "editor"]);
    let db = rusqlite::Connection::open(Path::new(&env.path("store")).join("store.db")).unwrap();
    let (coll, op): (Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT collection, op FROM ops WHERE seq = 1 ORDER BY rowid DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut altered = op.clone();
    altered[60] ^= 1;
    db.execute(
        "UPDATE ops SET op = ?1 WHERE collection = ?2 AND seq = 1",
        rusqlite::params![altered, coll],
    )
    .unwrap();
    let out = env
        .cmd("bob", &["--json", "collection", "list", "--filter", "mine"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a failure fails the command");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        statuses(&stdout),
        [pair("?", "failed"), pair("Drafts", "owner")],
        "listed whatever the filter, the others still shown"
    );
    let text = env.cmd("bob", &["collection", "list"]).output().unwrap();
    let shown = String::from_utf8(text.stdout).unwrap();
    assert!(shown.contains("does not verify"), "{shown}");
    assert!(
        shown.contains("Notes") && shown.contains("Drafts"),
        "{shown}"
    );
    db.execute(
        "UPDATE ops SET op = ?1 WHERE collection = ?2 AND seq = 1",
        rusqlite::params![op, coll],
    )
    .unwrap();
    let listed = statuses(&env.ok("bob", &["--json", "collection", "list"]));
    assert!(listed.contains(&pair("Plans", "pending")), "{listed:?}");
}

#[test]
fn two_processes_appending_at_once_lose_nothing() {
    let env = setup();
    env.ok(
        "alice",
        &["share", "Notes", "carol", "--role", "collaborator"],
    );
    env.ok("carol", &["accept", "Notes"]);
    for i in 0..4 {
        std::fs::write(env.path(&format!("a{i}.txt")), b"a").unwrap();
        std::fs::write(env.path(&format!("c{i}.txt")), b"c").unwrap();
    }
    let mut children = Vec::new();
    for i in 0..4 {
        for (who, f) in [
            ("alice", format!("a{i}.txt")),
            ("carol", format!("c{i}.txt")),
        ] {
            let mut c = env.cmd(who, &["put", "Notes", &env.path(&f)]);
            c.stdout(std::process::Stdio::null());
            c.stderr(std::process::Stdio::piped());
            children.push(c.spawn().unwrap());
        }
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a concurrent put failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ls = env.ok("alice", &["ls", "Notes"]);
    for i in 0..4 {
        assert!(
            ls.contains(&format!("a{i}.txt")) && ls.contains(&format!("c{i}.txt")),
            "{ls}"
        );
    }
}

#[test]
fn the_demo_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_sealshare"))
        .arg("demo")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Bob (viewer) adds a file: refused"));
    assert!(text.contains("Bob reads what came after his removal: refused"));
    assert!(text.contains("opening it with a wrong password: refused"));
}

#[test]
fn password_change_and_recovery() {
    let env = Env::new();
    let created = env.ok("dan", &["account", "create", "dan"]);
    let phrase = created.lines().last().unwrap().trim().to_owned();
    assert_eq!(phrase.split(' ').count(), 24);
    let mut change = env.cmd("dan", &["account", "change-password"]);
    change.env("SEALSHARE_NEW_PASSWORD", "second password");
    assert!(change.output().unwrap().status.success());
    assert!(
        env.fails("dan", &["account", "show"])
            .contains("wrong password")
    );
    let mut show = env.cmd("dan", &["account", "show"]);
    show.env("SEALSHARE_PASSWORD", "second password");
    assert!(show.output().unwrap().status.success());
    let mut recover = env.cmd("dan", &["account", "recover"]);
    recover
        .env("SEALSHARE_RECOVERY_PHRASE", &phrase)
        .env("SEALSHARE_NEW_PASSWORD", "third password");
    assert!(recover.output().unwrap().status.success());
    let mut show = env.cmd("dan", &["account", "show"]);
    show.env("SEALSHARE_PASSWORD", "third password");
    let out = show.output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("dan"));
}

/// README.md's command-line walk-through, run as written (its folder moved to a
/// temporary one): what an evaluator types first works.
#[test]
fn the_readme_walkthrough_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let opening = "```sh\nexport SEALSHARE_HOME=/tmp/ss";
    let start = readme.find(opening).expect("the walk-through in README.md") + "```sh\n".len();
    let script = &readme[start..][..readme[start..].find("```").unwrap()];
    let home = tempfile::tempdir().unwrap();
    let script = script.replace("/tmp/ss", home.path().to_str().unwrap());
    let bin = Path::new(env!("CARGO_BIN_EXE_sealshare")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(root)
        .env("PATH", path)
        .env_remove("SEALSHARE_PROFILE")
        .env_remove("SEALSHARE_STORE")
        .env_remove("SEALSHARE_KDF")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read(home.path().join("README.md")).unwrap(),
        std::fs::read(root.join("README.md")).unwrap(),
        "bob's copy is the file alice put"
    );
    assert!(stdout.contains("joined Notes as collaborator"), "{stdout}");
    assert!(stdout.contains("shared with bob as viewer"), "{stdout}");
}

#[test]
fn a_trust_file_that_does_not_open_is_treated_as_missing_and_said() {
    let env = setup();
    env.ok("alice", &["verify", "bob", "--confirm"]);
    env.ok("alice", &["share", "Notes", "bob", "--role", "viewer"]);
    let trust_of_bob = |env: &Env| {
        let members = env.ok("alice", &["--json", "collection", "members", "Notes"]);
        members
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|m| m["handle"] == "bob")
            .map(|m| m["trust"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(trust_of_bob(&env), "verified");
    let trust = env.path("profiles/alice/trust");
    let mut bytes = std::fs::read(&trust).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 1;
    std::fs::write(&trust, bytes).unwrap();
    let out = env.cmd("alice", &["collection", "list"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("does not open"), "{said}");
    assert!(said.contains("missing"), "{said}");
    // The verified mark is gone: Bob reads as introduced, not verified.
    assert_ne!(trust_of_bob(&env), "verified");
}
