use super::*;

fn target(server: ServerId) -> RequestTarget<'static> {
    RequestTarget {
        method: "GET",
        path_and_query: "/v1/collections/x/operations?from=0",
        body_digest: body_digest(b""),
        server,
    }
}

fn alice() -> RequestSigner {
    RequestSigner::for_account(&Account::create("alice", 1_700_000_000).unwrap())
}

#[test]
fn a_signed_request_verifies_through_its_header_and_only_as_signed() {
    let server = ServerId([7; 16]);
    let signer = alice();
    let now = 1_800_000_000;
    let auth = signer.sign(&target(server), now + 60).unwrap();
    let parsed = RequestAuth::parse(&auth.to_header()).unwrap();
    assert_eq!(parsed, auth);
    assert_eq!(
        parsed.principal(),
        &Principal::Account {
            handle: "alice".into()
        }
    );
    assert_eq!(parsed.public_key(), signer.public_key());
    parsed.verify(&target(server), now).unwrap();

    // Each covered part, changed, fails.
    let other_server = ServerId([8; 16]);
    assert_eq!(
        parsed.verify(&target(other_server), now),
        Err(AuthError::BadSignature)
    );
    for changed in [
        RequestTarget {
            method: "PUT",
            ..target(server)
        },
        RequestTarget {
            path_and_query: "/v1/collections/x/operations?from=1",
            ..target(server)
        },
        RequestTarget {
            body_digest: body_digest(b"x"),
            ..target(server)
        },
    ] {
        assert_eq!(parsed.verify(&changed, now), Err(AuthError::BadSignature));
    }
    // Another principal or key named in the header: the signature no longer
    // verifies.
    let header = auth.to_header();
    let bob = wire::to_text(b"bob");
    let renamed = header.replace(&wire::to_text(b"alice"), &bob);
    let renamed = RequestAuth::parse(&renamed).unwrap();
    assert_eq!(
        renamed.verify(&target(server), now),
        Err(AuthError::BadSignature)
    );
    let other = alice();
    let rekeyed = header.replace(
        &wire::to_text(&signer.public_key()),
        &wire::to_text(&other.public_key()),
    );
    let rekeyed = RequestAuth::parse(&rekeyed).unwrap();
    assert_eq!(
        rekeyed.verify(&target(server), now),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn a_request_is_valid_only_until_its_expiry_and_at_most_a_minute_ahead() {
    let server = ServerId([1; 16]);
    let signer = alice();
    let now = 1_800_000_000;
    let auth = signer.sign(&target(server), now + 10).unwrap();
    auth.verify(&target(server), now + 10).unwrap();
    assert_eq!(
        auth.verify(&target(server), now + 11),
        Err(AuthError::Expired {
            expires: now + 10,
            now: now + 11
        })
    );
    let long = signer
        .sign(&target(server), now + MAX_REQUEST_LIFETIME + 1)
        .unwrap();
    assert!(matches!(
        long.verify(&target(server), now),
        Err(AuthError::TooLong { .. })
    ));
    long.verify(&target(server), now + 1).unwrap();
    // Two signatures of the same request carry two nonces.
    let again = signer.sign(&target(server), now + 10).unwrap();
    assert_ne!(again.nonce(), auth.nonce());
}

#[test]
fn a_link_signer_signs_as_the_link_with_the_key_its_terms_record() {
    let server = ServerId([2; 16]);
    let collection = CollectionId([3; 16]);
    let link = LinkId([4; 16]);
    let key = SigningKey::generate().unwrap();
    let public = key.verifying_key().to_bytes();
    let signer = RequestSigner::new(Principal::Link { collection, link }, key);
    let auth = signer.sign(&target(server), 100).unwrap();
    let parsed = RequestAuth::parse(&auth.to_header()).unwrap();
    assert_eq!(parsed.principal(), &Principal::Link { collection, link });
    assert_eq!(parsed.public_key(), public);
    parsed.verify(&target(server), 90).unwrap();
    assert!(!format!("{signer:?}").contains(&wire::to_text(&signer.key.seed().expose()[..])));
}

#[test]
fn hostile_headers_are_refused_with_the_part_that_is_wrong() {
    let good = alice()
        .sign(&target(ServerId([0; 16])), 100)
        .unwrap()
        .to_header();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "not the Sealshare scheme"),
        ("Bearer abc".into(), "not the Sealshare scheme"),
        (good.replacen("v1.", "v2.", 1), "not version v1"),
        (
            good.replacen("v1.a.", "v1.x.", 1),
            "principal is neither a nor l",
        ),
        (format!("{good}.extra"), "more parts than a signature has"),
        (good.replace(".100.", ".+100."), "expires"),
        (good.replace(".100.", ".0100."), "expires"),
        (good.replace(".100.", ".."), "expires"),
        (
            good.replace(".100.", ".99999999999999999999999."),
            "expires",
        ),
        (
            "x".repeat(MAX_AUTH_HEADER_LEN + 1),
            "longer than any signature",
        ),
        ("Sealshare v1.a".into(), "handle"),
        (
            format!("Sealshare v1.a.{}.k", wire::to_text(b"a\nb")),
            "handle",
        ),
        ("Sealshare v1.l.AAAA".into(), "collection"),
    ];
    for (header, part) in cases {
        assert_eq!(
            RequestAuth::parse(&header),
            Err(AuthError::Malformed(part)),
            "{header:?}"
        );
    }
    // A key that is no Ed25519 point parses, and fails as a bad signature.
    let mut parts: Vec<&str> = good.split('.').collect();
    let zero = wire::to_text(&[0u8; 32]);
    parts[3] = &zero;
    let bad_key = RequestAuth::parse(&parts.join(".")).unwrap();
    assert_eq!(
        bad_key.verify(&target(ServerId([0; 16])), 90),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn a_server_id_reads_back_from_its_text() {
    let id = ServerId::generate().unwrap();
    assert_eq!(ServerId::from_text(&id.to_text()).unwrap(), id);
    assert!(ServerId::from_text("short").is_err());
}
