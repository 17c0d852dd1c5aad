//! The signed operation log of a collection: operations, the roles table, the
//! state they replay to, and their verification. Nothing here needs a secret
//! key: a server can verify appends with this module alone.

pub mod authority;
mod batch;
mod error;
pub mod link_terms;
pub mod op;
pub mod rules;
mod snapshot;
pub mod state;
mod verify;

pub use authority::{Request, Standing};
pub use error::{SignError, VerifyError};
pub use op::{
    Body, CollectionId, Grant, ItemHeader, ItemId, ItemKind, LinkId, MAX_OP_LEN, OpHash, Operation,
    Rotation,
};
pub use rules::{Action, Role, Violation};
pub use state::{Epoch, Event, EventKind, ItemRecord, ItemVersion, LogState, Member};
pub use verify::{ListingChange, MAX_CLOCK_SKEW};
