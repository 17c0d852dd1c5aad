//! Objects that must not decode (identity cards, sealed boxes, content
//! streams, keystores), each with the error a decoder gives.

use serde_json::{Value, json};

use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::random::seeded::with_seed;
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::stream::{self, ContentDigest, ContentKey};
use sealshare::{Identity, Keystore};

use crate::describe::kind_of;
use crate::hand::{SMALL_ORDER_KEM, hand_card};
use crate::people::People;
use crate::{hex, invalid, unhex};

/// Objects that must not decode, each with the error a decoder gives: the first
/// fault in reading order.
pub(crate) fn decode_refusals(
    p: &People,
    keystore: &Value,
    content: &Value,
) -> sealshare::Result<Value> {
    with_seed(b"sealshare v1 vectors: decode refusals", || {
        let mut out = Vec::new();
        let mut add =
            |object: &str, what: &str, bytes: Vec<u8>, got: sealshare::Error, expect: Value| {
                let got = kind_of(&got);
                if got != expect {
                    return Err(invalid(format!(
                        "{what:?}: expected {expect}, the library says {got}"
                    )));
                }
                out.push(
                json!({ "object": object, "what": what, "bytes": hex(&bytes), "expect": expect }),
            );
                Ok(())
            };
        card_refusals(p, &mut add)?;
        box_refusals(&mut add)?;
        stream_refusals(content, &mut add)?;
        keystore_refusals(keystore, &mut add)?;
        Ok(Value::Array(out))
    })
}

/// Checks one decode refusal and records it: the object, what is wrong with
/// it, its bytes, the error the library gave and the one expected.
type Add<'a> =
    dyn FnMut(&str, &str, Vec<u8>, sealshare::Error, Value) -> sealshare::Result<()> + 'a;

/// The kind of a refusal with the `DecodeError` variant `d`.
fn malformed(d: &str) -> Value {
    json!({ "error": "malformed_input", "decode": d })
}

/// Identity cards (mallory's, made by hand): weak keys, non-canonical
/// signatures, a trailing byte, too long.
fn card_refusals(p: &People, add: &mut Add<'_>) -> sealshare::Result<()> {
    let card_err = |bytes: &[u8]| match Identity::from_bytes(bytes) {
        Ok(_) => invalid("card accepted"),
        Err(e) => e.into(),
    };
    let weak = json!({ "error": "weak_key" });
    let bad_sig = json!({ "error": "bad_signature" });
    let who = &p.mallory;
    let pk = who.identity().signing_key().to_bytes();
    let kem = who.identity().kem_key().to_bytes();

    let card = hand_card(who, &pk, &SMALL_ORDER_KEM, None);
    add(
        "identity_card",
        "a KEM key of small order",
        card.clone(),
        card_err(&card),
        weak.clone(),
    )?;
    let mut long = card.clone();
    long.push(0);
    add(
        "identity_card",
        "a KEM key of small order and a trailing byte: the key is read first",
        long.clone(),
        card_err(&long),
        weak.clone(),
    )?;
    // y = p + 1: a non-canonical encoding (of a point of small order).
    let mut noncanonical = [0xffu8; 32];
    noncanonical[0] = 0xee;
    noncanonical[31] = 0x7f;
    let card = hand_card(who, &noncanonical, &kem, None);
    add(
        "identity_card",
        "a non-canonical signing key",
        card.clone(),
        card_err(&card),
        weak.clone(),
    )?;
    let torsion = curve25519_dalek::edwards::CompressedEdwardsY(pk)
        .decompress()
        .zip(curve25519_dalek::constants::EIGHT_TORSION.get(1))
        .map(|(a, t)| (a + t).compress().to_bytes())
        .ok_or_else(|| invalid("torsion point"))?;
    let card = hand_card(who, &torsion, &kem, None);
    add(
        "identity_card",
        "a signing key with a torsion component (the honest key plus a point of order 8)",
        card.clone(),
        card_err(&card),
        weak.clone(),
    )?;
    let mut identity_r = [0u8; 64];
    identity_r[0] = 1;
    let card = hand_card(who, &pk, &kem, Some(identity_r));
    add(
        "identity_card",
        "a self-signature whose R is of small order (the identity) and s = 0",
        card.clone(),
        card_err(&card),
        bad_sig.clone(),
    )?;
    // s + ℓ: the same signature with a non-canonical s.
    let honest = hand_card(who, &pk, &kem, None);
    let mut sig: [u8; 64] = honest
        .get(honest.len() - 64..)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| invalid("signature"))?;
    // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
    let ell: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (s, l) in sig.iter_mut().skip(32).zip(ell) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    let card = hand_card(who, &pk, &kem, Some(sig));
    add(
        "identity_card",
        "a self-signature with s + l in place of s (not canonical)",
        card.clone(),
        card_err(&card),
        bad_sig.clone(),
    )?;
    let mut card = honest.clone();
    card.push(0);
    add(
        "identity_card",
        "a trailing byte",
        card.clone(),
        card_err(&card),
        malformed("TrailingBytes"),
    )?;
    let mut card = honest.clone();
    card.extend_from_slice(&[0; 300]);
    add(
        "identity_card",
        "longer than 398 bytes: the whole card's bound comes first",
        card.clone(),
        card_err(&card),
        malformed("TooLong"),
    )?;
    Ok(())
}

