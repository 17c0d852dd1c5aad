#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The command line over a real `sealshare-server` (`--server URL`): two
//! users on two profiles share, read, are refused by role, are removed, and
//! join by link, with every request signed and nothing on a local store.

#[path = "../../tests/support/server_process.rs"]
mod server_process;

use std::process::Command;

use server_process::ServerProcess;

struct Env {
    home: tempfile::TempDir,
    server: ServerProcess,
}

impl Env {
    fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            server: ServerProcess::start(),
        }
    }

    /// A server over TLS with a self-signed certificate for 127.0.0.1,
    /// whose PEM is at `self.path("cert.pem")`.
    fn with_tls() -> Self {
        let home = tempfile::tempdir().unwrap();
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert_file = home.path().join("cert.pem");
        let key_file = home.path().join("key.pem");
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, signing_key.serialize_pem()).unwrap();
        let server = ServerProcess::start_tls(&cert_file, &key_file);
        Self { home, server }
    }

    fn cmd(&self, profile: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sealshare"));
        c.env("SEALSHARE_HOME", self.home.path())
            .env("SEALSHARE_PASSWORD", format!("{profile} password"))
            .env("SEALSHARE_SERVER", &self.server.base)
            .env("SEALSHARE_KDF", "constrained")
            .env_remove("SEALSHARE_LINK_PASSWORD")
            .env_remove("SEALSHARE_STORE")
            .args(["--profile", profile])
            .args(args);
        c
    }

    fn ok(&self, profile: &str, args: &[&str]) -> String {
        let out = self.cmd(profile, args).output().unwrap();
        assert!(
            out.status.success(),
            "{profile}: {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, profile: &str, args: &[&str]) -> String {
        let out = self.cmd(profile, args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    fn path(&self, p: &str) -> String {
        self.home.path().join(p).to_string_lossy().into_owned()
    }
}

#[test]
fn over_https_the_command_line_trusts_the_given_roots_and_nothing_else() {
    let env = Env::with_tls();
    assert!(env.server.base.starts_with("https://127.0.0.1:"));
    let roots = env.path("cert.pem");
    let with_roots = |profile: &str, args: &[&str]| {
        let mut all = vec!["--server-roots", roots.as_str()];
        all.extend_from_slice(args);
        env.ok(profile, &all)
    };
    with_roots("alice", &["account", "create", "alice"]);
    with_roots("alice", &["collection", "create", "Notes"]);
    std::fs::write(env.path("a.txt"), b"hello over https").unwrap();
    with_roots("alice", &["put", "Notes", &env.path("a.txt")]);
    assert_eq!(
        with_roots("alice", &["get", "Notes", "a.txt"]),
        "hello over https"
    );

    // With the bundled roots only, the self-signed certificate is refused.
    let refused = env.fails("alice", &["get", "Notes", "a.txt"]);
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
    // A roots file that is not PEM is refused before anything is sent.
    std::fs::write(env.path("bad.pem"), b"not pem").unwrap();
    let bad = env.fails(
        "alice",
        &["--server-roots", &env.path("bad.pem"), "ls", "Notes"],
    );
    assert!(bad.contains("root certificates"), "{bad}");
}

#[test]
fn two_users_share_read_are_refused_removed_and_join_by_link_over_the_server() {
    let env = Env::new();
    for who in ["alice", "bob", "carol"] {
        assert!(
            env.ok(who, &["account", "create", who])
                .contains("recovery phrase")
        );
    }
    // Nothing is kept on a local store: the server holds it all.
    assert!(!env.home.path().join("store").exists());
    env.ok("alice", &["collection", "create", "Notes"]);
    std::fs::write(env.path("a.txt"), b"hello over the server").unwrap();
    env.ok("alice", &["put", "Notes", &env.path("a.txt")]);
    env.ok("alice", &["share", "Notes", "bob", "--role", "viewer"]);

    // Bob sees the share, accepts it, and reads.
    let pending = env.ok("bob", &["collection", "list", "--filter", "pending"]);
    assert!(pending.contains("Notes"), "{pending}");
    env.ok("bob", &["accept", "Notes"]);
    assert_eq!(
        env.ok("bob", &["get", "Notes", "a.txt"]),
        "hello over the server"
    );
    // A viewer's write is refused by the rules, and nothing changes.
    std::fs::write(env.path("b.txt"), b"from bob").unwrap();
    let refused = env.fails("bob", &["put", "Notes", &env.path("b.txt")]);
    assert!(refused.contains("viewer"), "{refused}");
    assert!(!env.ok("alice", &["ls", "Notes"]).contains("b.txt"));

    // Removed, bob reads nothing more: the server refuses him the log.
    env.ok("alice", &["remove", "Notes", "bob"]);
    let gone = env.fails("bob", &["get", "Notes", "a.txt"]);
    assert!(gone.contains("403 forbidden"), "{gone}");

    // Carol, a stranger to the collection, joins through an invite link.
    let url = env.ok("alice", &["invite", "create", "Notes", "--role", "viewer"]);
    assert!(
        env.ok("carol", &["invite", "join", url.trim()])
            .contains("joined Notes as viewer")
    );
    assert_eq!(
        env.ok("carol", &["get", "Notes", "a.txt"]),
        "hello over the server"
    );
    // A public link opens for someone with no account at all.
    let public = env.ok("alice", &["link", "create", "Notes"]);
    let shown = env.ok("nobody", &["link", "open", public.trim(), "--get", "a.txt"]);
    assert_eq!(shown, "hello over the server");
}

#[test]
fn a_second_device_signs_in_with_the_password_or_the_recovery_phrase() {
    let env = Env::new();
    let created = env.ok("alice", &["account", "create", "alice"]);
    let phrase = created
        .lines()
        .skip_while(|l| !l.contains("recovery phrase"))
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    env.ok("alice", &["collection", "create", "Notes"]);
    std::fs::write(env.path("a.txt"), b"on every device").unwrap();
    env.ok("alice", &["put", "Notes", &env.path("a.txt")]);

    // A third profile, the same account: signs in with the password, then
    // reads what the first device wrote.
    let with = |profile: &str, args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = env.cmd(profile, args);
        for (name, value) in vars {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    };
    let succeeds = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let alices = [("SEALSHARE_PASSWORD", "alice password")];
    succeeds(&with("laptop", &["account", "sign-in", "alice"], &alices));
    let get = with("laptop", &["get", "Notes", "a.txt"], &alices);
    succeeds(&get);
    assert_eq!(get.stdout, b"on every device");

    // A wrong password is refused, and no profile is made.
    let wrong = with(
        "tablet",
        &["account", "sign-in", "alice"],
        &[("SEALSHARE_PASSWORD", "not it")],
    );
    assert!(!wrong.status.success());
    assert!(!env.home.path().join("profiles/tablet/keystore").exists());

    // With the recovery phrase: a new password, which the next device uses.
    succeeds(&with(
        "tablet",
        &["account", "sign-in", "alice", "--recovery"],
        &[
            ("SEALSHARE_RECOVERY_PHRASE", &phrase),
            ("SEALSHARE_NEW_PASSWORD", "brand new"),
        ],
    ));
    succeeds(&with(
        "phone",
        &["account", "sign-in", "alice"],
        &[("SEALSHARE_PASSWORD", "brand new")],
    ));
}

#[test]
fn watch_prints_verified_changes_as_they_arrive() {
    let env = Env::new();
    for who in ["alice", "bob"] {
        env.ok(who, &["account", "create", who]);
    }
    env.ok("alice", &["collection", "create", "Notes"]);
    env.ok("alice", &["share", "Notes", "bob", "--role", "viewer"]);
    env.ok("bob", &["accept", "Notes"]);
    let watcher = env
        .cmd("bob", &["watch", "Notes", "--count", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let started = std::time::Instant::now();
    std::fs::write(env.path("a.txt"), b"news").unwrap();
    env.ok("alice", &["put", "Notes", &env.path("a.txt")]);
    env.ok("alice", &["role", "Notes", "bob", "collaborator"]);
    let out = watcher.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert!(lines[0].contains("a.txt"), "{printed}");
    assert!(lines[1].contains("collaborator"), "{printed}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// `sealshare-server reset-account ARGS` on the test server's data folder.
fn reset_account(env: &Env, args: &[&str]) -> std::process::Output {
    Command::new(server_process::server_binary())
        .arg("reset-account")
        .arg("--data")
        .arg(env.server.data())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_account_reset_by_the_operator_is_a_key_change_for_whoever_pinned_the_old_card() {
    let mut env = Env::new();
    env.ok("alice", &["account", "create", "alice"]);
    env.ok("bob", &["account", "create", "bob"]);
    env.ok("bob", &["collection", "create", "Notes"]);
    std::fs::write(env.path("a.txt"), b"from bob").unwrap();
    env.ok("bob", &["put", "Notes", &env.path("a.txt")]);
    // Sharing pins alice's card for bob.
    env.ok("bob", &["share", "Notes", "alice"]);
    env.ok("alice", &["accept", "Notes"]);

    // Alice loses every device, password and phrase. On a fresh profile she
    // makes a new account under her handle, unpublished (the server keeps
    // the old card), and writes its card for the operator.
    let created = env.ok("alice-new", &["account", "create", "alice", "--no-publish"]);
    assert!(created.contains("not published"), "{created}");
    let phrase = created
        .lines()
        .skip_while(|l| !l.contains("recovery phrase"))
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let card = env.path("alice.card");
    env.ok("alice-new", &["account", "card", "--out", &card]);
    let refused = env.fails("alice-new", &["account", "register-sign-in"]);
    assert!(
        refused.contains("card_exists") && refused.contains("reset-account"),
        "{refused}"
    );

    // Against the running server (SQLite), the reset fails and says why.
    let busy = reset_account(&env, &["--card", &card, "alice"]);
    assert_eq!(busy.status.code(), Some(1));
    let said = String::from_utf8_lossy(&busy.stderr);
    assert!(
        said.contains("running server") && said.contains("stop it"),
        "{said}"
    );
    // Nothing changed: bob's pinned card is still the published one, and
    // alice's old profile still works.
    env.ok("bob", &["verify", "alice"]);
    assert_eq!(env.ok("alice", &["get", "Notes", "a.txt"]), "from bob");

    env.server.stop();
    // A usage error is 2; a card for another handle is refused, changing
    // nothing.
    assert_eq!(reset_account(&env, &["alice"]).status.code(), Some(2));
    let wrong = reset_account(&env, &["--card", &card, "bob"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not reset"));
    let done = reset_account(&env, &["--card", &card, "alice"]);
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        said.contains("replaced the card") && said.contains("deleted 2 sign-in"),
        "{said}"
    );
    env.server.restart();

    // The old lockers are gone: the old password signs in nowhere.
    let old = env
        .cmd("laptop", &["account", "sign-in", "alice"])
        .env("SEALSHARE_PASSWORD", "alice password")
        .output()
        .unwrap();
    assert!(!old.status.success());
    // The new account works, and registers sign-in for its new secrets.
    let registered = env
        .cmd("alice-new", &["account", "register-sign-in", "--recovery"])
        .env("SEALSHARE_RECOVERY_PHRASE", &phrase)
        .output()
        .unwrap();
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    env.ok("alice-new", &["collection", "create", "Fresh"]);
    let signed_in = env
        .cmd("laptop", &["account", "sign-in", "alice"])
        .env("SEALSHARE_PASSWORD", "alice-new password")
        .output()
        .unwrap();
    assert!(
        signed_in.status.success(),
        "{}",
        String::from_utf8_lossy(&signed_in.stderr)
    );

    // The old key is refused, and can no longer replace the card.
    let stale = env.fails("alice", &["collection", "list"]);
    assert!(stale.contains("unknown_key"), "{stale}");
    let stale = env.fails("alice", &["account", "register-sign-in"]);
    assert!(stale.contains("card_exists"), "{stale}");

    // Bob, who pinned the old card, sees a key change until he accepts it.
    env.ok("bob", &["collection", "create", "Later"]);
    let changed = env.fails("bob", &["share", "Later", "alice"]);
    assert!(
        changed.contains("identity key of alice changed"),
        "{changed}"
    );
    assert!(
        env.fails("bob", &["verify", "alice"])
            .contains("identity key of alice changed")
    );
    let accepted = env.ok("bob", &["verify", "alice", "--confirm-change"]);
    assert!(
        accepted.contains("was:") && accepted.contains("now:"),
        "{accepted}"
    );
    env.ok("bob", &["share", "Later", "alice"]);
    env.ok("alice-new", &["accept", "Later"]);
    std::fs::write(env.path("b.txt"), b"after the reset").unwrap();
    env.ok("bob", &["put", "Later", &env.path("b.txt")]);
    assert_eq!(
        env.ok("alice-new", &["get", "Later", "b.txt"]),
        "after the reset"
    );
    // In the collection that holds her old card, bob removes the old
    // membership and shares again with the new one.
    env.ok("bob", &["remove", "Notes", "alice"]);
    env.ok("bob", &["share", "Notes", "alice"]);
    env.ok("alice-new", &["accept", "Notes"]);
    assert_eq!(env.ok("alice-new", &["get", "Notes", "a.txt"]), "from bob");
}
