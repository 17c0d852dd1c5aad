//! Invite links (create, list, revoke, join) and public links (create, list,
//! revoke, open without an account).

use sealshare::{
    Collection, Error, InviteTerms, LinkUrl, PublicLinkTerms, PublicScopeChoice, PublicView, Result,
};

use super::items::write_output;
use super::{done, now, say, store, unlock};
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
                    write_output(output.as_deref(), item.metadata.size, |out| {
                        view.read_into(item.id, out)
                    })?;
                    Ok(())
                }
            }
        }
    }
}