/// Sealed boxes whose lengths are wrong.
fn box_refusals(add: &mut Add<'_>) -> sealshare::Result<()> {
    let sealed = SealedBox::seal(&SecretKey::from_bytes([8; 32]), b"x", b"")?.to_bytes();
    let box_err = |bytes: &[u8]| match SealedBox::from_bytes(bytes) {
        Ok(_) => invalid("box accepted"),
        Err(e) => e.into(),
    };
    let mut short = sealed.get(..26).unwrap_or_default().to_vec();
    short.extend_from_slice(&15u32.to_be_bytes());
    short.extend_from_slice(&[0; 15]);
    add(
        "sealed_box",
        "a ciphertext of 15 bytes, below the 16-byte tag",
        short.clone(),
        box_err(&short),
        malformed("Truncated"),
    )?;
    let mut huge = sealed.get(..26).unwrap_or_default().to_vec();
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    huge.extend_from_slice(&[0; 3]);
    add(
        "sealed_box",
        "a length over the bound in an input that also ends early: too long first",
        huge.clone(),
        box_err(&huge),
        malformed("TooLong"),
    )?;
    Ok(())
}

/// The content vector's stream with a bad chunk size, whole and cut short.
fn stream_refusals(content: &Value, add: &mut Add<'_>) -> sealshare::Result<()> {
    let key = ContentKey::from_bytes(
        unhex(content["key"].as_str().unwrap_or_default())?
            .try_into()
            .map_err(|_| invalid("content key"))?,
    );
    let stream_bytes = unhex(content["ciphertext"].as_str().unwrap_or_default())?;
    let digest = ContentDigest {
        ciphertext_hash: unhex(content["ciphertext_hash"].as_str().unwrap_or_default())?
            .try_into()
            .map_err(|_| invalid("hash"))?,
        key_commitment: unhex(content["key_commitment"].as_str().unwrap_or_default())?
            .try_into()
            .map_err(|_| invalid("commitment"))?,
        ciphertext_len: content["ciphertext_len"].as_u64().unwrap_or_default(),
    };
    let open_err = |bytes: &[u8]| match stream::open(&key, bytes, &digest) {
        Ok(_) => invalid("stream accepted"),
        Err(e) => e.into(),
    };
    let mut bad = stream_bytes.clone();
    if let Some(size) = bad.get_mut(2..6) {
        size.copy_from_slice(&4095u32.to_be_bytes());
    }
    add(
        "content_stream",
        "the content vector with chunk size 4095 (below 4096), opened with its key and digest",
        bad.clone(),
        open_err(&bad),
        malformed("Invalid"),
    )?;
    let short = bad.get(..10).unwrap_or_default().to_vec();
    add(
        "content_stream",
        "its first 10 bytes: the header is read whole before the chunk size is judged",
        short.clone(),
        open_err(&short),
        malformed("Truncated"),
    )?;
    Ok(())
}

/// The keystore vector with a wrong length of its master-by-password box.
fn keystore_refusals(keystore: &Value, add: &mut Add<'_>) -> sealshare::Result<()> {
    let ks = unhex(keystore["keystore"].as_str().unwrap_or_default())?;
    let ks_err = |bytes: &[u8]| match Keystore::from_bytes(bytes) {
        Ok(_) => invalid("keystore accepted"),
        Err(e) => e.into(),
    };
    for (len, what, expect) in [
        (
            47u32,
            "the master-by-password box's length 47 (it must be 48)",
            "Invalid",
        ),
        (
            49,
            "the master-by-password box's length 49 (it must be 48)",
            "TooLong",
        ),
    ] {
        let mut bytes = ks.clone();
        if let Some(field) = bytes.get_mut(54..58) {
            field.copy_from_slice(&len.to_be_bytes());
        }
        add(
            "keystore",
            what,
            bytes.clone(),
            ks_err(&bytes),
            malformed(expect),
        )?;
    }
    Ok(())
}
