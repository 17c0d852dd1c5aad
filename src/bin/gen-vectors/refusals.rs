//! Operations every verifier must refuse, each at a point of the
//! every-operation log: [`Refusals`], which checks each one, and the groups
//! judged before the state's rules (decoding; signer, chain, time). The groups
//! judged against the state are in `refusals_by_state`.

use serde_json::{Value, json};

use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::wrap::WrappedSecret;
use sealshare::internal::log::Body;
use sealshare::{Account, CollectionId, Identity, ItemId, LinkUrl, LogState, Role};

use crate::describe::kind_of;
use crate::hand::{SMALL_ORDER_KEM, dummy_rename, dummy_rotation, epoch_ctx, hand_card};
use crate::people::People;
use crate::refusals_by_state::{authority_refusals, consistency_refusals};
use crate::{hex, invalid};

/// One refused operation: signed for position `prefix` of the log (or given as
/// bytes), refused with exactly `expect` by a verifier that verified the
/// first `prefix` operations, with clock `now`. Checked here, so the generator
/// fails rather than write a refusal the library does not make.
pub(crate) struct Refusals<'a> {
    pub(crate) id: CollectionId,
    pub(crate) ops: &'a [Vec<u8>],
    pub(crate) now: u64,
    pub(crate) out: Vec<Value>,
}

impl Refusals<'_> {
    pub(crate) fn state_at(&self, prefix: u64) -> sealshare::Result<LogState> {
        let mut state = LogState::empty(self.id);
        let ops = self
            .ops
            .get(..prefix as usize)
            .ok_or_else(|| invalid("prefix beyond the log"))?;
        state.extend_from_bytes(ops, self.now)?;
        Ok(state)
    }

    /// The operation at `seq` of the log, as its bytes.
    fn op_at(&self, seq: u64) -> sealshare::Result<Vec<u8>> {
        self.ops
            .get(seq as usize)
            .cloned()
            .ok_or_else(|| invalid("no such operation"))
    }

    /// `body` signed by `who` at the next position after `prefix`, at `time`
    /// (the previous operation's time when `None`).
    pub(crate) fn signed(
        &self,
        prefix: u64,
        who: &Account,
        time: Option<u64>,
        body: Body,
    ) -> sealshare::Result<Vec<u8>> {
        let state = self.state_at(prefix)?;
        let time = time.unwrap_or(state.last_time());
        Ok(who
            .sign_operation(self.id, prefix, state.head(), time, body)?
            .to_bytes()
            .to_vec())
    }

    /// [`Refusals::refuse`] of `body` signed by `who` at `prefix`, which the
    /// rules refuse with `violation`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn refuse_signed(
        &mut self,
        what: &str,
        prefix: u64,
        who: &Account,
        time: Option<u64>,
        body: Body,
        now: u64,
        violation: &str,
    ) -> sealshare::Result<()> {
        let bytes = self.signed(prefix, who, time, body)?;
        self.refuse(what, prefix, bytes, now, refused_op(prefix, violation))
    }

    pub(crate) fn refuse(
        &mut self,
        what: &str,
        prefix: u64,
        bytes: Vec<u8>,
        now: u64,
        expect: Value,
    ) -> sealshare::Result<()> {
        let mut state = self.state_at(prefix)?;
        let got = match state.extend_from_bytes(&[&bytes], now) {
            Ok(()) => return Err(invalid(format!("refusal {what:?} was accepted"))),
            Err(e) => kind_of(&e.into()),
        };
        if got != expect || state.len() != prefix {
            return Err(invalid(format!(
                "refusal {what:?}: expected {expect}, the library says {got}"
            )));
        }
        self.out.push(json!({
            "what": what,
            "prefix": prefix,
            "operation": hex(&bytes),
            "now": now,
            "expect": expect,
        }));
        Ok(())
    }
}

pub(crate) fn refused_op(seq: u64, violation: &str) -> Value {
    json!({ "error": "invalid_operation", "seq": seq, "violation": violation })
}

fn malformed_op(seq: u64, decode: &str) -> Value {
    json!({ "error": "invalid_operation", "seq": seq, "violation": "Malformed", "decode": decode })
}

/// The refusals at points of the every-operation log (see [`Refusals`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn refusals_of_log(
    r: &mut Refusals<'_>,
    p: &People,
    m: &dyn Fn(&str) -> u64,
    invite: &LinkUrl,
    chosen: &LinkUrl,
    seeds: ItemId,
    beds: ItemId,
) -> sealshare::Result<()> {
    // Decoding, in reading order.
    decoding_refusals(r, p, m)?;
    // Signer, chain, time.
    signer_refusals(r, p, m)?;
    // Standing and role (the authority table), decided before anything else.
    authority_refusals(r, p, m, invite, beds)?;
    // Consistency with the state.
    consistency_refusals(r, p, m, invite, chosen, seeds)?;
    Ok(())
}

