//! Collections: create, list (all, mine, shared with me, pending), members,
//! history.

use sealshare::{Collection, Result, SharedWithMe};
use serde_json::json;

use super::{explain, say, unlock};
use crate::{Cli, CollectionCmd, Filter};

/// `sealshare collection ...`
pub(super) fn collection(cli: &Cli, cmd: &CollectionCmd) -> Result<()> {
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
            // A collection this device verified before and that no longer
            // verifies is listed with why, and the command fails after the list.
            let mut trouble = None;
            for id in p.known()? {
                match p.collection(id) {
                    Ok(c) if c.owner() == me && matches!(filter, Filter::All | Filter::Mine) => {
                        rows.push((
                            c.id().to_text(),
                            c.name()?,
                            c.owner().to_owned(),
                            "owner".to_owned(),
                        ));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        rows.push((
                            id.to_text(),
                            "?".to_owned(),
                            "?".to_owned(),
                            format!("does not verify: {}", explain(&e)),
                        ));
                        trouble.get_or_insert(e);
                    }
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
            p.save()?;
            trouble.map_or(Ok(()), Err)
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
