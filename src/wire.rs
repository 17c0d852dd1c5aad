//! The canonical binary encoding every object uses, and its base64url text form.
//!
//! Every object starts with two bytes: the format version and a kind tag. Fields
//! follow in a fixed order; integers are big-endian; variable-length fields carry a
//! length prefix whose bound is checked before anything is allocated. There are no
//! maps and no optional encodings, so each value has exactly one encoding and a
//! signature covers exact bytes. Written by hand (rather than with a serde format)
//! because canonicity and allocation bounds are the point; see SPEC.md §Encoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The only format version this library writes and reads.
pub const VERSION: u8 = 1;

/// What was wrong with bytes that failed to decode. Decoders check every length and
/// count against a bound before allocating, and never panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before `what` was complete.
    #[error("{what} is truncated")]
    Truncated {
        /// The object or field being read.
        what: &'static str,
    },
    /// Bytes remain after a complete `what`.
    #[error("{count} unexpected trailing byte(s) after {what}")]
    TrailingBytes {
        /// The object that was complete.
        what: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
    /// The object starts with a format version this library does not read.
    #[error("{what} has unsupported format version {found}")]
    UnsupportedVersion {
        /// The object.
        what: &'static str,
        /// The version byte found.
        found: u8,
    },
    /// The object is of another kind than expected (its kind tag differs).
    #[error("expected {expected}, found an object of kind {found}")]
    WrongKind {
        /// The object kind expected.
        expected: &'static str,
        /// The kind tag found.
        found: u8,
    },
    /// A length or count exceeds the bound for that field.
    #[error("{what} is too long: {len} > {max}")]
    TooLong {
        /// The field.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The largest accepted.
        max: u64,
    },
    /// A field holds a value outside its domain.
    #[error("{what} is invalid: {reason}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A text form is not valid unpadded base64url.
    #[error("{what} is not valid base64url")]
    Base64 {
        /// The text object.
        what: &'static str,
    },
}

impl DecodeError {
    /// Shorthand for [`DecodeError::Invalid`].
    pub(crate) fn invalid(what: &'static str, reason: &'static str) -> Self {
        DecodeError::Invalid { what, reason }
    }
}

/// Kind tags: the second byte of every object. SPEC.md lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A public identity card.
    IdentityCard = 0x01,
    /// A sealed small object (XChaCha20-Poly1305 box).
    SealedBox = 0x02,
    /// A secret wrapped to a recipient with HPKE.
    WrappedSecret = 0x03,
    /// The header of a sealed content stream.
    ContentStream = 0x04,
    /// A password-protected keystore.
    Keystore = 0x05,
    /// The account secrets sealed inside a keystore.
    AccountSecrets = 0x06,
    /// A serialized trust store.
    TrustStore = 0x07,
    /// A signed operation of a collection's log.
    Operation = 0x10,
    /// A client's verified checkpoint of a collection (sealed at rest).
    Checkpoint = 0x11,
}

impl Kind {
    /// The human name used in errors.
    pub fn name(self) -> &'static str {
        match self {
            Kind::IdentityCard => "identity card",
            Kind::SealedBox => "sealed box",
            Kind::WrappedSecret => "wrapped secret",
            Kind::ContentStream => "content stream",
            Kind::Keystore => "keystore",
            Kind::AccountSecrets => "account secrets",
            Kind::TrustStore => "trust store",
            Kind::Operation => "operation",
            Kind::Checkpoint => "checkpoint",
        }
    }
}

/// Builds the canonical encoding of one object.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Starts an object of `kind` with the current format version.
    pub fn new(kind: Kind) -> Self {
        Self {
            buf: vec![VERSION, kind as u8],
        }
    }

    /// Starts an object whose final size is known, so secrets are never copied by
    /// a reallocation.
    pub fn with_capacity(kind: Kind, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(2));
        buf.extend_from_slice(&[VERSION, kind as u8]);
        Self { buf }
    }

    /// Starts a byte string without a header (for signed-message bodies and AAD).
    pub fn raw() -> Self {
        Self::default()
    }

    /// Starts a byte string without a header whose final size is known, so
    /// secrets written into it are never copied by a reallocation.
    pub fn raw_with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends a big-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends bytes of a length fixed by the format (no prefix).
    pub fn fixed(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// Appends a byte string with a u32 length prefix. Callers bound their inputs
    /// far below 4 GiB; a longer one is a caller bug and is truncated to fail decoding.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.buf.extend_from_slice(v);
        self
    }

    /// Appends a UTF-8 string with a u32 length prefix.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    /// The encoded bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The bytes so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }
}

