//! The `sealshare-server` binary as a real process on a free loopback port,
//! for the tests of crates outside the server (the transport, the command
//! line): built once per test run with cargo, killed when dropped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// The server binary: `SEALSHARE_SERVER_BIN` if set (scripts/test-all.sh
/// sets it to the one its workspace test build made), else built once per
/// test run.
pub(crate) fn server_binary() -> PathBuf {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    if let Some(given) = std::env::var_os("SEALSHARE_SERVER_BIN") {
        let path = PathBuf::from(given);
        assert!(
            path.is_file(),
            "SEALSHARE_SERVER_BIN: no file at {}",
            path.display()
        );
        *built = Some(path.clone());
        return path;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "sealshare-server",
            "--bin",
            "sealshare-server",
        ])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p sealshare-server failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let path = target
        .join("debug")
        .join(format!("sealshare-server{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "no server binary at {}", path.display());
    *built = Some(path.clone());
    path
}

/// A running server on its own temporary data folder, killed when dropped.
pub(crate) struct ServerProcess {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    data: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the server on `127.0.0.1:0`, and reads its address from its
    /// first line of output. Fails the test if it does not start.
    pub(crate) fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let (child, base) = spawn(data.path(), &[]);
        Self {
            child: Some(child),
            base,
            data,
        }
    }

    /// Starts the server like [`ServerProcess::start`], serving TLS with the
    /// PEM files `cert` and `key`; `base` is then `https://127.0.0.1:PORT`.
    pub(crate) fn start_tls(cert: &Path, key: &Path) -> Self {
        let data = tempfile::tempdir().unwrap();
        let tls = [
            "--tls-cert".as_ref(),
            cert.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
        ];
        let (child, base) = spawn(data.path(), &tls);
        Self {
            child: Some(child),
            base: base.replacen("http://", "https://", 1),
            data,
        }
    }

    /// The server's data folder (SQLite), kept until this is dropped.
    pub(crate) fn data(&self) -> &Path {
        self.data.path()
    }

    /// Stops the server (killed, and waited for: the data folder is free
    /// once this returns).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data folder, stopping it first
    /// if it runs; it listens on a new port (`base` says which).
    pub(crate) fn restart(&mut self) {
        self.stop();
        let (child, base) = spawn(self.data.path(), &[]);
        self.child = Some(child);
        self.base = base;
    }
}

/// Starts the server on `data` and `127.0.0.1:0` with `extra` arguments:
/// the process, and `http://ADDR` from its first line of output.
fn spawn(data: &Path, extra: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut child = Command::new(server_binary())
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Some(Ok(line))) => line,
        other => {
            let _ = child.kill();
            panic!("the server did not start: {other:?}, {:?}", child.wait());
        }
    };
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, format!("http://{addr}"))
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
