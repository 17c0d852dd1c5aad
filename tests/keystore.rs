//! The keystore as a user and an attacker see it: unlock by password or recovery
//! phrase, change of password, recovery, and refusal of doctored or damaged blobs.
//!
//! Tests use the smallest parameters the bounds accept (19 MiB, 2 passes, 1 lane)
//! so that the suite stays fast; one test goes through a named profile.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use sealshare::internal::crypto::password::{Argon2Budget, Argon2Params, Profile};
use sealshare::{Account, DecodeError, Error, Keystore, RecoveryPhrase};

/// The cheapest parameters within bounds.
const CHEAP: Argon2Params = Argon2Params {
    memory_kib: 19 * 1024,
    passes: 2,
    lanes: 1,
};

const PAYLOAD: &[u8] = b"the account's secrets: signing key, KEM key, identity card";
const PASSWORD: &str = "correct horse battery staple";

// Offsets in the encoding (SPEC.md §Keystore).
const MEMORY: usize = 2;
const PASSES: usize = 6;
const LANES: usize = 10;
const SALT: usize = 14;
const BY_PASSWORD: usize = 30;
const BY_RECOVERY: usize = 106;
const PAYLOAD_BOX: usize = 182;

fn cheap_keystore() -> (Keystore, RecoveryPhrase) {
    Keystore::create(PAYLOAD, PASSWORD, CHEAP).unwrap()
}

fn with_params(bytes: &[u8], params: Argon2Params) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[MEMORY..MEMORY + 4].copy_from_slice(&params.memory_kib.to_be_bytes());
    b[PASSES..PASSES + 4].copy_from_slice(&params.passes.to_be_bytes());
    b[LANES..LANES + 4].copy_from_slice(&params.lanes.to_be_bytes());
    b
}

fn zero_phrase() -> String {
    let mut words = vec!["abandon"; 23];
    words.push("art");
    words.join(" ")
}

#[test]
fn round_trips_through_bytes_and_text() {
    let (ks, phrase) = cheap_keystore();
    let bytes = ks.to_bytes();
    assert_eq!(bytes.len(), 226 + PAYLOAD.len());
    assert_eq!(&bytes[..2], &[0x01, 0x05]);
    assert_eq!(
        &bytes[MEMORY..SALT],
        &[0, 0, 0x4c, 0, 0, 0, 0, 2, 0, 0, 0, 1]
    );
    assert_eq!(
        &bytes[BY_PASSWORD + 24..BY_PASSWORD + 28],
        &48u32.to_be_bytes()
    );
    assert_eq!(
        &bytes[BY_RECOVERY + 24..BY_RECOVERY + 28],
        &48u32.to_be_bytes()
    );
    assert_eq!(
        &bytes[PAYLOAD_BOX + 24..PAYLOAD_BOX + 28],
        &(PAYLOAD.len() as u32 + 16).to_be_bytes()
    );

    let decoded = Keystore::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, ks);
    assert_eq!(decoded.to_bytes(), bytes);
    assert_eq!(decoded.params(), CHEAP);
    let from_text = Keystore::from_text(&ks.to_text()).unwrap();
    assert_eq!(from_text, ks);
    assert_eq!(
        from_text.unlock_with_password(PASSWORD).unwrap().expose(),
        PAYLOAD
    );
    assert_eq!(
        from_text.unlock_with_recovery(&phrase).unwrap().expose(),
        PAYLOAD
    );
}

#[test]
fn unlocks_with_password_and_with_phrase() {
    let (ks, phrase) = cheap_keystore();
    assert_eq!(ks.unlock_with_password(PASSWORD).unwrap().expose(), PAYLOAD);
    assert_eq!(ks.unlock_with_recovery(&phrase).unwrap().expose(), PAYLOAD);

    // The words the user writes down, typed back in any case and spacing.
    let words = phrase.words();
    assert_eq!(words.split(' ').count(), 24);
    let retyped = format!("  {}\n", words.to_uppercase().replace(' ', " \t\n "));
    let parsed = RecoveryPhrase::parse(&retyped).unwrap();
    assert_eq!(parsed, phrase);
    assert_eq!(ks.unlock_with_recovery(&parsed).unwrap().expose(), PAYLOAD);
}

#[test]
fn named_profile_works() {
    let (ks, phrase) = Keystore::create(b"", PASSWORD, Profile::Constrained).unwrap();
    assert_eq!(ks.params(), Argon2Params::CONSTRAINED);
    assert!(ks.unlock_with_password(PASSWORD).unwrap().is_empty());
    assert!(ks.unlock_with_recovery(&phrase).unwrap().is_empty());
}

