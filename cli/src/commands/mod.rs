//! What each command does: the shared helpers and the dispatch here, the
//! commands in one module per concept.

mod account;
mod collection;
mod items;
mod links;

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use sealshare::{Collection, Error, ItemId, Result, Role, UnreadableItem};

use crate::backend::Place;
use crate::profile::Profile;
use crate::store::Store;
use crate::{Cli, Command};

/// `println!` that never panics (a closed pipe is not a crash).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
pub(crate) use say;

/// Content above this size gets a progress bar.
pub(super) const PROGRESS_FROM: u64 = 4 << 20;

/// The error as a sentence for a person.
pub(crate) fn explain(e: &Error) -> String {
    match e {
        Error::WrongPassword => "wrong password.".into(),
        Error::KeyChanged {
            handle,
            pinned,
            presented,
        } => format!(
            "the identity key of {handle} changed since you accepted it.\n  pinned:    {}\n  presented: {}\n\
             Learn from {handle} in person that they have new keys, then accept them \
             (`sealshare verify {handle} --confirm-change`).",
            pinned.fingerprint(),
            presented.fingerprint()
        ),
        Error::InvalidOperation { .. } => format!("{e}."),
        Error::LinkRevoked => "this link was revoked by the collection's admins.".into(),
        Error::LinkExpired { .. } => format!("{e}; ask for a new link."),
        Error::Fork { .. }
        | Error::RolledBack { .. }
        | Error::ContentMismatch
        | Error::WrongListing { .. } => {
            format!("the store is not telling the truth: {e}.")
        }
        other => format!("{other}."),
    }
}

/// Says on stderr which items of a listing could not be read, and why: they
/// are left out of what is printed, never silently.
fn report_unreadable(unreadable: &[UnreadableItem]) {
    for u in unreadable {
        eprintln!(
            "sealshare: item {} cannot be read and is not listed: {}",
            u.id,
            explain(&u.error)
        );
    }
}

fn home(cli: &Cli) -> PathBuf {
    cli.home.clone().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".sealshare")
    })
}

/// Where the collections live: the server given with `--server`, else the
/// store folder.
fn place(cli: &Cli) -> Result<Place> {
    if let Some(url) = &cli.server {
        let roots =
            match &cli.server_roots {
                Some(file) => Some(std::fs::read(file).map_err(|e| {
                    Error::Remote(format!("--server-roots {}: {e}", file.display()))
                })?),
                None => None,
            };
        return Ok(Place::Server {
            url: url.clone(),
            roots,
        });
    }
    let dir = cli.store.clone().unwrap_or_else(|| home(cli).join("store"));
    Ok(Place::Store(Arc::new(Store::open(&dir)?)))
}

fn profile_dir(cli: &Cli) -> PathBuf {
    home(cli).join("profiles").join(&cli.profile)
}

fn password(prompt: &str) -> Result<String> {
    secret_input("SEALSHARE_PASSWORD", prompt)
}

fn secret_input(var: &str, prompt: &str) -> Result<String> {
    if let Ok(p) = std::env::var(var) {
        return Ok(p);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        // Typed at a terminal: read without echo.
        return Ok(rpassword::prompt_password(format!("{prompt}: "))?);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

use sealshare::system_time as now;

fn unlock(cli: &Cli) -> Result<Profile> {
    Profile::unlock(&profile_dir(cli), &place(cli)?, &password("password")?)
}

fn item_ref(c: &Collection, reference: &str) -> Result<ItemId> {
    if let Ok(id) = ItemId::from_text(reference)
        && c.state().items().contains_key(&id)
    {
        return Ok(id);
    }
    let listing = c.items();
    let matches: Vec<_> = listing
        .items
        .iter()
        .filter(|i| i.metadata.name == reference)
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.id),
        [] if !listing.unreadable.is_empty() => Err(Error::NotFound(format!(
            "no readable item named {reference:?} ({} item(s) could not be read: see `sealshare ls`)",
            listing.unreadable.len()
        ))),
        [] => Err(Error::NotFound(format!("no item named {reference:?}"))),
        _ => Err(Error::InvalidArgument(format!(
            "several items are named {reference:?}: use the id (see `sealshare ls`)"
        ))),
    }
}

