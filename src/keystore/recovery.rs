//! The recovery phrase: the 256-bit recovery key as 24 BIP39 words.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::LABEL_RECOVERY_KEY;
use crate::crypto::kdf;
use crate::crypto::secret::SecretKey;
use crate::error::{Error, Result};

/// Number of words in a recovery phrase.
pub const RECOVERY_WORDS: usize = 24;

/// The recovery key: 256 random bits, shown to the user as 24 words of the BIP39
/// English list (the last word carries an 8-bit checksum).
///
/// Zeroized on drop, redacted in `Debug`, compared in constant time, never
/// `Display`ed: the words leave only through [`RecoveryPhrase::words`].
pub struct RecoveryPhrase {
    entropy: SecretKey,
}

impl RecoveryPhrase {
    /// 256 fresh random bits.
    pub(super) fn generate() -> Result<Self> {
        Ok(Self {
            entropy: SecretKey::random()?,
        })
    }

    /// Parses 24 words of the BIP39 English list. Case and whitespace (spaces, tabs,
    /// line breaks, repeated) do not matter.
    ///
    /// Refuses with [`Error::InvalidRecoveryPhrase`] saying why: the word count, the
    /// position of a word not in the list, or a checksum that does not match. The
    /// message never contains a word.
    pub fn parse(phrase: &str) -> Result<Self> {
        let normalized = Zeroizing::new(phrase.to_lowercase());
        let count = normalized.split_whitespace().count();
        if count != RECOVERY_WORDS {
            return Err(Error::InvalidRecoveryPhrase(format!(
                "expected {RECOVERY_WORDS} words, found {count}"
            )));
        }
        let mnemonic = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &normalized)
            .map_err(|e| {
                Error::InvalidRecoveryPhrase(match e {
                    bip39::Error::UnknownWord(i) => {
                        format!("word {} is not in the BIP39 English word list", i + 1)
                    }
                    bip39::Error::InvalidChecksum => {
                        "the checksum does not match: a word is wrong or two words are swapped"
                            .into()
                    }
                    bip39::Error::BadWordCount(n) => {
                        format!("expected {RECOVERY_WORDS} words, found {n}")
                    }
                    _ => "not a BIP39 English phrase".into(),
                })
            })?;
        let (entropy, len) = mnemonic.to_entropy_array();
        let entropy = Zeroizing::new(entropy);
        let key = entropy
            .get(..len)
            .and_then(SecretKey::from_slice)
            .ok_or_else(|| Error::InvalidRecoveryPhrase("not 256 bits of entropy".into()))?;
        Ok(Self { entropy: key })
    }

    /// The 24 words separated by single spaces, to show the user once. The string
    /// is zeroized when dropped; do not copy it elsewhere.
    pub fn words(&self) -> Zeroizing<String> {
        // The longest English word has 8 letters: no reallocation leaves a copy.
        let mut out = Zeroizing::new(String::with_capacity(RECOVERY_WORDS * 9));
        // `from_entropy` fails only for entropy of a length other than 16 to 32
        // bytes in steps of 4; ours is always 32.
        if let Ok(mnemonic) = bip39::Mnemonic::from_entropy(self.entropy.expose()) {
            for (i, word) in mnemonic.words().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
        out
    }

    /// The key that wraps the master key.
    pub(super) fn wrapping_key(&self) -> Result<SecretKey> {
        Ok(kdf::derive_key(
            self.entropy.expose(),
            b"",
            LABEL_RECOVERY_KEY,
            &[],
        )?)
    }
}

impl fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryPhrase(***)")
    }
}

impl ConstantTimeEq for RecoveryPhrase {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.entropy.ct_eq(&other.entropy)
    }
}

impl PartialEq for RecoveryPhrase {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for RecoveryPhrase {}