#[test]
fn wrong_password_and_wrong_phrase_are_reported() {
    let (ks, _) = cheap_keystore();
    let (_, other_phrase) = cheap_keystore();
    assert!(matches!(
        ks.unlock_with_password("correct horse battery stapler"),
        Err(Error::WrongPassword)
    ));
    assert!(matches!(
        ks.unlock_with_password(""),
        Err(Error::WrongPassword)
    ));
    assert!(matches!(
        ks.unlock_with_recovery(&other_phrase),
        Err(Error::WrongRecoveryPhrase)
    ));
    let zero = RecoveryPhrase::parse(&zero_phrase()).unwrap();
    assert!(matches!(
        ks.unlock_with_recovery(&zero),
        Err(Error::WrongRecoveryPhrase)
    ));
}

#[test]
fn phrase_matches_the_bip39_vectors() {
    // BIP39 English vectors for 32 zero bytes and 32 bytes of 0xff.
    let zero = RecoveryPhrase::parse(&zero_phrase()).unwrap();
    assert_eq!(*zero.words(), zero_phrase());
    let mut ones = vec!["zoo"; 23];
    ones.push("vote");
    let ones = ones.join(" ");
    assert_eq!(*RecoveryPhrase::parse(&ones).unwrap().words(), ones);
    assert_ne!(RecoveryPhrase::parse(&ones).unwrap(), zero);
}

#[test]
fn invalid_phrases_say_why() {
    let (_, phrase) = cheap_keystore();
    let words: Vec<String> = phrase.words().split(' ').map(str::to_owned).collect();
    let reason = |s: &str| match RecoveryPhrase::parse(s) {
        Err(Error::InvalidRecoveryPhrase(reason)) => reason,
        other => panic!("expected InvalidRecoveryPhrase, got {other:?}"),
    };

    let r = reason(&words[..23].join(" "));
    assert!(r.contains("24 words, found 23"), "{r}");
    let r = reason(&format!("{} abandon", words.join(" ")));
    assert!(r.contains("found 25"), "{r}");
    // A valid 12-word BIP39 phrase is still refused: the recovery key is 256 bits.
    let twelve = [&["abandon"; 11][..], &["about"]].concat().join(" ");
    let r = reason(&twelve);
    assert!(r.contains("found 12"), "{r}");
    assert!(reason("").contains("found 0"));

    let mut unknown = words.clone();
    unknown[4] = "qwertyuiop".into();
    let r = reason(&unknown.join(" "));
    assert!(
        r.contains("word 5 is not in the BIP39 English word list"),
        "{r}"
    );
    assert!(
        !r.contains("qwertyuiop"),
        "the message must not echo a word: {r}"
    );

    let r = reason(&["abandon"; 24].join(" "));
    assert!(r.contains("checksum"), "{r}");
    // Two words swapped: still 24 known words, but the checksum catches it.
    let mut swapped = words.clone();
    let j = (1..24).find(|&j| words[j] != words[0]).unwrap();
    swapped.swap(0, j);
    let r = reason(&swapped.join(" "));
    assert!(r.contains("checksum"), "{r}");
    // The message is a fixed sentence (some of its words, like "match" or
    // "wrong", are BIP39 words themselves): nothing of the phrase is in it.
    const FIXED: &str = "the checksum does not match: a word is wrong or two words are swapped";
    assert!(r.contains(FIXED), "{r}");
    let rest = r.replace(FIXED, "");
    for w in &words {
        assert!(
            !rest
                .split(|c: char| !c.is_alphabetic())
                .any(|t| t == w.as_str()),
            "the message must not echo a word: {r}"
        );
    }
}

#[test]
fn debug_shows_no_secret() {
    let (ks, phrase) = cheap_keystore();
    let shown = format!("{phrase:?}");
    assert_eq!(shown, "RecoveryPhrase(***)");
    // The exact form above already excludes every word; no per-word check, since
    // BIP39 words such as "cover" and "very" occur inside "RecoveryPhrase".
    let shown = format!("{ks:?}");
    assert!(shown.contains("payload_len"), "{shown}");
    assert!(
        !shown.contains("nonce") && !shown.contains("ciphertext"),
        "{shown}"
    );
    let words = phrase.words();
    assert!(!format!("{ks:?}{phrase:?}").contains(words.as_str()));
}

