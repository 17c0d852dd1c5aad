//! The cryptographic core: secrets, randomness, key derivation, small-object
//! encryption, signatures, key agreement, key wrapping (HPKE), content streams and
//! password hashing. Everything above this module uses these types and never a
//! primitive crate directly. Its failures are its own [`Error`] (also
//! `sealshare::CryptoError`), which converts into [`crate::Error`] with `?`.

pub mod aead;
mod error;
pub mod kdf;
pub mod password;
pub mod random;
pub mod secret;
pub mod sign;
pub mod stream;
pub mod wrap;
pub mod x25519;

pub use error::{Error, Result};
