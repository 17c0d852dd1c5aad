//! What each command does.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use sealshare::{
    Collection, Error, Identity, InviteTerms, ItemId, ItemKind, LinkUrl, PublicLinkTerms,
    PublicScopeChoice, PublicView, Result, Role, SharedWithMe,
};
use serde_json::json;

use crate::profile::Profile;
use crate::store::Store;
use crate::{AccountCmd, Cli, CollectionCmd, Command, Filter, IdentityCmd, InviteCmd, LinkCmd};

/// `println!` that never panics (a closed pipe is not a crash).
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
pub(crate) use say;

/// Content above this size gets a progress bar.
const PROGRESS_FROM: u64 = 4 << 20;

/// The error as a sentence for a person.
pub fn explain(e: &Error) -> String {
    match e {
        Error::WrongPassword => "wrong password.".into(),
        Error::KeyChanged { handle } => format!(
            "the identity key of {handle} changed since you first saw it. Compare safety numbers \
             (`sealshare verify {handle}`) before trusting the new key."
        ),
        Error::InvalidOperation { .. } => format!("{e}."),
        Error::LinkRevoked => "this link was revoked by the collection's admins.".into(),
        Error::LinkExpired { .. } => format!("{e}; ask for a new link."),
        Error::Fork { .. } | Error::RolledBack { .. } | Error::ContentMismatch => {
            format!("the store is not telling the truth: {e}.")
        }
        other => format!("{other}."),
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

fn store(cli: &Cli) -> Result<Arc<Store>> {
    let dir = cli.store.clone().unwrap_or_else(|| home(cli).join("store"));
    Ok(Arc::new(Store::open(&dir)?))
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

use sealshare::collection::client::system_time as now;

fn unlock(cli: &Cli) -> Result<Profile> {
    Profile::unlock(&profile_dir(cli), store(cli)?, &password("password")?)
}

fn item_ref(c: &Collection, reference: &str) -> Result<ItemId> {
    if let Ok(id) = ItemId::from_text(reference)
        && c.state().items().contains_key(&id)
    {
        return Ok(id);
    }
    let matches: Vec<_> = c
        .items()?
        .into_iter()
        .filter(|i| i.metadata.name == reference)
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.id),
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
pub fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Demo => crate::demo::run(),
        Command::Account(AccountCmd::Create { handle }) => {
            let pw = password("new password")?;
            let (p, phrase) = Profile::create(&profile_dir(cli), store(cli)?, handle, &pw, now())?;
            let card = p.client.account().identity();
            say!("created {} ({})", card.handle(), profile_dir(cli).display());
            say!("fingerprint: {}", card.fingerprint());
            say!("recovery phrase (write it down, it is shown once):\n  {phrase}");
            Ok(())
        }
        Command::Account(AccountCmd::Show) => {
            let p = unlock(cli)?;
            let card = p.client.account().identity();
            if cli.json {
                say!(
                    "{}",
                    json!({"handle": card.handle(), "fingerprint": card.fingerprint().digits()})
                );
            } else {
                say!("{}\nfingerprint: {}", card.handle(), card.fingerprint());
            }
            Ok(())
        }
        Command::Account(AccountCmd::Unlock) => {
            let p = unlock(cli)?;
            let handle = p.client.account().identity().handle().to_owned();
            if cli.json {
                say!("{}", json!({"handle": handle, "unlocked": true}));
            } else {
                say!("unlocked {handle}: the password opens the keystore and the saved state");
            }
            Ok(())
        }
        Command::Account(AccountCmd::ChangePassword) => {
            let dir = profile_dir(cli);
            let path = dir.join("keystore");
            let mut keystore =
                sealshare::Keystore::from_text(std::fs::read_to_string(&path)?.trim())?;
            let old = password("current password")?;
            let new = secret_input("SEALSHARE_NEW_PASSWORD", "new password")?;
            let params = keystore.params();
            keystore.change_password(&old, &new, params)?;
            std::fs::write(&path, keystore.to_text())?;
            say!("password changed (one key re-wrapped; nothing else re-encrypted)");
            Ok(())
        }
        Command::Account(AccountCmd::Recover) => {
            let path = profile_dir(cli).join("keystore");
            let mut keystore =
                sealshare::Keystore::from_text(std::fs::read_to_string(&path)?.trim())?;
            let phrase = sealshare::RecoveryPhrase::parse(&secret_input(
                "SEALSHARE_RECOVERY_PHRASE",
                "recovery phrase",
            )?)?;
            let new = secret_input("SEALSHARE_NEW_PASSWORD", "new password")?;
            let params = keystore.params();
            keystore.recover_and_set_password(&phrase, &new, params)?;
            std::fs::write(&path, keystore.to_text())?;
            say!("recovered: the new password unlocks the account");
            Ok(())
        }
        Command::Identity(IdentityCmd::Export) => {
            let p = unlock(cli)?;
            say!("{}", p.client.account().identity().to_text());
            Ok(())
        }
        Command::Identity(IdentityCmd::Import { file }) => {
            let mut p = unlock(cli)?;
            let card = Identity::from_text(std::fs::read_to_string(file)?.trim())?;
            p.client.observe(&card)?;
            p.save()?;
            say!("pinned {} ({})", card.handle(), card.fingerprint());
            Ok(())
        }
        Command::Verify { handle, confirm } => {
            let mut p = unlock(cli)?;
            let card = p.store.card(handle)?;
            p.client.observe(&card)?;
            let number = p.client.account().identity().safety_number(&card);
            say!("safety number with {handle}:\n  {number}");
            if *confirm {
                let t = now();
                p.client
                    .trust_mut()
                    .mark_verified(handle, &card.fingerprint(), t)?;
                say!("marked {handle} verified");
            } else {
                say!("compare it with {handle} in person, then run again with --confirm");
            }
            p.save()
        }
        Command::Collection(cmd) => collection(cli, cmd),
        Command::Put {
            collection,
            path,
            into,
        } => {
            let mut p = unlock(cli)?;
            let mut c = p.resolve(collection)?;
            let parent = into.as_deref().map(|r| item_ref(&c, r)).transpose()?;
            let count = put_path(&mut p, &mut c, parent, path)?;
            p.save_collection(&c)?;
            say!("added {count} item(s) to {}", c.name()?);
            Ok(())
        }
        Command::Get {
            collection,
            item,
            output,
        } => {
            let mut p = unlock(cli)?;
            let c = p.resolve(collection)?;
            let id = item_ref(&c, item)?;
            let size = c.item(id)?.metadata.size;
            let pb = bar(size, "get");
            let direct = output.as_ref().is_some_and(|p| p.exists() && !p.is_file());
            let written = match output {
                Some(path) if direct => {
                    // A device such as /dev/null: write straight to it.
                    let mut out = pb.wrap_write(std::io::BufWriter::new(
                        std::fs::OpenOptions::new().write(true).open(path)?,
                    ));
                    c.read_into(&p.client, id, &mut out)?
                }
                Some(path) => {
                    let tmp = path.with_extension("sealshare-partial");
                    let mut out =
                        pb.wrap_write(std::io::BufWriter::new(std::fs::File::create(&tmp)?));
                    let n = c.read_into(&p.client, id, &mut out);
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
                None => c.read_into(&p.client, id, &mut pb.wrap_write(std::io::stdout()))?,
            };
            pb.finish_and_clear();
            p.save_collection(&c)?;
            if output.is_some() {
                eprintln!("wrote {written} bytes (verified against the signed header)");
            }
            Ok(())
        }
        Command::Ls { collection } => {
            let mut p = unlock(cli)?;
            let c = p.resolve(collection)?;
            let items = c.items()?;
            if cli.json {
                let list: Vec<_> = items
                    .iter()
                    .map(|i| json!({"id": i.id.to_text(), "name": i.metadata.name, "folder": i.kind == ItemKind::Folder,
                        "size": i.metadata.size, "version": i.version(), "creator": i.creator, "trashed": i.trashed,
                        "parent": i.parent.map(|p| p.to_text())}))
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
        Command::Mv {
            collection,
            item,
            into,
        } => {
            let mut p = unlock(cli)?;
            let mut c = p.resolve(collection)?;
            let id = item_ref(&c, item)?;
            let parent = into.as_deref().map(|r| item_ref(&c, r)).transpose()?;
            c.move_item(&mut p.client, id, parent)?;
            done(&p, &c, &format!("moved {item}"))
        }
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
            let card = p.store.card(handle)?;
            c.share(&mut p.client, &card, (*role).into())?;
            done(
                &p,
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
        Command::Invite(cmd) => invite(cli, cmd),
        Command::Link(cmd) => link(cli, cmd),
    }
}

fn done(p: &Profile, c: &Collection, message: &str) -> Result<()> {
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
    done(&p, &c, message)
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
    done(&p, &c, &format!("{verb} {item}"))
}

fn put_path(
    p: &mut Profile,
    c: &mut Collection,
    parent: Option<ItemId>,
    path: &Path,
) -> Result<usize> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::InvalidArgument(format!("{} has no name", path.display())))?;
    if path.is_dir() {
        let folder = c.add_folder(&mut p.client, parent, &name)?;
        let mut count = 1;
        let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            count += put_path(p, c, Some(folder), &entry.path())?;
        }
        Ok(count)
    } else {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let pb = bar(len, "put");
        // Unbuffered: the library reads in batches of megabytes.
        let mut reader = pb.wrap_read(file);
        c.add_file_from_reader(&mut p.client, parent, &name, media_type(&name), &mut reader)?;
        pb.finish_and_clear();
        Ok(1)
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

fn collection(cli: &Cli, cmd: &CollectionCmd) -> Result<()> {
    let mut p = unlock(cli)?;
    match cmd {
        CollectionCmd::Create { name, description } => {
            let c = Collection::create(&mut p.client, name, description)?;
            p.save_collection(&c)?;
            if cli.json {
                say!("{}", json!({"id": c.id().to_text(), "name": name}));
            } else {
                say!("created {name} ({})", c.id());
            }
            Ok(())
        }
        CollectionCmd::List { filter } => {
            let me = p.client.account().handle().to_owned();
            let mut rows = Vec::new();
            for id in p.known()? {
                if let Ok(c) = p.collection(id)
                    && c.owner() == me
                    && matches!(filter, Filter::All | Filter::Mine)
                {
                    rows.push((
                        c.id().to_text(),
                        c.name()?,
                        c.owner().to_owned(),
                        "owner".to_owned(),
                    ));
                }
            }
            if matches!(filter, Filter::All | Filter::Shared | Filter::Pending) {
                for s in SharedWithMe::fetch(&mut p.client)?.shared {
                    let pending = s.accepted_at.is_none();
                    let wanted = match filter {
                        Filter::Pending => pending,
                        Filter::Shared => !pending,
                        _ => true,
                    };
                    if wanted {
                        let role = if pending {
                            format!("{} (pending)", s.role)
                        } else {
                            s.role.to_string()
                        };
                        rows.push((s.collection.id().to_text(), s.name, s.owner, role));
                    }
                }
            }
            if cli.json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|(id, name, owner, role)| json!({"id": id, "name": name, "owner": owner, "role": role}))
                    .collect();
                say!("{}", serde_json::Value::Array(list));
            } else {
                for (id, name, owner, role) in rows {
                    say!("{id} {name:<24} owner {owner:<16} {role}");
                }
            }
            p.save()
        }
        CollectionCmd::Members { collection } => {
            let c = p.resolve(collection)?;
            for m in c.members() {
                let accepted = m
                    .accepted_at
                    .map_or("pending".to_owned(), |t| format!("accepted {t}"));
                if cli.json {
                    say!(
                        "{}",
                        json!({"handle": m.card.handle(), "role": m.role.name(), "added_by": m.added_by, "added_at": m.added_at, "accepted_at": m.accepted_at})
                    );
                } else {
                    say!(
                        "{:<16} {:<12} added by {} at {}, {accepted}",
                        m.card.handle(),
                        m.role,
                        m.added_by,
                        m.added_at
                    );
                }
            }
            p.save_collection(&c)
        }
        CollectionCmd::History { collection } => {
            let c = p.resolve(collection)?;
            for h in c.history() {
                if cli.json {
                    say!(
                        "{}",
                        json!({"seq": h.seq, "time": h.time, "author": h.author, "text": h.text})
                    );
                } else {
                    say!("#{:<4} {} {}", h.seq, h.time, h.text);
                }
            }
            p.save_collection(&c)
        }
    }
}

fn invite(cli: &Cli, cmd: &InviteCmd) -> Result<()> {
    let mut p = unlock(cli)?;
    match cmd {
        InviteCmd::Create {
            collection,
            role,
            valid_for,
            uses,
            approval,
        } => {
            let mut c = p.resolve(collection)?;
            let terms = InviteTerms {
                role: (*role).into(),
                valid_for: *valid_for,
                max_uses: *uses,
                approval: *approval,
            };
            let url =
                c.create_invite_link(&mut p.client, "https://sealshare.invalid/join", terms)?;
            p.save_collection(&c)?;
            say!("{}", url.to_url());
            Ok(())
        }
        InviteCmd::List { collection } => {
            let c = p.resolve(collection)?;
            for l in c.links() {
                let state = if l.revoked.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                let kind = match l.terms.kind {
                    sealshare::log::link::LinkKind::Invite { .. } => "invite",
                    sealshare::log::link::LinkKind::Public { .. } => "public",
                };
                let joined: Vec<String> = l.joins.iter().map(|(h, t)| format!("{h}@{t}")).collect();
                say!(
                    "{} {kind} by {} expires {} {state} joined: {}",
                    l.terms.link,
                    l.creator,
                    l.terms.expires_at,
                    joined.join(", ")
                );
            }
            Ok(())
        }
        InviteCmd::Revoke {
            collection,
            link,
            all,
        } => {
            let mut c = p.resolve(collection)?;
            match (link, all) {
                (_, true) => c.revoke_all_links(&mut p.client)?,
                (Some(l), false) => {
                    c.revoke_link(&mut p.client, sealshare::log::LinkId::from_text(l)?)?
                }
                (None, false) => {
                    return Err(Error::InvalidArgument("name a link id, or --all".into()));
                }
            }
            done(&p, &c, "revoked")
        }
        InviteCmd::Join { url } => {
            let c = Collection::join(&mut p.client, &LinkUrl::parse(url)?)?;
            done(
                &p,
                &c,
                &format!(
                    "joined {} as {}",
                    c.name()?,
                    c.role_of(p.client.account().handle())
                        .map_or("?".into(), |r| r.to_string())
                ),
            )
        }
    }
}

fn link(cli: &Cli, cmd: &LinkCmd) -> Result<()> {
    match cmd {
        LinkCmd::Create {
            collection,
            snapshot,
            password,
            valid_for,
        } => {
            let mut p = unlock(cli)?;
            let mut c = p.resolve(collection)?;
            let terms = PublicLinkTerms {
                scope: if *snapshot {
                    PublicScopeChoice::Snapshot
                } else {
                    PublicScopeChoice::Live
                },
                valid_for: *valid_for,
                password: password.clone(),
                ..Default::default()
            };
            let url = c.create_public_link(&mut p.client, "https://sealshare.invalid/s", &terms)?;
            p.save_collection(&c)?;
            say!("{}", url.to_url());
            Ok(())
        }
        LinkCmd::List { collection } => invite(
            cli,
            &InviteCmd::List {
                collection: collection.clone(),
            },
        ),
        LinkCmd::Revoke {
            collection,
            link,
            all,
        } => invite(
            cli,
            &InviteCmd::Revoke {
                collection: collection.clone(),
                link: link.clone(),
                all: *all,
            },
        ),
        LinkCmd::Open {
            url,
            password,
            get,
            output,
        } => {
            let view = PublicView::open(
                store(cli)?,
                &LinkUrl::parse(url)?,
                password.as_deref(),
                now(),
            )?;
            let items = view.items()?;
            match get {
                None => {
                    for i in &items {
                        say!("{} {:>10} {}", i.id, i.metadata.size, i.metadata.name);
                    }
                    Ok(())
                }
                Some(name) => {
                    let item = items
                        .iter()
                        .find(|i| i.metadata.name == *name || i.id.to_text() == *name)
                        .ok_or_else(|| {
                            Error::NotFound(format!("the link shows no item {name:?}"))
                        })?;
                    let bytes = view.read(item.id)?;
                    match output {
                        Some(path) => std::fs::write(path, &bytes)?,
                        None => std::io::stdout().lock().write_all(&bytes)?,
                    }
                    Ok(())
                }
            }
        }
    }
}