#[test]
fn change_password_rewraps_the_master_key_alone() {
    let (mut ks, phrase) = cheap_keystore();
    let before = ks.to_bytes();
    let new_params = Argon2Params { passes: 3, ..CHEAP };
    ks.change_password(PASSWORD, "new password", new_params)
        .unwrap();
    let after = ks.to_bytes();

    // Recovery wrap and payload: the same bytes. Parameters, salt, password wrap: new.
    assert_eq!(after.len(), before.len());
    assert_eq!(&after[BY_RECOVERY..], &before[BY_RECOVERY..]);
    assert_eq!(&after[..MEMORY], &before[..MEMORY]);
    assert_eq!(ks.params(), new_params);
    assert_ne!(&after[SALT..BY_PASSWORD], &before[SALT..BY_PASSWORD]);
    assert_ne!(
        &after[BY_PASSWORD..BY_RECOVERY],
        &before[BY_PASSWORD..BY_RECOVERY]
    );

    let ks = Keystore::from_bytes(&after).unwrap();
    assert!(matches!(
        ks.unlock_with_password(PASSWORD),
        Err(Error::WrongPassword)
    ));
    assert_eq!(
        ks.unlock_with_password("new password").unwrap().expose(),
        PAYLOAD
    );
    assert_eq!(ks.unlock_with_recovery(&phrase).unwrap().expose(), PAYLOAD);
}

