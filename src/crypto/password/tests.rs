use super::*;

const CHEAP: Argon2Params = Argon2Params {
    memory_kib: MIN_MEMORY_KIB,
    passes: MIN_PASSES,
    lanes: 1,
};

#[test]
fn profiles_pass_their_own_bounds() {
    for profile in Profile::ALL {
        profile.params().check().unwrap();
        assert_eq!(Argon2Params::from(profile), profile.params());
    }
    CHEAP.check().unwrap();
}

#[test]
fn bounds_name_field_value_and_bound() {
    let cases = [
        (
            Argon2Params {
                memory_kib: MIN_MEMORY_KIB - 1,
                ..CHEAP
            },
            "memory_kib = 19455",
            "19456",
        ),
        (
            Argon2Params {
                memory_kib: MAX_MEMORY_KIB + 1,
                ..CHEAP
            },
            "memory_kib = 4194305",
            "4194304",
        ),
        (Argon2Params { passes: 1, ..CHEAP }, "passes = 1", "2"),
        (
            Argon2Params {
                passes: 65,
                ..CHEAP
            },
            "passes = 65",
            "64",
        ),
        (Argon2Params { lanes: 0, ..CHEAP }, "lanes = 0", "1"),
        (Argon2Params { lanes: 17, ..CHEAP }, "lanes = 17", "16"),
        (
            Argon2Params {
                memory_kib: MAX_MEMORY_KIB,
                passes: 3,
                lanes: 1,
            },
            "memory_kib × passes",
            "8388608",
        ),
    ];
    for (params, field, bound) in cases {
        match params.check() {
            Err(Error::UnsafeParameters(msg)) => {
                assert!(msg.contains(field), "{msg}");
                assert!(msg.contains(bound), "{msg}");
            }
            other => panic!("{params:?} gave {other:?}"),
        }
    }
    // Both ends of each range are accepted.
    Argon2Params {
        memory_kib: MAX_MEMORY_KIB,
        passes: 2,
        lanes: 16,
    }
    .check()
    .unwrap();
    Argon2Params {
        memory_kib: 128 * 1024,
        passes: MAX_PASSES,
        lanes: 1,
    }
    .check()
    .unwrap();
}

/// The named budgets nest: the link ceiling within the default, the default
/// within the Sensitive profile's cost; every profile but Sensitive is
/// within the default, and Sensitive within its own budget.
#[test]
fn budgets_nest_and_admit_the_profiles() {
    let within = |a: &Argon2Budget, b: &Argon2Budget| {
        a.max_memory_kib <= b.max_memory_kib
            && a.max_work_kib_passes <= b.max_work_kib_passes
            && a.max_lanes <= b.max_lanes
    };
    let d = Argon2Budget::DEFAULT;
    assert_eq!(Argon2Budget::default(), d);
    assert!(within(&Argon2Budget::LINK_PASSWORD, &d));
    assert!(within(&d, &Argon2Budget::SENSITIVE));
    // No blob the default admits costs more memory or work than Sensitive.
    let sensitive = Argon2Budget::admitting(Argon2Params::SENSITIVE);
    assert!(d.max_memory_kib <= sensitive.max_memory_kib);
    assert!(d.max_work_kib_passes <= sensitive.max_work_kib_passes);
    for profile in Profile::ALL {
        let p = profile.params();
        assert_eq!(p.check_within(&d).is_ok(), profile != Profile::Sensitive);
        p.check_within(&Argon2Budget::SENSITIVE).unwrap();
        p.check_within(&Argon2Budget::admitting(p)).unwrap();
    }
    Argon2Params::MODERATE
        .check_within(&Argon2Budget::LINK_PASSWORD)
        .unwrap();
    // The dearest parameters each budget admits, and nothing past them.
    assert_eq!(d.dearest(), Some(Argon2Params::MODERATE));
    assert_eq!(
        Argon2Budget::SENSITIVE.dearest(),
        Some(Argon2Params {
            memory_kib: 1024 * 1024,
            passes: 4,
            lanes: 1
        })
    );
    let none = Argon2Budget {
        max_memory_kib: MIN_MEMORY_KIB - 1,
        ..d
    };
    assert_eq!(none.dearest(), None);
}

