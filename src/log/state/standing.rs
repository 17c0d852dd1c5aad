//! Where each handle stands in the collection, and what an operation asks of
//! the authority table: the row it is checked under, and whether its signer
//! may ask at all.

use super::{Actor, ItemShape, LogState};
use crate::log::authority::{Request, Standing, authorize};
use crate::log::op::{Body, ItemId, Operation};
use crate::log::rules::{Action, Role, Violation};

impl LogState {
    /// The signer `author` may ask for `request` at all, at this point of the
    /// log: operation 0 and only it founds the collection, and the authority
    /// table ([`authorize`]) allows their standing to ask. Returns them with
    /// the role they hold now.
    pub(super) fn admit<'a>(
        &self,
        author: &'a str,
        request: Request,
    ) -> Result<Actor<'a>, Violation> {
        if (request == Request::Create) != (self.next_seq == 0) {
            return Err(Violation::Genesis);
        }
        authorize(request, author, self.standing(author))?;
        Ok(Actor {
            name: author,
            role: self.members.get(author).map_or(Role::Viewer, |m| m.role),
        })
    }

    /// Where `handle` stands just before the next operation.
    pub fn standing(&self, handle: &str) -> Standing {
        match self.members.get(handle) {
            None => Standing::Outsider,
            Some(m) if m.accepted_at.is_none() => Standing::Pending(m.role),
            Some(m) if m.key.is_none() => Standing::AwaitingApproval(m.role),
            Some(m) => Standing::Member(m.role),
        }
    }

    /// Whether `handle` appears in this collection: a member (the owner
    /// included), one added by a share or a completed invitation who has not
    /// accepted yet, one who joined through a link and awaits approval, or
    /// one invited by handle whose invitation is still open. Exactly the
    /// collections a server lists for a handle
    /// ([`crate::Remote::collections_of`]); one removed, who left, or whose
    /// invitation was cancelled does not appear.
    pub fn appears(&self, handle: &str) -> bool {
        self.members.contains_key(handle) || self.invitations.contains_key(handle)
    }

    /// Every handle that [`LogState::appears`] in this collection, each once,
    /// in no particular order (members first, then open invitations: a
    /// handle is never both).
    pub fn appearing(&self) -> impl Iterator<Item = &str> {
        self.members
            .keys()
            .chain(self.invitations.keys())
            .map(String::as_str)
    }

    /// Every handle whose [`LogState::appears`] `op` may change: its author
    /// and every handle its body names; for an unshare, everyone who appears
    /// (it removes every member but the owner and cancels every invitation).
    /// No other handle's standing changes with `op`. Every kind is named, so
    /// a new one must say what it changes.
    pub(crate) fn appearance_candidates(&self, op: &Operation) -> Vec<String> {
        let mut out = vec![op.author.clone()];
        match &op.body {
            Body::Create { owner, .. } => out.push(owner.handle().to_owned()),
            Body::Share { grants, .. } => {
                out.extend(grants.iter().map(|g| g.card.handle().to_owned()));
            }
            Body::Remove { members, .. } => out.extend(members.iter().cloned()),
            Body::Unshare { .. } => out.extend(self.appearing().map(str::to_owned)),
            Body::Join { card, .. } | Body::CompleteInvite { card, .. } => {
                out.push(card.handle().to_owned());
            }
            Body::Invite { handle, .. } | Body::CancelInvite { handle } => {
                out.push(handle.clone());
            }
            // Roles, approvals and transfers change a member's standing,
            // not whether they appear: named anyway, for a lookup each. The
            // rest touch no membership.
            Body::ChangeRole { member, .. } | Body::Approve { member, .. } => {
                out.push(member.clone());
            }
            Body::Transfer { to } => out.push(to.clone()),
            Body::Accept
            | Body::Leave
            | Body::Rename { .. }
            | Body::Rotate { .. }
            | Body::PutItem(_)
            | Body::Trash { .. }
            | Body::Restore { .. }
            | Body::Purge { .. }
            | Body::CreateLink(_)
            | Body::RevokeLinks { .. } => {}
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The authority table's row for `op`: what it asks to do. Item operations
    /// ask for the author's own items or anyone's, by the item's creator.
    pub fn request_of(&self, op: &Operation) -> Request {
        self.request(&op.author, &op.body)
    }

    /// The authority table's row for `body` signed by `author`.
    pub(super) fn request(&self, author: &str, body: &Body) -> Request {
        let item =
            |id: &ItemId, on_contents| Request::Act(self.item_action(id, author, on_contents));
        match body {
            Body::Create { .. } => Request::Create,
            Body::Join { .. } => Request::Join,
            Body::Accept => Request::Accept,
            Body::Leave => Request::Leave,
            Body::Rename { .. } => Request::Act(Action::Rename),
            Body::Share { .. }
            | Body::ChangeRole { .. }
            | Body::Remove { .. }
            | Body::Approve { .. }
            | Body::Invite { .. }
            | Body::CompleteInvite { .. }
            | Body::CancelInvite { .. } => Request::Act(Action::ManageMembers),
            Body::Unshare { .. } => Request::Act(Action::Unshare),
            Body::Transfer { .. } => Request::Act(Action::TransferOwnership),
            Body::Rotate { rotation } if rotation.is_recovery() => Request::Act(Action::RecoverKey),
            Body::Rotate { .. } => Request::Act(Action::RotateKey),
            Body::PutItem(header) => self.put_request(author, &ItemShape::of(header)),
            Body::Trash { item: id } | Body::Restore { item: id } => item(id, true),
            Body::Purge { .. } => Request::Act(Action::Purge),
            Body::CreateLink(_) | Body::RevokeLinks { .. } => Request::Act(Action::ManageLinks),
        }
    }

    /// The authority table's row for a version of the shape `shape` signed by
    /// `author`: adding an item, or editing one (acting on its contents when
    /// the version moves it).
    pub(super) fn put_request(&self, author: &str, shape: &ItemShape) -> Request {
        match self.items.get(&shape.item) {
            None => Request::Act(Action::AddItem),
            Some(rec) => {
                let moves = rec.latest.header.parent != shape.parent;
                Request::Act(self.item_action(&shape.item, author, moves))
            }
        }
    }

    /// Editing, trashing or restoring `item` needs [`Action::EditOwnItem`] for
    /// the item's creator and [`Action::EditAnyItem`] for anyone else. (A
    /// missing item asks for the least; the item rules then refuse it.)
    ///
    /// Acting `on_contents` of a folder that holds any item (trashing,
    /// restoring or moving it; purging needs Admin anyway) acts on everything
    /// inside, which may be other members' items: it needs EditAnyItem even
    /// from the folder's creator. Deliberately stricter than the role each item
    /// inside would need: that exact check would need, for every folder, who
    /// created anything below it, an aggregate to keep across moves; this one
    /// is O(1).
    fn item_action(&self, item: &ItemId, author: &str, on_contents: bool) -> Action {
        match self.items.get(item) {
            Some(rec) if *rec.creator != *author => Action::EditAnyItem,
            Some(rec) if on_contents && rec.children > 0 => Action::EditAnyItem,
            Some(_) | None => Action::EditOwnItem,
        }
    }
}