#[test]
fn failed_changes_leave_the_keystore_unchanged() {
    let (mut ks, phrase) = cheap_keystore();
    let (_, other_phrase) = cheap_keystore();
    let before = ks.to_bytes();
    assert!(matches!(
        ks.change_password("nope", "new", CHEAP),
        Err(Error::WrongPassword)
    ));
    assert!(matches!(
        ks.change_password(PASSWORD, "", CHEAP),
        Err(Error::InvalidArgument(_))
    ));
    let weak = Argon2Params { passes: 1, ..CHEAP };
    assert!(matches!(
        ks.change_password(PASSWORD, "new", weak),
        Err(Error::UnsafeParameters(_))
    ));
    assert!(matches!(
        ks.recover_and_set_password(&other_phrase, "new", CHEAP),
        Err(Error::WrongRecoveryPhrase)
    ));
    assert!(matches!(
        ks.reseal_payload("nope", b"x"),
        Err(Error::WrongPassword)
    ));
    assert!(matches!(
        ks.reseal_payload(PASSWORD, &vec![0; (1 << 20) + 1]),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(ks.to_bytes(), before);
    assert_eq!(ks.unlock_with_recovery(&phrase).unwrap().expose(), PAYLOAD);
}

#[test]
fn create_refuses_bad_arguments() {
    assert!(matches!(
        Keystore::create(PAYLOAD, "", CHEAP),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Keystore::create(&vec![0; (1 << 20) + 1], PASSWORD, CHEAP),
        Err(Error::InvalidArgument(_))
    ));
    let low = Argon2Params {
        memory_kib: 1024,
        ..CHEAP
    };
    assert!(matches!(
        Keystore::create(PAYLOAD, PASSWORD, low),
        Err(Error::UnsafeParameters(_))
    ));
    // The largest payload fits and round-trips through the text form.
    let big = vec![0x5a; 1 << 20];
    let (ks, _) = Keystore::create(&big, PASSWORD, CHEAP).unwrap();
    let ks = Keystore::from_text(&ks.to_text()).unwrap();
    assert_eq!(
        ks.unlock_with_password(PASSWORD).unwrap().expose(),
        big.as_slice()
    );
}

#[test]
fn recovery_sets_a_new_password() {
    let (mut ks, phrase) = cheap_keystore();
    let before = ks.to_bytes();
    let typed = RecoveryPhrase::parse(&phrase.words()).unwrap();
    ks.recover_and_set_password(&typed, "fresh password", CHEAP)
        .unwrap();
    let after = ks.to_bytes();
    assert_eq!(&after[BY_RECOVERY..], &before[BY_RECOVERY..]);
    assert!(matches!(
        ks.unlock_with_password(PASSWORD),
        Err(Error::WrongPassword)
    ));
    assert_eq!(
        ks.unlock_with_password("fresh password").unwrap().expose(),
        PAYLOAD
    );
}

#[test]
fn recovery_rescues_a_keystore_whose_parameters_this_device_refuses() {
    let (ks, phrase) = cheap_keystore();
    let huge = Argon2Params {
        memory_kib: u32::MAX,
        ..CHEAP
    };
    let mut ks = Keystore::from_bytes(&with_params(&ks.to_bytes(), huge)).unwrap();
    assert!(matches!(
        ks.unlock_with_password(PASSWORD),
        Err(Error::UnsafeParameters(_))
    ));
    assert_eq!(ks.unlock_with_recovery(&phrase).unwrap().expose(), PAYLOAD);
    ks.recover_and_set_password(&phrase, PASSWORD, CHEAP)
        .unwrap();
    assert_eq!(ks.unlock_with_password(PASSWORD).unwrap().expose(), PAYLOAD);
}

#[test]
fn reseal_replaces_the_payload_only() {
    let (mut ks, phrase) = cheap_keystore();
    let before = ks.to_bytes();
    ks.reseal_payload(PASSWORD, b"rotated secrets").unwrap();
    let after = ks.to_bytes();
    assert_eq!(&after[..PAYLOAD_BOX], &before[..PAYLOAD_BOX]);
    let ks = Keystore::from_bytes(&after).unwrap();
    assert_eq!(
        ks.unlock_with_password(PASSWORD).unwrap().expose(),
        b"rotated secrets"
    );
    assert_eq!(
        ks.unlock_with_recovery(&phrase).unwrap().expose(),
        b"rotated secrets"
    );
}

#[test]
fn doctored_parameters_are_refused_before_any_allocation() {
    let (ks, phrase) = cheap_keystore();
    let bytes = ks.to_bytes();
    let cases = [
        (
            Argon2Params {
                memory_kib: 4 * 1024 * 1024 + 1,
                ..CHEAP
            },
            "memory_kib = 4194305",
        ),
        (
            Argon2Params {
                memory_kib: u32::MAX,
                ..CHEAP
            },
            "memory_kib = 4294967295",
        ),
        (
            Argon2Params {
                memory_kib: 1,
                ..CHEAP
            },
            "memory_kib = 1 ",
        ),
        (
            Argon2Params {
                memory_kib: 0,
                ..CHEAP
            },
            "memory_kib = 0 ",
        ),
        (Argon2Params { passes: 1, ..CHEAP }, "passes = 1 "),
        (Argon2Params { passes: 0, ..CHEAP }, "passes = 0 "),
        (
            Argon2Params {
                passes: 65,
                ..CHEAP
            },
            "passes = 65",
        ),
        (Argon2Params { lanes: 17, ..CHEAP }, "lanes = 17"),
        (Argon2Params { lanes: 0, ..CHEAP }, "lanes = 0"),
        (
            Argon2Params {
                lanes: u32::MAX,
                ..CHEAP
            },
            "lanes = 4294967295",
        ),
        // Each within its own bound, together four times the work bound.
        (
            Argon2Params {
                memory_kib: 4 * 1024 * 1024,
                passes: 8,
                lanes: 1,
            },
            "memory_kib × passes",
        ),
    ];
    for (params, expected) in cases {
        let mut doctored = Keystore::from_bytes(&with_params(&bytes, params)).unwrap();
        assert_eq!(doctored.params(), params);
        let start = Instant::now();
        let refused = doctored.unlock_with_password(PASSWORD);
        let elapsed = start.elapsed();
        match refused {
            Err(Error::UnsafeParameters(msg)) => assert!(msg.contains(expected), "{msg}"),
            other => panic!("{params:?}: expected UnsafeParameters, got {other:?}"),
        }
        // Refused in well under the time of even the cheapest Argon2id run.
        assert!(
            elapsed < Duration::from_millis(100),
            "{params:?} took {elapsed:?}"
        );
        assert!(matches!(
            doctored.change_password(PASSWORD, "new", CHEAP),
            Err(Error::UnsafeParameters(_))
        ));
        assert!(matches!(
            doctored.reseal_payload(PASSWORD, b"x"),
            Err(Error::UnsafeParameters(_))
        ));
        // The recovery path does not read the parameters.
        assert_eq!(
            doctored.unlock_with_recovery(&phrase).unwrap().expose(),
            PAYLOAD
        );
    }
}

#[test]
fn parameters_and_salt_doctored_within_bounds_are_wrong_password() {
    let (ks, _) = cheap_keystore();
    let bytes = ks.to_bytes();
    for params in [
        Argon2Params { passes: 3, ..CHEAP },
        Argon2Params {
            memory_kib: CHEAP.memory_kib + 1,
            ..CHEAP
        },
        Argon2Params { lanes: 2, ..CHEAP },
    ] {
        let doctored = Keystore::from_bytes(&with_params(&bytes, params)).unwrap();
        assert!(
            matches!(
                doctored.unlock_with_password(PASSWORD),
                Err(Error::WrongPassword)
            ),
            "{params:?}"
        );
    }
    let mut b = bytes.clone();
    b[SALT + 7] ^= 0x40;
    let doctored = Keystore::from_bytes(&b).unwrap();
    assert!(matches!(
        doctored.unlock_with_password(PASSWORD),
        Err(Error::WrongPassword)
    ));
}

#[test]
fn malformed_blobs_are_refused_when_decoded() {
    let (ks, _) = cheap_keystore();
    let bytes = ks.to_bytes();
    assert!(matches!(
        Keystore::from_bytes(&bytes[..bytes.len() - 1]),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        Keystore::from_bytes(&[bytes.as_slice(), &[0]].concat()),
        Err(DecodeError::TrailingBytes { .. })
    ));
    assert!(matches!(
        Keystore::from_bytes(&[]),
        Err(DecodeError::Truncated { .. })
    ));
    let mut b = bytes.clone();
    b[1] = 0x02;
    assert!(matches!(
        Keystore::from_bytes(&b),
        Err(DecodeError::WrongKind { .. })
    ));
    b[1] = 0x05;
    b[0] = 0x02;
    assert!(matches!(
        Keystore::from_bytes(&b),
        Err(DecodeError::UnsupportedVersion { .. })
    ));

    // A wrapped master key of another length than 48 bytes, even if the rest is consistent.
    let mut b = bytes[..BY_PASSWORD + 24].to_vec();
    b.extend_from_slice(&49u32.to_be_bytes());
    b.extend_from_slice(&bytes[BY_PASSWORD + 28..BY_PASSWORD + 76]);
    b.push(0);
    b.extend_from_slice(&bytes[BY_RECOVERY..]);
    assert!(matches!(
        Keystore::from_bytes(&b),
        Err(DecodeError::TooLong { .. })
    ));
    let mut b = bytes[..BY_RECOVERY + 24].to_vec();
    b.extend_from_slice(&47u32.to_be_bytes());
    b.extend_from_slice(&bytes[BY_RECOVERY + 28..BY_RECOVERY + 75]);
    b.extend_from_slice(&bytes[PAYLOAD_BOX..]);
    assert!(matches!(
        Keystore::from_bytes(&b),
        Err(DecodeError::Invalid { .. })
    ));

    // A payload length beyond 1 MiB + 16 is refused from the prefix alone.
    let mut b = bytes[..PAYLOAD_BOX + 24].to_vec();
    b.extend_from_slice(&((1u32 << 20) + 17).to_be_bytes());
    assert!(matches!(
        Keystore::from_bytes(&b),
        Err(DecodeError::TooLong { .. })
    ));
    // A payload box shorter than its tag.
    let mut b = bytes[..PAYLOAD_BOX + 24].to_vec();
    b.extend_from_slice(&15u32.to_be_bytes());
    b.extend_from_slice(&[0; 15]);
    assert!(matches!(
        Keystore::from_bytes(&b),
        Err(DecodeError::Truncated { .. })
    ));

    // Text: whitespace (never trimmed), not base64url, or longer than the
    // largest keystore.
    assert!(matches!(
        Keystore::from_text("not base64!"),
        Err(DecodeError::Invalid { .. })
    ));
    assert!(matches!(
        Keystore::from_text(&format!("{}\n", ks.to_text())),
        Err(DecodeError::Invalid { .. })
    ));
    assert!(matches!(
        Keystore::from_text("not-base64!"),
        Err(DecodeError::Base64 { .. })
    ));
    assert!(matches!(
        Keystore::from_text(&"A".repeat(2 << 20)),
        Err(DecodeError::TooLong { .. })
    ));
}

/// How one altered blob fared.
fn refused_by_password(blob: &[u8]) -> bool {
    match Keystore::from_bytes(blob) {
        Err(_) => true,
        Ok(ks) => ks.unlock_with_password(PASSWORD).is_err(),
    }
}

/// Every byte of the blob is flipped once (bit `i % 8` of byte `i`), and every bit
/// of the 30 header bytes; each altered blob must fail to decode or fail to unlock
/// by password. The password path authenticates the whole blob: the header and
/// the password wrap through that wrap's tag and associated data, the recovery
/// wrap and the payload through the payload's tag and associated data.
///
/// A flip that leaves the parameters within bounds and the default budget but
/// makes them costly (more than 8 times the work of the test parameters) is not
/// unlocked here, to keep the test fast; such a flip changes the associated data
/// of the password wrap, which `parameters_and_salt_doctored_within_bounds_are_wrong_password`
/// shows is refused. The flips are spread over threads.
#[test]
fn every_byte_flip_is_refused() {
    let (ks, phrase) = cheap_keystore();
    let bytes = ks.to_bytes();
    let mut flips: Vec<(usize, u8)> = (0..bytes.len()).map(|i| (i, 1u8 << (i % 8))).collect();
    for i in 0..BY_PASSWORD {
        flips.extend(
            (0..8)
                .filter(|&bit| bit != i % 8)
                .map(|bit| (i, 1u8 << bit)),
        );
    }
    let cheap_work = u64::from(CHEAP.memory_kib) * u64::from(CHEAP.passes);
    let costly = |blob: &[u8]| match Keystore::from_bytes(blob) {
        Ok(ks) => {
            let p = ks.params();
            p.check_within(&Argon2Budget::DEFAULT).is_ok()
                && u64::from(p.memory_kib) * u64::from(p.passes) > 8 * cheap_work
        }
        Err(_) => false,
    };

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let skipped = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for chunk in flips.chunks(flips.len().div_ceil(threads)) {
            let (bytes, skipped, costly) = (&bytes, &skipped, &costly);
            s.spawn(move || {
                for &(i, mask) in chunk {
                    let mut b = bytes.clone();
                    b[i] ^= mask;
                    if costly(&b) {
                        skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        continue;
                    }
                    assert!(
                        refused_by_password(&b),
                        "flip of byte {i} (mask {mask:#04x}) was accepted"
                    );
                }
            });
        }
    });
    let skipped = skipped.into_inner();
    // Only a few memory flips (to at most 256 MiB: the default budget refuses
    // more) and passes flips to 18 are costly.
    assert!(skipped <= 6, "{skipped} flips skipped");
    eprintln!(
        "{} flips refused, {skipped} costly ones left to the associated-data test, in {:?}",
        flips.len() - skipped,
        start.elapsed()
    );

    // The recovery path reads only the recovery wrap and the payload: a flip in
    // either is refused; a flip elsewhere leaves recovery working, which is what
    // lets a user rescue a keystore whose header was damaged.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 1 << (i % 8);
        let Ok(ks) = Keystore::from_bytes(&b) else {
            continue;
        };
        let opened = ks.unlock_with_recovery(&phrase);
        if i >= BY_RECOVERY {
            assert!(opened.is_err(), "recovery accepted a flip of byte {i}");
        } else {
            assert_eq!(opened.unwrap().expose(), PAYLOAD, "byte {i}");
        }
    }
}

