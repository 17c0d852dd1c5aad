//! Items: put a file or a folder tree, get, list, move.

use std::io::Write;
use std::path::{Path, PathBuf};

use sealshare::{Collection, Error, ItemId, ItemKind, Result};
use serde_json::json;

use super::{PROGRESS_FROM, bar, done, item_ref, report_unreadable, say, unlock};
use crate::Cli;
use crate::profile::Profile;

/// `sealshare put COLLECTION PATH [--into FOLDER]`
pub(super) fn put(cli: &Cli, collection: &str, path: &Path, into: Option<&str>) -> Result<()> {
    let mut p = unlock(cli)?;
    let mut c = p.resolve(collection)?;
    let parent = into.map(|r| item_ref(&c, r)).transpose()?;
    let mut added = Vec::new();
    // One commit for the whole tree: a file costs what sealing it does, not a
    // flush to disk.
    let backend = p.backend.clone();
    backend.batch(|| put_path(&mut p, &mut c, parent, path, &mut added))?;
    p.save_collection(&c)?;
    if cli.json {
        let list: Vec<_> = added
            .iter()
            .map(|(path, id)| json!({"path": path.display().to_string(), "id": id.to_text()}))
            .collect();
        say!("{}", serde_json::Value::Array(list));
    } else {
        say!("added {} item(s) to {}", added.len(), c.name()?);
    }
    Ok(())
}

/// `sealshare get COLLECTION ITEM [-o FILE]`
pub(super) fn get(cli: &Cli, collection: &str, item: &str, output: Option<&Path>) -> Result<()> {
    let mut p = unlock(cli)?;
    let c = p.resolve(collection)?;
    let id = item_ref(&c, item)?;
    let size = c.item(id)?.metadata.size;
    let written = write_output(output, size, |out| c.read_into(&p.client, id, out))?;
    p.save_collection(&c)?;
    if output.is_some() {
        eprintln!("wrote {written} bytes (verified against the signed header)");
    }
    Ok(())
}

/// Runs `read`, which streams `size` bytes of verified plaintext, into
/// `output` (standard output if none), with a progress bar for large content.
/// A regular file appears only once all of it is verified: the bytes go to a
/// temporary file beside it, renamed on success and removed on failure. A
/// device such as /dev/null is written straight to.
pub(super) fn write_output(
    output: Option<&Path>,
    size: u64,
    read: impl FnOnce(&mut (dyn Write + Send)) -> Result<u64>,
) -> Result<u64> {
    let pb = bar(size, "get");
    let written = match output {
        Some(path) if path.exists() && !path.is_file() => {
            let device = std::fs::OpenOptions::new().write(true).open(path)?;
            let mut out = pb.wrap_write(std::io::BufWriter::new(device));
            let n = read(&mut out)?;
            out.flush()?;
            n
        }
        Some(path) => {
            let tmp = path.with_extension("sealshare-partial");
            let mut out = pb.wrap_write(std::io::BufWriter::new(std::fs::File::create(&tmp)?));
            let n = read(&mut out).and_then(|n| {
                out.flush()?;
                Ok(n)
            });
            drop(out);
            match n {
                Ok(n) => {
                    std::fs::rename(&tmp, path)?;
                    n
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
        }
        None => {
            let mut out = pb.wrap_write(std::io::stdout());
            let n = read(&mut out)?;
            out.flush()?;
            n
        }
    };
    pb.finish_and_clear();
    Ok(written)
}

/// `sealshare ls COLLECTION`
pub(super) fn ls(cli: &Cli, collection: &str) -> Result<()> {
    let mut p = unlock(cli)?;
    let c = p.resolve(collection)?;
    let listing = c.items();
    report_unreadable(&listing.unreadable);
    let items = listing.items;
    if cli.json {
        let list: Vec<_> = items
            .iter()
            .map(|i| {
                json!({"id": i.id.to_text(), "name": i.metadata.name, "folder": i.kind == ItemKind::Folder,
                    "size": i.metadata.size, "version": i.version(), "creator": i.creator, "trashed": i.trashed,
                    "parent": i.parent.map(|p| p.to_text())})
            })
            .collect();
        say!("{}", serde_json::Value::Array(list));
    } else {
        for i in &items {
            let kind = if i.kind == ItemKind::Folder {
                "dir "
            } else {
                "file"
            };
            let trash = if i.trashed { " (trash)" } else { "" };
            say!(
                "{} {kind} {:>10} v{} {:<12} {}{trash}",
                i.id,
                i.metadata.size,
                i.version(),
                i.creator,
                i.metadata.name
            );
        }
    }
    p.save_collection(&c)
}

/// `sealshare mv COLLECTION ITEM [--into FOLDER]` (no folder: the top level)
pub(super) fn mv(cli: &Cli, collection: &str, item: &str, into: Option<&str>) -> Result<()> {
    let mut p = unlock(cli)?;
    let mut c = p.resolve(collection)?;
    let id = item_ref(&c, item)?;
    let parent = into.map(|r| item_ref(&c, r)).transpose()?;
    c.move_item(&mut p.client, id, parent)?;
    done(&mut p, &c, &format!("moved {item}"))
}

/// Adds the file or folder tree at `path` under `parent`, noting each item
/// added (folders before what they hold, entries in name order).
fn put_path(
    p: &mut Profile,
    c: &mut Collection,
    parent: Option<ItemId>,
    path: &Path,
    added: &mut Vec<(PathBuf, ItemId)>,
) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::InvalidArgument(format!("{} has no name", path.display())))?;
    if path.is_dir() {
        let folder = c.add_folder(&mut p.client, parent, &name)?;
        added.push((path.to_owned(), folder));
        let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            put_path(p, c, Some(folder), &entry.path(), added)?;
        }
        Ok(())
    } else {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let kind = media_type(&name);
        // Unbuffered: the library reads in batches of megabytes. A file too
        // small for a progress bar is read as it is, without one.
        let id = if len < PROGRESS_FROM {
            c.add_file_from_reader(&mut p.client, parent, &name, kind, &mut file)?
        } else {
            let pb = bar(len, "put");
            let mut reader = pb.wrap_read(file);
            let id = c.add_file_from_reader(&mut p.client, parent, &name, kind, &mut reader)?;
            pb.finish_and_clear();
            id
        };
        added.push((path.to_owned(), id));
        Ok(())
    }
}

fn media_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "txt" | "md" => "text/plain",
        "json" | "ipynb" => "application/json",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}
