//! Secret values as their own types: heap-boxed, zeroized on drop, never printed,
//! compared in constant time, never `Copy`, `Clone` only where a copy is needed.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::Result;
use crate::crypto::random;

/// A 256-bit symmetric secret (an account master key, an epoch key, an item key).
///
/// Guarantees: the bytes are zeroized when the value is dropped; `Debug` prints
/// no key material; equality runs in constant time. The bytes leave the type only
/// through [`SecretKey::expose`], which callers must not copy out of.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(Box<[u8; 32]>);

impl SecretKey {
    /// Length of the key in bytes.
    pub const LEN: usize = 32;

    /// A fresh key from the operating system's random generator.
    pub fn random() -> Result<Self> {
        let mut key = Self(Box::new([0u8; 32]));
        random::fill(key.0.as_mut_slice())?;
        Ok(key)
    }

    /// Takes ownership of key bytes; the caller's copy should be zeroized.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut bytes = Zeroizing::new(bytes);
        let key = Self(Box::new(*bytes));
        bytes.zeroize();
        key
    }

    /// Reads a key from a slice of exactly 32 bytes.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: &[u8; 32] = bytes.try_into().ok()?;
        Some(Self(Box::new(*arr)))
    }

    /// The key bytes, for the primitives that need them. Do not copy them out.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl ConstantTimeEq for SecretKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SecretKey {}

/// A secret of variable length (an unwrapped payload, a serialized secret record).
///
/// Zeroized on drop, redacted in `Debug`, compared in constant time.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of the bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret bytes. Do not copy them out.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, ***)", self.0.len())
    }
}

impl ConstantTimeEq for SecretBytes {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // Lengths are not secret; contents are compared in constant time.
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SecretBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let key = SecretKey::from_bytes([0xAB; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.to_lowercase().contains("ab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
        let bytes = SecretBytes::new(vec![0xCD; 40]);
        let shown = format!("{bytes:?}");
        assert!(!shown.to_lowercase().contains("cd"), "{shown}");
        assert!(!shown.contains("205"), "{shown}");
    }

    #[test]
    fn equality_compares_contents() {
        let a = SecretKey::from_bytes([1; 32]);
        let b = SecretKey::from_bytes([1; 32]);
        let c = SecretKey::from_bytes([2; 32]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(
            SecretBytes::new(vec![1, 2]),
            SecretBytes::new(vec![1, 2, 3])
        );
    }

    #[test]
    fn random_keys_differ() {
        let a = SecretKey::random().unwrap();
        let b = SecretKey::random().unwrap();
        assert_ne!(a, b);
    }
}