/// Opens the password box by hand, as an attacker with the blob would try a
/// guess: Argon2id v1.3 (the `argon2` crate directly) at `(memory, passes,
/// lanes)` over the stored salt, then HKDF label "keystore/password-key", then
/// XChaCha20-Poly1305 with the associated data SPEC.md gives.
fn opens_by_hand(bytes: &[u8], password: &str, algorithm: argon2::Algorithm, passes: u32) -> bool {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let params = argon2::Params::new(be(MEMORY), passes, be(LANES), Some(32)).unwrap();
    let mut hash = [0u8; 32];
    argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
        .hash_password_into(password.as_bytes(), &bytes[SALT..SALT + 16], &mut hash)
        .unwrap();
    let key =
        sealshare::internal::crypto::kdf::derive_key(&hash, b"", "keystore/password-key", b"")
            .unwrap();
    let aad = [
        b"sealshare/v1/keystore/master-by-password\0".as_slice(),
        &bytes[..BY_PASSWORD],
    ]
    .concat();
    let cipher = chacha20poly1305::XChaCha20Poly1305::new_from_slice(key.expose()).unwrap();
    let nonce = chacha20poly1305::XNonce::try_from(&bytes[BY_PASSWORD..BY_PASSWORD + 24]).unwrap();
    let sealed = &bytes[BY_PASSWORD + 28..BY_PASSWORD + 28 + 48];
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .is_ok_and(|master| master.len() == 32)
}