/// Reads one object, checking every bound before allocating.
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads the header of an object of `kind` and positions after it.
    pub fn new(buf: &'a [u8], kind: Kind) -> Result<Self, DecodeError> {
        let what = kind.name();
        let mut r = Self { buf, what };
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what,
                found: version,
            });
        }
        let found = r.u8()?;
        if found != kind as u8 {
            return Err(DecodeError::WrongKind {
                expected: what,
                found,
            });
        }
        Ok(r)
    }

    /// Reads a headerless byte string, naming it `what` in errors.
    pub fn raw(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated { what: self.what });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads a u32 length or count, refused if above `max`.
    fn bounded_u32(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(DecodeError::TooLong {
                what,
                len: n as u64,
                max: max as u64,
            });
        }
        Ok(n)
    }

    /// Reads a length-prefixed byte string of at most `max` bytes, borrowing it.
    pub fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.bounded_u32(what, max)?;
        self.take(len).map_err(|_| DecodeError::Truncated { what })
    }

    /// Reads a length-prefixed UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, what: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes(what, max)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::invalid(what, "not UTF-8"))
    }

    /// Reads a count of items that each take at least `min_item_len` bytes, bounded
    /// by `max` and by what the input can hold, so a forged count allocates nothing.
    pub fn count(
        &mut self,
        what: &'static str,
        max: usize,
        min_item_len: usize,
    ) -> Result<usize, DecodeError> {
        let n = self.bounded_u32(what, max)?;
        if n.saturating_mul(min_item_len.max(1)) > self.buf.len() {
            return Err(DecodeError::Truncated { what });
        }
        Ok(n)
    }

    /// Reads everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                what: self.what,
                count: self.buf.len(),
            })
        }
    }
}

/// Encodes bytes as unpadded base64url, the text form of every object.
pub fn to_text(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url, refusing input longer than `max_bytes` once
/// decoded. A text form has one spelling: whitespace or a newline anywhere in
/// it, at either end included, is refused, never trimmed (a caller reading a
/// file trims its own line ending, knowingly).
pub fn from_text(text: &str, what: &'static str, max_bytes: usize) -> Result<Vec<u8>, DecodeError> {
    if text.chars().any(char::is_whitespace) {
        return Err(DecodeError::invalid(
            what,
            "the text form contains whitespace or a newline (it is not trimmed)",
        ));
    }
    let decoded_len = text.len() / 4 * 3 + 3;
    if decoded_len > max_bytes.saturating_add(3) {
        return Err(DecodeError::TooLong {
            what,
            len: decoded_len as u64,
            max: max_bytes as u64,
        });
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| DecodeError::Base64 { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_fields() {
        let mut w = Writer::new(Kind::SealedBox);
        w.u8(7)
            .u16(300)
            .u32(70_000)
            .u64(1 << 40)
            .bytes(b"abc")
            .str("hé");
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, Kind::SealedBox).unwrap();
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u16().unwrap(), 300);
        assert_eq!(r.u32().unwrap(), 70_000);
        assert_eq!(r.u64().unwrap(), 1 << 40);
        assert_eq!(r.bytes("b", 3).unwrap(), b"abc");
        assert_eq!(r.str("s", 8).unwrap(), "hé");
        r.finish().unwrap();
    }

    #[test]
    fn refuses_bad_headers_and_bounds() {
        assert_eq!(
            Reader::new(&[2, 1], Kind::IdentityCard).err(),
            Some(DecodeError::UnsupportedVersion {
                what: "identity card",
                found: 2
            })
        );
        assert!(matches!(
            Reader::new(&[1, 2], Kind::IdentityCard).err(),
            Some(DecodeError::WrongKind { .. })
        ));
        assert!(matches!(
            Reader::new(&[1], Kind::IdentityCard).err(),
            Some(DecodeError::Truncated { .. })
        ));
        // A forged huge length is refused before allocation.
        let mut r = Reader::raw(&[0xff, 0xff, 0xff, 0xff, 1], "x");
        assert!(matches!(
            r.bytes("field", 1024),
            Err(DecodeError::TooLong { .. })
        ));
        let mut r = Reader::raw(&[0, 0, 0, 9, 1], "x");
        assert!(matches!(
            r.bytes("field", 1024),
            Err(DecodeError::Truncated { .. })
        ));
        let mut r = Reader::raw(&[0, 1, 0, 0], "x");
        assert!(matches!(
            r.count("items", 1 << 20, 8),
            Err(DecodeError::Truncated { .. })
        ));
        let r = Reader::raw(&[1], "x");
        assert!(matches!(r.finish(), Err(DecodeError::TrailingBytes { .. })));
    }

    #[test]
    fn text_form() {
        let t = to_text(&[0xfb, 0xff, 0x00]);
        assert_eq!(t, "-_8A");
        assert_eq!(from_text(&t, "x", 16).unwrap(), vec![0xfb, 0xff, 0]);
        assert!(from_text("!!", "x", 16).is_err());
        // One spelling: whitespace anywhere is refused, not trimmed.
        for spaced in [
            format!("{t} "),
            format!(" {t}"),
            format!("{t}\n"),
            format!("A{t}").replacen('A', "A\n", 1),
            format!("{t}\t"),
        ] {
            assert!(
                matches!(
                    from_text(&spaced, "x", 16),
                    Err(DecodeError::Invalid { .. })
                ),
                "{spaced:?}"
            );
        }
        assert!(from_text(&"A".repeat(100), "x", 16).is_err());
    }
}
