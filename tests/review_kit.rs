//! SECURITY.md stays checkable: every test its attack tables name exists, in
//! the file the row or its section says, and is a test. A renamed or deleted test fails here
//! instead of leaving a reviewer a claim with nothing behind it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};

/// Every Rust file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `source` defines a test function `name`.
fn defines_test(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        line.trim_start().starts_with(&format!("fn {name}("))
            && lines[i.saturating_sub(3)..i]
                .iter()
                .any(|l| l.trim() == "#[test]")
    })
}

/// The files a path-qualified reference points into: `tests/x.rs::name`, or a
/// module path of the library (`crypto::wrap::tests::name`, whose tests may be
/// in the module's file or in its own `tests.rs`) or of the integration tests
/// (`collections::leaving::name`).
fn candidates(root: &Path, reference: &str, all: &[PathBuf]) -> Vec<PathBuf> {
    if let Some((file, _)) = reference.split_once(".rs::") {
        return vec![root.join(format!("{file}.rs"))];
    }
    let mut parts: Vec<&str> = reference.split("::").collect();
    parts.pop();
    if parts.last() == Some(&"tests") {
        parts.pop();
    }
    if parts.is_empty() {
        return all.to_vec();
    }
    let module = parts.join("/");
    [
        format!("src/{module}.rs"),
        format!("src/{module}/mod.rs"),
        format!("src/{module}/tests.rs"),
        format!("tests/{module}.rs"),
        format!("tests/{module}/main.rs"),
    ]
    .iter()
    .map(|p| root.join(p))
    .collect()
}

/// A test of the bindings named in SECURITY.md: a Python or Kotlin file
/// (which must exist), `file.py::name` (a `def name(` in it), or a bare name
/// after such a file in the same cell (a `def` or `fun` of that name in it).
/// `None` when the span is not about a binding test.
fn binding_test(root: &Path, span: &str, cell_file: &mut Option<String>) -> Option<bool> {
    let is_binding = |f: &str| f.ends_with(".py") || f.ends_with(".kt");
    let defines = |file: &str, name: &str| {
        fs::read_to_string(root.join(file)).is_ok_and(|source| {
            source.contains(&format!("def {name}(")) || source.contains(&format!("fun {name}("))
        })
    };
    if is_binding(span) {
        *cell_file = Some(span.to_owned());
        return Some(root.join(span).is_file());
    }
    if let Some((file, name)) = span.split_once("::")
        && is_binding(file)
    {
        *cell_file = Some(file.to_owned());
        return Some(defines(file, name));
    }
    match cell_file {
        Some(file) if is_binding(file) && !span.contains("::") => Some(defines(file, span)),
        _ => None,
    }
}

#[test]
fn every_test_security_md_names_exists_where_it_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let security = fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let mut all = Vec::new();
    for dir in ["src", "tests", "cli", "bindings", "fuzz/targets"] {
        rust_files(&root.join(dir), &mut all);
    }
    let mut checked = 0;
    let mut missing = Vec::new();
    // A bare name lives in the file its section names for its tests, or in the
    // file of the path-qualified name before it in the same cell.
    let mut section_file: Option<&str> = None;
    for line in security.lines() {
        if line.starts_with("## ") {
            section_file = None;
        }
        if !line.starts_with('|')
            && let Some(file) = line
                .split('`')
                .skip(1)
                .step_by(2)
                .find(|span| span.starts_with("tests/") && span.ends_with(".rs"))
        {
            section_file = Some(file);
        }
        if !line.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        let Some(last) = cells.last() else { continue };
        let mut cell_file = section_file.map(str::to_owned);
        // The test column holds `code` spans; commands and paths are not tests.
        for span in last.split('`').skip(1).step_by(2) {
            if span.contains(' ') || span.ends_with('/') {
                continue;
            }
            if let Some(found) = binding_test(root, span, &mut cell_file) {
                if !found {
                    missing.push(span.to_owned());
                }
                checked += 1;
                continue;
            }
            let name = span.rsplit("::").next().unwrap_or(span);
            let files = if span.contains("::") {
                if let Some((file, _)) = span.split_once(".rs::") {
                    cell_file = Some(format!("{file}.rs"));
                }
                candidates(root, span, &all)
            } else {
                match &cell_file {
                    Some(file) => vec![root.join(file)],
                    None => all.clone(),
                }
            };
            let found = files
                .iter()
                .filter_map(|p| fs::read_to_string(p).ok())
                .any(|source| defines_test(&source, name));
            if !found {
                missing.push(span.to_owned());
            }
            checked += 1;
        }
    }
    assert!(
        missing.is_empty(),
        "SECURITY.md names tests that do not exist: {missing:?}"
    );
    assert!(
        checked >= 50,
        "only {checked} test names found in SECURITY.md's tables"
    );
}