/// Every password guess costs a full Argon2id at the parameters stored in the
/// blob: the password box opens with exactly that computation, and not with a
/// cheaper one (fewer passes) or another Argon2 variant.
#[test]
fn a_password_guess_costs_argon2id_at_the_stored_parameters() {
    let (keystore, _) = cheap_keystore();
    let bytes = keystore.to_bytes();
    let stored = u32::from_be_bytes(bytes[PASSES..PASSES + 4].try_into().unwrap());
    assert_eq!(stored, CHEAP.passes);
    assert!(opens_by_hand(
        &bytes,
        PASSWORD,
        argon2::Algorithm::Argon2id,
        stored
    ));
    assert!(!opens_by_hand(
        &bytes,
        "a guess",
        argon2::Algorithm::Argon2id,
        stored
    ));
    assert!(!opens_by_hand(
        &bytes,
        PASSWORD,
        argon2::Algorithm::Argon2id,
        stored - 1
    ));
    assert!(!opens_by_hand(
        &bytes,
        PASSWORD,
        argon2::Algorithm::Argon2i,
        stored
    ));
    assert!(!opens_by_hand(
        &bytes,
        PASSWORD,
        argon2::Algorithm::Argon2d,
        stored
    ));
}

/// Which budget error a refused unlock gave (the message names the field, its
/// value and the budget's bound).
fn over_budget(result: Result<impl std::fmt::Debug, Error>, field: &str, bound: &str) {
    match result {
        Err(Error::UnsafeParameters(msg)) => {
            assert!(msg.contains(field), "{msg}");
            assert!(msg.contains(bound), "{msg}");
            assert!(msg.contains("budget"), "{msg}");
        }
        other => panic!("expected UnsafeParameters ({field}), got {other:?}"),
    }
}