#[test]
fn budget_refusals_name_field_value_and_bound() {
    let budget = Argon2Budget {
        max_memory_kib: 64 * 1024,
        max_work_kib_passes: 128 * 1024,
        max_lanes: 2,
    };
    let cases = [
        (
            Argon2Params {
                memory_kib: 64 * 1024 + 1,
                passes: 2,
                lanes: 1,
            },
            "memory_kib = 65537 is above this caller's budget of 65536 (64 MiB)",
        ),
        (
            Argon2Params {
                memory_kib: 64 * 1024,
                passes: 3,
                lanes: 1,
            },
            "memory_kib × passes = 65536 × 3 = 196608 is above this caller's budget of \
             131072 (128 MiB·passes)",
        ),
        (
            Argon2Params { lanes: 3, ..CHEAP },
            "lanes = 3 is above this caller's budget of 2",
        ),
    ];
    for (params, expected) in cases {
        match params.check_within(&budget) {
            Err(Error::UnsafeParameters(msg)) => assert_eq!(msg, expected),
            other => panic!("{params:?} gave {other:?}"),
        }
    }
    // The absolute bounds come first, whatever the budget.
    let huge = Argon2Budget {
        max_memory_kib: u32::MAX,
        max_work_kib_passes: u64::MAX,
        max_lanes: u32::MAX,
    };
    let over = Argon2Params {
        memory_kib: MAX_MEMORY_KIB + 1,
        ..CHEAP
    };
    assert_eq!(
        over.check_within(&huge).unwrap_err().to_string(),
        over.check().unwrap_err().to_string()
    );
    // Exactly at every bound is admitted.
    Argon2Params {
        memory_kib: 64 * 1024,
        passes: 2,
        lanes: 2,
    }
    .check_within(&budget)
    .unwrap();
}

#[test]
fn derive_within_refuses_before_allocating() {
    // 4 GiB is within the absolute bounds; the default budget refuses it
    // before the 4 GiB are asked for.
    let big = Argon2Params {
        memory_kib: MAX_MEMORY_KIB,
        passes: 2,
        lanes: 1,
    };
    big.check().unwrap();
    assert!(matches!(
        derive_within(b"pw", &[0; SALT_LEN], big, &Argon2Budget::DEFAULT),
        Err(Error::UnsafeParameters(_))
    ));
    assert_eq!(
        derive_within(b"pw", &[0; SALT_LEN], CHEAP, &Argon2Budget::DEFAULT).unwrap(),
        derive(b"pw", &[0; SALT_LEN], CHEAP).unwrap()
    );
}

#[test]
fn derive_is_deterministic_and_separates_inputs() {
    let salt = [7u8; SALT_LEN];
    let a = derive(b"password", &salt, CHEAP).unwrap();
    assert_eq!(a, derive(b"password", &salt, CHEAP).unwrap());
    assert_ne!(a, derive(b"passwore", &salt, CHEAP).unwrap());
    assert_ne!(a, derive(b"password", &[8u8; SALT_LEN], CHEAP).unwrap());
    assert_ne!(
        a,
        derive(b"password", &salt, Argon2Params { passes: 3, ..CHEAP }).unwrap()
    );
}

/// Our wiped working memory gives the same output as the crate's own
/// allocation path.
#[test]
fn matches_the_argon2_crate() {
    let salt = [1u8; SALT_LEN];
    let params = Argon2Params { lanes: 2, ..CHEAP };
    let ours = derive(b"pw", &salt, params).unwrap();
    let p = Params::new(params.memory_kib, params.passes, params.lanes, Some(32)).unwrap();
    let mut theirs = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(b"pw", &salt, &mut theirs)
        .unwrap();
    assert_eq!(ours.expose(), &theirs);
}

#[test]
fn refuses_before_allocating() {
    let huge = Argon2Params {
        memory_kib: u32::MAX,
        passes: 2,
        lanes: 1,
    };
    assert!(matches!(
        derive(b"pw", &[0; SALT_LEN], huge),
        Err(Error::UnsafeParameters(_))
    ));
}
