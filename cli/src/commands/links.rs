//! Invite links (create, list, revoke, join) and public links (create, list,
//! revoke, open without an account).

use sealshare::{
    Collection, Error, InviteTerms, LinkUrl, PublicLinkTerms, PublicScope, PublicView, Result,
};

use sealshare::LinkKind;
use sealshare::Violation;
use serde_json::json;

use super::items::write_output;
use super::{done, now, place, report_unreadable, say, secret_input, unlock};
use crate::profile::Profile;
use crate::{Cli, InviteCmd, LinkCmd};

/// `sealshare invite ...`
pub(super) fn invite(cli: &Cli, cmd: &InviteCmd) -> Result<()> {
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
        InviteCmd::List { collection } => list(cli, &mut p, collection, Kind::Invite),
        InviteCmd::Revoke {
            collection,
            link,
            all,
        } => {
            let mut c = p.resolve(collection)?;
            match (link, all) {
                (_, true) => c.revoke_all_links(&mut p.client)?,
                (Some(l), false) => {
                    c.revoke_link(&mut p.client, sealshare::LinkId::from_text(l)?)?
                }
                (None, false) => {
                    return Err(Error::InvalidArgument("name a link id, or --all".into()));
                }
            }
            done(&mut p, &c, "revoked")
        }
        InviteCmd::Join { url } => {
            let c = Collection::join(&mut p.client, &LinkUrl::parse(url)?)?;
            let message = format!(
                "joined {} as {}",
                c.name()?,
                c.role_of(p.client.account().handle())
                    .map_or("?".into(), |r| r.to_string())
            );
            done(&mut p, &c, &message)
        }
    }
}

/// `sealshare link ...`
pub(super) fn link(cli: &Cli, cmd: &LinkCmd) -> Result<()> {
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
                    PublicScope::Snapshot
                } else {
                    PublicScope::Live
                },
                valid_for: *valid_for,
                password: if *password {
                    Some(link_password()?)
                } else {
                    None
                },
                ..Default::default()
            };
            let url = c.create_public_link(&mut p.client, "https://sealshare.invalid/s", &terms)?;
            p.save_collection(&c)?;
            say!("{}", url.to_url());
            Ok(())
        }
        LinkCmd::List { collection } => list(cli, &mut unlock(cli)?, collection, Kind::Public),
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
            let password = if *password || std::env::var_os(LINK_PASSWORD).is_some() {
                Some(link_password()?)
            } else {
                None
            };
            let view = match PublicView::open(
                place(cli)?.connect(None)?.remote(),
                &LinkUrl::parse(url)?,
                password.as_deref(),
                now(),
            ) {
                Err(Error::WrongPassword) if password.is_none() => {
                    return Err(Error::InvalidArgument(
                        "this link has a password: open it with --password".into(),
                    ));
                }
                other => other?,
            };
            let listing = view.items();
            report_unreadable(&listing.unreadable);
            let items = listing.items;
            match get {
                None if cli.json => {
                    let list: Vec<_> = items
                        .iter()
                        .map(|i| json!({"id": i.id.to_text(), "name": i.metadata.name, "size": i.metadata.size}))
                        .collect();
                    say!("{}", serde_json::Value::Array(list));
                    Ok(())
                }
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
                    write_output(output.as_deref(), item.metadata.size, |out| {
                        view.read_into(item.id, out)
                    })?;
                    Ok(())
                }
            }
        }
    }
}

/// Which links a listing shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invite,
    Public,
}

/// `sealshare invite list` / `sealshare link list`: the collection's links of
/// one kind, revoked and expired ones included, with who joined through each.
fn list(cli: &Cli, p: &mut Profile, collection: &str, kind: Kind) -> Result<()> {
    let c = p.resolve(collection)?;
    let t = now();
    let mut rows = Vec::new();
    for l in c.links() {
        let this = match l.terms.kind {
            LinkKind::Invite { .. } => Kind::Invite,
            LinkKind::Public { .. } => Kind::Public,
        };
        if this != kind {
            continue;
        }
        let state = match c.state().link_refusal(l, t, &|_| true) {
            None => "live",
            Some(Violation::LinkRevoked) => "revoked",
            Some(Violation::LinkUsedUp) => "used up",
            Some(Violation::LinkExpired { .. }) => "expired",
            Some(_) => "lapsed (its creator no longer may grant it)",
        };
        if cli.json {
            let joined: Vec<_> = l
                .joins
                .iter()
                .map(|(h, at)| json!({"handle": h, "at": at}))
                .collect();
            rows.push(json!({"id": l.terms.link.to_text(), "creator": l.creator, "created_at": l.created_at,
                "expires_at": l.terms.expires_at, "state": state, "joined": joined}));
        } else {
            let joined: Vec<String> = l.joins.iter().map(|(h, at)| format!("{h}@{at}")).collect();
            let kind = if kind == Kind::Invite {
                "invite"
            } else {
                "public"
            };
            say!(
                "{} {kind} by {} expires {} {state} joined: {}",
                l.terms.link,
                l.creator,
                l.terms.expires_at,
                joined.join(", ")
            );
        }
    }
    if cli.json {
        say!("{}", serde_json::Value::Array(rows));
    }
    p.save_collection(&c)
}

/// Where a link's password comes from when no terminal asks for it.
const LINK_PASSWORD: &str = "SEALSHARE_LINK_PASSWORD";

/// A link's password: from SEALSHARE_LINK_PASSWORD, else typed without echo
/// at a terminal, else one line of standard input. Never an argument: the
/// command line is visible to other users of the machine.
fn link_password() -> Result<String> {
    let password = secret_input(LINK_PASSWORD, "link password")?;
    if password.is_empty() {
        return Err(Error::InvalidArgument(
            "the link password is empty: set SEALSHARE_LINK_PASSWORD or type it when asked".into(),
        ));
    }
    Ok(password)
}
