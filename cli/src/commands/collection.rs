//! Collections: create, list (all, mine, shared with me, pending), members,
//! history.

use sealshare::{CardTrust, Collection, CollectionList, PendingKind, Result};
use serde_json::json;

use super::{explain, say, unlock};
use crate::backend::Backend;
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
            // What this device verified before is synced from its checkpoint
            // (only what is new is verified); what the store lists besides
            // is opened. Every collection that does not verify is listed
            // with why, whatever the filter, and the command fails after the
            // list.
            let mut known = Vec::new();
            let mut failed = Vec::new();
            for id in p.known()? {
                match p.saved(id) {
                    Ok(Some(c)) => known.push(c),
                    Ok(None) => {}
                    Err(e) => failed.push((id, e)),
                }
            }
            let list = CollectionList::fetch_with(&mut p.client, known)?;
            failed.extend(list.failed);
            let mut rows = Vec::new();
            let mut keep = Vec::new();
            for (l, status) in list
                .mine
                .into_iter()
                .map(|l| (l, "owner"))
                .chain(list.shared.into_iter().map(|l| (l, "member")))
            {
                let wanted = match filter {
                    Filter::All => true,
                    Filter::Mine => status == "owner",
                    Filter::Shared => status == "member",
                    Filter::Pending => false,
                };
                if wanted {
                    rows.push(Row {
                        id: l.collection.id().to_text(),
                        name: l.name,
                        owner: l.owner,
                        role: l.role.to_string(),
                        status,
                        error: None,
                    });
                }
                keep.push(l.collection);
            }
            for pending in list.pending {
                if matches!(filter, Filter::All | Filter::Pending) {
                    let (status, why) = match pending.kind {
                        PendingKind::Share => ("pending", "pending: accept or decline"),
                        PendingKind::Approval => ("awaiting approval", "awaiting approval"),
                        PendingKind::Invitation => ("invited", "invited by handle"),
                    };
                    rows.push(Row {
                        id: pending.collection.id().to_text(),
                        name: pending.name.unwrap_or_else(|| "?".to_owned()),
                        owner: pending.owner,
                        role: format!("{} ({why}, by {})", pending.role, pending.by),
                        status,
                        error: None,
                    });
                }
                keep.push(pending.collection);
            }
            for (id, e) in &failed {
                rows.push(Row {
                    id: id.to_text(),
                    name: "?".to_owned(),
                    owner: "?".to_owned(),
                    role: format!("does not verify: {}", explain(e)),
                    status: "failed",
                    error: Some(explain(e)),
                });
            }
            if cli.json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({"id": r.id, "name": r.name, "owner": r.owner, "role": r.role,
                               "status": r.status, "error": r.error})
                    })
                    .collect();
                say!("{}", serde_json::Value::Array(list));
            } else {
                for r in rows {
                    say!("{} {:<24} owner {:<16} {}", r.id, r.name, r.owner, r.role);
                }
            }
            for c in &keep {
                p.save_collection(c)?;
            }
            p.save()?;
            failed.into_iter().next().map_or(Ok(()), |(_, e)| Err(e))
        }
        CollectionCmd::Members { collection } => {
            let c = p.resolve(collection)?;
            for m in c.members() {
                let accepted = m
                    .accepted_at
                    .map_or("pending".to_owned(), |t| format!("accepted {t}"));
                // This user's trust in the card the log holds for them.
                let trust = match p.client.assess(&m.card) {
                    CardTrust::Unpinned => format!("introduced by {}", m.added_by),
                    CardTrust::Pinned => "pinned".to_owned(),
                    CardTrust::Verified { .. } => "verified".to_owned(),
                    CardTrust::Changed { pinned } => format!(
                        "KEY CHANGED, unconfirmed (pinned {}, log has {})",
                        pinned.fingerprint(),
                        m.card.fingerprint()
                    ),
                };
                if cli.json {
                    say!(
                        "{}",
                        json!({"handle": m.card.handle(), "role": m.role.name(), "added_by": m.added_by, "added_at": m.added_at, "accepted_at": m.accepted_at, "fingerprint": m.card.fingerprint().to_string(), "trust": trust})
                    );
                } else {
                    say!(
                        "{:<16} {:<12} added by {} at {}, {accepted}; {trust}",
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

/// `sealshare watch COLLECTION`: prints each verified change as it
/// arrives, one history line (or JSON object) each, and saves the
/// collection's checkpoint after each; stops after `count` changes.
pub(super) fn watch(cli: &Cli, collection: &str, count: Option<u64>) -> Result<()> {
    let mut p = unlock(cli)?;
    let mut c = p.resolve(collection)?;
    let mut printed = 0u64;
    loop {
        if count.is_some_and(|n| printed >= n) {
            return p.save_collection(&c);
        }
        let head = c.state().len();
        match &p.backend {
            Backend::Server(remote) => {
                remote.wait_for_changes(&[(c.id(), head)], std::time::Duration::from_secs(30))?;
            }
            Backend::Store(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
        let seen = c.history().len();
        c.sync(&mut p.client)?;
        for h in c.history().iter().skip(seen) {
            if count.is_some_and(|n| printed >= n) {
                break;
            }
            if cli.json {
                say!(
                    "{}",
                    json!({"seq": h.seq, "time": h.time, "author": h.author, "text": h.text})
                );
            } else {
                say!("#{:<4} {} {}", h.seq, h.time, h.text);
            }
            printed += 1;
        }
        p.save_collection(&c)?;
    }
}

/// One line of `collection list`.
struct Row {
    id: String,
    name: String,
    owner: String,
    role: String,
    /// owner, member, pending, awaiting approval, invited or failed.
    status: &'static str,
    error: Option<String>,
}