/// A doctored keystore within the absolute bounds but above the default budget
/// (4 GiB × 2 passes, 1 GiB × 8 passes, 16 lanes, Sensitive) is refused by
/// every password path with `UnsafeParameters` naming the budget's bound. That
/// error comes only from the parameter check, which runs before Argon2id
/// allocates or hashes anything: the unlock did no work. The recovery path,
/// which reads no parameter, still opens it.
#[test]
fn keystores_above_the_default_budget_are_refused_before_any_work() {
    let (account, keystore, phrase) =
        Account::create_protected("alice", 1, PASSWORD, CHEAP).unwrap();
    let bytes = keystore.to_bytes();
    let cases = [
        (
            Argon2Params {
                memory_kib: 4 * 1024 * 1024,
                passes: 2,
                lanes: 1,
            },
            "memory_kib = 4194304",
            "budget of 262144 (256 MiB)",
        ),
        (
            Argon2Params {
                memory_kib: 1024 * 1024,
                passes: 8,
                lanes: 1,
            },
            "memory_kib = 1048576",
            "budget of 262144 (256 MiB)",
        ),
        (
            Argon2Params {
                memory_kib: 256 * 1024,
                passes: 8,
                lanes: 1,
            },
            "memory_kib × passes = 262144 × 8 = 2097152",
            "budget of 786432 (768 MiB·passes)",
        ),
        (
            Argon2Params {
                memory_kib: 19 * 1024,
                passes: 64,
                lanes: 1,
            },
            "memory_kib × passes = 19456 × 64",
            "budget of 786432",
        ),
        (
            Argon2Params { lanes: 16, ..CHEAP },
            "lanes = 16",
            "budget of 4",
        ),
        (
            Argon2Params { lanes: 5, ..CHEAP },
            "lanes = 5",
            "budget of 4",
        ),
        (
            Argon2Params::SENSITIVE,
            "memory_kib = 1048576",
            "budget of 262144",
        ),
    ];
    for (params, field, bound) in cases {
        // Within the absolute bounds: only the budget refuses them.
        params.check().unwrap();
        let mut doctored = Keystore::from_bytes(&with_params(&bytes, params)).unwrap();
        over_budget(doctored.unlock_with_password(PASSWORD), field, bound);
        over_budget(
            doctored.unlock_with_password_within(PASSWORD, Argon2Budget::DEFAULT),
            field,
            bound,
        );
        over_budget(Account::unlock(&doctored, PASSWORD), field, bound);
        over_budget(
            doctored.change_password(PASSWORD, "new", CHEAP),
            field,
            bound,
        );
        over_budget(doctored.reseal_payload(PASSWORD, b"x"), field, bound);
        assert_eq!(
            doctored.params(),
            params,
            "a refused change changes nothing"
        );
        let recovered = Account::recover(&doctored, &phrase).unwrap();
        assert_eq!(
            recovered.identity().to_bytes(),
            account.identity().to_bytes()
        );
    }
    // A smaller budget of the caller's own refuses what the default admits.
    let tight = Argon2Budget {
        max_memory_kib: 19 * 1024,
        max_work_kib_passes: 19 * 1024 * 2,
        max_lanes: 1,
    };
    let three_passes =
        Keystore::from_bytes(&with_params(&bytes, Argon2Params { passes: 3, ..CHEAP })).unwrap();
    over_budget(
        three_passes.unlock_with_password_within(PASSWORD, tight),
        "memory_kib × passes = 19456 × 3",
        "budget of 38912",
    );
    over_budget(
        Account::unlock_within(&three_passes, PASSWORD, tight),
        "memory_kib × passes",
        "budget of 38912",
    );
    // The default budget admits it (and the doctored parameters then fail the
    // associated data, as any doctoring within bounds does).
    assert!(matches!(
        three_passes.unlock_with_password(PASSWORD),
        Err(Error::WrongPassword)
    ));
}