/// Refusals as an operation is read, in reading order: trailing bytes, body
/// tags, a rotation's shape and recipients, a share's card.
fn decoding_refusals(
    r: &mut Refusals<'_>,
    p: &People,
    m: &dyn Fn(&str) -> u64,
) -> sealshare::Result<()> {
    let now = r.now;
    let id = r.id;
    let at = m("accepted") - 1;
    let mut bytes = r.op_at(at)?;
    bytes.push(0);
    r.refuse(
        "an operation with one trailing byte",
        at,
        bytes,
        now,
        malformed_op(at, "TrailingBytes"),
    )?;
    let at = m("shared");
    let mut bytes = r.op_at(at)?;
    // Bob's accept: its body tag follows the header, the author and the time.
    let tag_at = 2 + 16 + 8 + 32 + 4 + p.bob.handle().len() + 8;
    if let Some(b) = bytes.get_mut(tag_at) {
        *b = 0x7f;
    }
    bytes.push(0);
    r.refuse(
        "an unknown body tag and a trailing byte: the tag comes first",
        at,
        bytes,
        now,
        malformed_op(at, "Invalid"),
    )?;
    let at = m("epoch_1");
    let bytes = r.signed(
        at,
        &p.bob,
        None,
        Body::Rotate {
            rotation: dummy_rotation(2, &[1, 0], &[&p.alice, &p.bob, &p.carol])?,
        },
    )?;
    r.refuse(
        "a rotation whose previous-key epochs are not ascending",
        at,
        bytes,
        now,
        malformed_op(at, "Invalid"),
    )?;
    r.refuse_signed(
        "a rotation that leaves a key-holding member (carol) out",
        at,
        &p.bob,
        None,
        Body::Rotate {
            rotation: dummy_rotation(2, &[1], &[&p.alice, &p.bob])?,
        },
        now,
        "RotationRecipients",
    )?;
    let weak = hand_card(
        &p.mallory,
        &p.mallory.identity().signing_key().to_bytes(),
        &SMALL_ORDER_KEM,
        None,
    );
    let card = Identity::from_bytes(&hand_card(
        &p.mallory,
        &p.mallory.identity().signing_key().to_bytes(),
        &p.mallory.identity().kem_key().to_bytes(),
        None,
    ))?;
    // A share naming the weak card: swap the honest card's bytes for it.
    let at = m("accepted");
    let honest = r.signed(
        at,
        &p.alice,
        None,
        Body::Share {
            epoch: 0,
            grants: vec![sealshare::internal::log::Grant {
                card: card.clone(),
                role: Role::Viewer,
                wrap: WrappedSecret::wrap_key(
                    card.kem_key(),
                    &epoch_ctx(&id, 0, &card.fingerprint().to_bytes()),
                    &SecretKey::from_bytes([4; 32]),
                )?,
            }],
        },
    )?;
    let card_bytes = card.to_bytes();
    let pos = honest
        .windows(card_bytes.len())
        .position(|w| w == card_bytes.as_slice())
        .ok_or_else(|| invalid("card not found in the share"))?;
    let mut bytes = honest;
    bytes.splice(pos..pos + card_bytes.len(), weak.iter().copied());
    r.refuse(
        "a share whose card has a KEM key of small order",
        at,
        bytes,
        now,
        malformed_op(at, "Invalid"),
    )?;
    Ok(())
}

/// Operations refused for their signer, their chain or their time.
fn signer_refusals(
    r: &mut Refusals<'_>,
    p: &People,
    m: &dyn Fn(&str) -> u64,
) -> sealshare::Result<()> {
    let now = r.now;
    let id = r.id;
    let at = m("accepted") + 1;
    let mut bytes = r.op_at(at)?;
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    r.refuse(
        "an operation whose signature has one bit flipped",
        at,
        bytes,
        now,
        refused_op(at, "BadSignature"),
    )?;
    let state = r.state_at(at)?;
    let bytes = p
        .alice
        .sign_operation(id, at, [0; 32], state.last_time(), dummy_rename(0)?)?
        .to_bytes()
        .to_vec();
    r.refuse(
        "an operation that does not chain onto the previous one",
        at,
        bytes,
        now,
        refused_op(at, "BrokenChain"),
    )?;
    let bytes = r.signed(
        at,
        &p.alice,
        Some(state.last_time() + 1_000_000),
        dummy_rename(0)?,
    )?;
    r.refuse(
        "an operation claiming a time more than 300 s after the verifier's clock",
        at,
        bytes,
        state.last_time() + 1_000,
        json!({ "error": "not_yet_valid", "seq": at }),
    )?;
    r.refuse_signed(
        "an accept signed by someone never added",
        at,
        &p.mallory,
        None,
        Body::Accept,
        now,
        "NotAMember",
    )?;
    Ok(())
}