fn bar(len: u64, verb: &str) -> ProgressBar {
    if len < PROGRESS_FROM {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(verb.to_owned());
    pb
}

/// Runs one command.
pub(crate) fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Demo => crate::demo::run(),
        Command::Watch { collection, count } => collection::watch(cli, collection, *count),
        Command::Account(cmd) => account::account(cli, cmd),
        Command::Identity(cmd) => account::identity(cli, cmd),
        Command::Verify {
            handle,
            confirm,
            confirm_change,
        } => account::verify(cli, handle, *confirm, *confirm_change),
        Command::Collection(cmd) => collection::collection(cli, cmd),
        Command::Put {
            collection,
            path,
            into,
        } => items::put(cli, collection, path, into.as_deref()),
        Command::Get {
            collection,
            item,
            output,
        } => items::get(cli, collection, item, output.as_deref()),
        Command::Ls { collection } => items::ls(cli, collection),
        Command::Mv {
            collection,
            item,
            into,
        } => items::mv(cli, collection, item, into.as_deref()),
        Command::Trash { collection, item } => item_op(
            cli,
            collection,
            item,
            |c, p, id| c.trash(&mut p.client, id),
            "trashed",
        ),
        Command::Restore { collection, item } => item_op(
            cli,
            collection,
            item,
            |c, p, id| c.restore(&mut p.client, id),
            "restored",
        ),
        Command::Purge { collection, item } => item_op(
            cli,
            collection,
            item,
            |c, p, id| c.purge(&mut p.client, id),
            "purged",
        ),
        Command::Share {
            collection,
            handle,
            role,
        } => {
            let mut p = unlock(cli)?;
            let mut c = p.resolve(collection)?;
            let card = p.backend.card(handle)?;
            c.share(&mut p.client, &card, (*role).into())?;
            done(
                &mut p,
                &c,
                &format!("shared with {handle} as {}", Role::from(*role)),
            )
        }
        Command::Accept { collection } => {
            members_op(cli, collection, |c, p| c.accept(&mut p.client), "accepted")
        }
        Command::Role {
            collection,
            handle,
            role,
        } => {
            let role = Role::from(*role);
            members_op(
                cli,
                collection,
                |c, p| c.change_role(&mut p.client, handle, role),
                &format!("{handle} is now {role}"),
            )
        }
        Command::Remove { collection, handle } => members_op(
            cli,
            collection,
            |c, p| c.remove(&mut p.client, handle),
            &format!("removed {handle}; the key rotated"),
        ),
        Command::Leave { collection } => {
            members_op(cli, collection, |c, p| c.leave(&mut p.client), "left")
        }
        Command::Unshare { collection } => members_op(
            cli,
            collection,
            |c, p| c.unshare(&mut p.client),
            "unshared: only you keep it",
        ),
        Command::Transfer { collection, handle } => members_op(
            cli,
            collection,
            |c, p| c.transfer_ownership(&mut p.client, handle),
            &format!("{handle} is now the owner; you are an admin"),
        ),
        Command::Invite(cmd) => links::invite(cli, cmd),
        Command::Link(cmd) => links::link(cli, cmd),
    }
}

fn done(p: &mut Profile, c: &Collection, message: &str) -> Result<()> {
    p.save_collection(c)?;
    p.save()?;
    say!("{message}");
    Ok(())
}

fn members_op(
    cli: &Cli,
    collection: &str,
    f: impl FnOnce(&mut Collection, &mut Profile) -> Result<()>,
    message: &str,
) -> Result<()> {
    let mut p = unlock(cli)?;
    let mut c = p.resolve(collection)?;
    f(&mut c, &mut p)?;
    done(&mut p, &c, message)
}

fn item_op(
    cli: &Cli,
    collection: &str,
    item: &str,
    f: impl FnOnce(&mut Collection, &mut Profile, ItemId) -> Result<()>,
    verb: &str,
) -> Result<()> {
    let mut p = unlock(cli)?;
    let mut c = p.resolve(collection)?;
    let id = item_ref(&c, item)?;
    f(&mut c, &mut p, id)?;
    done(&mut p, &c, &format!("{verb} {item}"))
}