/// The dearest keystore the default budget admits (256 MiB × 3 passes, one
/// lane) opens with the default methods; one step past any of its bounds is
/// refused. A keystore exactly at the edge of a caller's own budget opens
/// within that budget and in every `_within` path.
#[test]
fn a_keystore_at_the_budgets_edge_opens() {
    let edge = Argon2Budget::DEFAULT.dearest().unwrap();
    assert_eq!(
        edge,
        Argon2Params {
            memory_kib: 256 * 1024,
            passes: 3,
            lanes: 1,
        }
    );
    assert_eq!(edge, Argon2Params::MODERATE);
    let (ks, _) = Keystore::create(PAYLOAD, PASSWORD, edge).unwrap();
    assert_eq!(ks.unlock_with_password(PASSWORD).unwrap().expose(), PAYLOAD);
    for past in [
        Argon2Params {
            memory_kib: edge.memory_kib + 1,
            passes: 2,
            ..edge
        },
        Argon2Params {
            passes: edge.passes + 1,
            ..edge
        },
        Argon2Params {
            memory_kib: 19 * 1024,
            passes: 41,
            lanes: 1,
        },
        Argon2Params { lanes: 5, ..edge },
    ] {
        assert!(
            matches!(
                past.check_within(&Argon2Budget::DEFAULT),
                Err(sealshare::CryptoError::UnsafeParameters(_))
            ),
            "{past:?}"
        );
    }
    Argon2Params {
        memory_kib: 19 * 1024,
        passes: 40,
        lanes: 4,
    }
    .check_within(&Argon2Budget::DEFAULT)
    .unwrap();

    // A caller's own budget, exactly met on every bound at once.
    let params = Argon2Params {
        memory_kib: 20 * 1024,
        passes: 2,
        lanes: 2,
    };
    let budget = Argon2Budget::admitting(params);
    assert_eq!(
        budget,
        Argon2Budget {
            max_memory_kib: 20 * 1024,
            max_work_kib_passes: 40 * 1024,
            max_lanes: 2,
        }
    );
    let (account, keystore, _) = Account::create_protected("bob", 1, PASSWORD, params).unwrap();
    let mut keystore = keystore;
    assert_eq!(
        Account::unlock_within(&keystore, PASSWORD, budget)
            .unwrap()
            .identity()
            .to_bytes(),
        account.identity().to_bytes()
    );
    keystore
        .reseal_payload_within(PASSWORD, account.to_secret_bytes().expose(), budget)
        .unwrap();
    keystore
        .change_password_within(PASSWORD, "new password", params, budget)
        .unwrap();
    assert!(
        keystore
            .unlock_with_password_within("new password", budget)
            .is_ok()
    );
    // One KiB, one lane or one pass less in the budget refuses it.
    for smaller in [
        Argon2Budget {
            max_memory_kib: budget.max_memory_kib - 1,
            ..budget
        },
        Argon2Budget {
            max_work_kib_passes: budget.max_work_kib_passes - 1,
            ..budget
        },
        Argon2Budget {
            max_lanes: 1,
            ..budget
        },
    ] {
        assert!(
            matches!(
                keystore.unlock_with_password_within("new password", smaller),
                Err(Error::UnsafeParameters(_))
            ),
            "{smaller:?}"
        );
    }
}

/// A keystore made with the Sensitive profile (1 GiB × 4 passes) is above the
/// default budget: the default unlock refuses it before any work, and the
/// caller who made it opens it by passing the larger budget explicitly.
#[test]
fn an_explicit_budget_opens_a_sensitive_keystore() {
    let (ks, _) = Keystore::create(PAYLOAD, PASSWORD, Profile::Sensitive).unwrap();
    over_budget(
        ks.unlock_with_password(PASSWORD),
        "memory_kib = 1048576",
        "budget of 262144",
    );
    assert_eq!(
        ks.unlock_with_password_within(PASSWORD, Argon2Budget::SENSITIVE)
            .unwrap()
            .expose(),
        PAYLOAD
    );
}
