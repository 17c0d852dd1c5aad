//! The authority table: for every kind of operation and every standing of its
//! signer, who may sign it. It is written once, here, as one exhaustive match;
//! SPEC.md §Authority prints the same table. The `state` modules check only
//! what the operation must be consistent with (the item exists, the wraps go to
//! the right members, the ceiling of a grant); whether the signer may ask at
//! all is decided here, before any of that.
//!
//! The ceiling for every grant is [`check_grant`]: every path that gives
//! someone a role (share, invitation, completing an invitation, an invite
//! link's creation and each join through it, approval, change of role) calls it
//! with the granter's role at the moment the grant takes effect.

use crate::log::rules::{Action, Role, Violation};

/// Where an operation's signer stands in the collection just before it.
///
/// Standing is checked before role: a member who has not accepted, or who
/// waits for approval, may sign only what their standing allows, whatever
/// role they were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not in the collection: never added, removed, or left. May only found
    /// the collection (operation 0) or join through an invite link.
    Outsider,
    /// Added by a share or a completed invitation and not accepted yet: holds
    /// a wrap of the key but may only accept, decline (leave) or leave.
    Pending(Role),
    /// Joined through an invite link that needs approval: holds no key, and
    /// may only leave until an admin approves.
    AwaitingApproval(Role),
    /// An accepted member who holds the current epoch key, at their role.
    Member(Role),
}

/// What an operation asks to do, as the authority table's rows list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Found the collection (operation 0 only).
    Create,
    /// Join through an invite link, proving its secret.
    Join,
    /// Accept the share that added the signer.
    Accept,
    /// Leave, or decline a share.
    Leave,
    /// An action of the roles table, for accepted key-holding members only.
    Act(Action),
}

/// Decides whether a signer of `standing` may make `request`. The only place
/// that decides it: every kind of operation maps to one [`Request`] and every
/// signer to one [`Standing`], and every pair has an arm below.
pub fn authorize(request: Request, author: &str, standing: Standing) -> Result<(), Violation> {
    use Standing::{AwaitingApproval, Member, Outsider, Pending};
    let not_member = || Violation::NotAMember {
        author: author.to_owned(),
    };
    match (request, standing) {
        (Request::Create, Outsider) => Ok(()),
        (Request::Create, Pending(_) | AwaitingApproval(_) | Member(_)) => Err(Violation::Genesis),
        (Request::Join, Outsider) => Ok(()),
        (Request::Join, Pending(_) | AwaitingApproval(_) | Member(_)) => {
            Err(Violation::AlreadyMember(author.to_owned()))
        }
        (Request::Accept, Pending(_)) => Ok(()),
        (Request::Accept, AwaitingApproval(_) | Member(_)) => {
            Err(Violation::AlreadyAccepted(author.to_owned()))
        }
        (Request::Accept, Outsider) => Err(not_member()),
        (Request::Leave, Pending(_) | AwaitingApproval(_)) => Ok(()),
        (Request::Leave, Member(Role::Owner)) => Err(Violation::OwnerCannotLeave),
        (
            Request::Leave,
            Member(Role::Viewer | Role::Collaborator | Role::Editor | Role::Admin),
        ) => Ok(()),
        (Request::Leave, Outsider) => Err(not_member()),
        (Request::Act(_), Outsider) => Err(not_member()),
        (Request::Act(_), Pending(_)) => Err(Violation::NotAccepted {
            author: author.to_owned(),
        }),
        (Request::Act(_), AwaitingApproval(_)) => Err(Violation::AwaitsApproval(author.to_owned())),
        (Request::Act(action), Member(role)) => {
            if role.may(action) {
                Ok(())
            } else {
                Err(Violation::RoleTooLow {
                    author: author.to_owned(),
                    role,
                    action,
                })
            }
        }
    }
}

/// The one ceiling for every grant: `granter` (at their role when the grant
/// takes effect) may give, keep or take away `granted` only strictly below
/// their own role, and the owner role passes only by transfer.
///
/// `target` names who (or which link) the grant is for, for the error.
pub fn check_grant(
    author: &str,
    granter: Role,
    target: &str,
    granted: Role,
) -> Result<(), Violation> {
    if granted == Role::Owner {
        return Err(Violation::OwnerOnlyByTransfer);
    }
    if granted >= granter {
        return Err(Violation::NotBelowOwnRole {
            author: author.to_owned(),
            role: granter,
            target: target.to_owned(),
            target_role: granted,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDINGS: [Standing; 10] = [
        Standing::Outsider,
        Standing::Pending(Role::Viewer),
        Standing::Pending(Role::Admin),
        Standing::AwaitingApproval(Role::Viewer),
        Standing::AwaitingApproval(Role::Admin),
        Standing::Member(Role::Viewer),
        Standing::Member(Role::Collaborator),
        Standing::Member(Role::Editor),
        Standing::Member(Role::Admin),
        Standing::Member(Role::Owner),
    ];

    #[test]
    fn no_one_who_holds_no_key_may_touch_keys_or_items() {
        for action in [
            Action::RotateKey,
            Action::RecoverKey,
            Action::AddItem,
            Action::EditOwnItem,
            Action::EditAnyItem,
            Action::Rename,
            Action::ManageMembers,
            Action::ManageLinks,
        ] {
            for role in Role::ALL {
                for standing in [
                    Standing::Outsider,
                    Standing::Pending(role),
                    Standing::AwaitingApproval(role),
                ] {
                    assert!(
                        authorize(Request::Act(action), "m", standing).is_err(),
                        "{standing:?} may {action:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn rotations_need_a_collaborator_and_recoveries_an_admin() {
        let may = |role, action| authorize(Request::Act(action), "m", Standing::Member(role));
        assert!(may(Role::Viewer, Action::RotateKey).is_err());
        assert!(may(Role::Collaborator, Action::RotateKey).is_ok());
        assert!(may(Role::Editor, Action::RecoverKey).is_err());
        assert!(may(Role::Admin, Action::RecoverKey).is_ok());
    }

    #[test]
    fn self_actions_follow_standing_alone() {
        for s in STANDINGS {
            let join = authorize(Request::Join, "m", s).is_ok();
            let create = authorize(Request::Create, "m", s).is_ok();
            let accept = authorize(Request::Accept, "m", s).is_ok();
            let leave = authorize(Request::Leave, "m", s).is_ok();
            assert_eq!(join, s == Standing::Outsider);
            assert_eq!(create, s == Standing::Outsider);
            assert_eq!(accept, matches!(s, Standing::Pending(_)));
            assert_eq!(
                leave,
                !matches!(s, Standing::Outsider | Standing::Member(Role::Owner))
            );
        }
    }

    #[test]
    fn no_grant_reaches_the_granters_role() {
        for granter in Role::ALL {
            for granted in Role::ALL {
                let verdict = check_grant("a", granter, "b", granted);
                assert_eq!(
                    verdict.is_ok(),
                    granted < granter,
                    "{granter} grants {granted}"
                );
                if granted == Role::Owner {
                    assert_eq!(verdict, Err(Violation::OwnerOnlyByTransfer));
                }
            }
        }
    }
}
