//! Subjects of aggregates: `<prefix>.<kind>.<id>`, with the kind and the id
//! each encoded into one subject token.
//!
//! A NATS subject token must not be empty and must not hold `.` (which
//! separates tokens), `*` or `>` (wildcards) or whitespace; kinds and
//! aggregate ids may hold any of them, and unicode. A token keeps ASCII
//! letters, digits, `-` and `_` as they are and writes every other byte of
//! the text's UTF-8 as `=` and two uppercase hex digits, so that decoding
//! gives the text back exactly and two texts never share a token.
//!
//! The escape is `=` because a token is also a part of key-value keys (the
//! idempotency keys and snapshots of an aggregate), which allow only
//! `[-/_=.a-zA-Z0-9]`: a token is valid in both.
//!
//! ```
//! use eventstore_nats::subject::{decode_token, encode_token, stream_subject};
//! assert_eq!(encode_token("acc-1"), "acc-1");
//! assert_eq!(encode_token("a.b *>"), "a=2Eb=20=2A=3E");
//! assert_eq!(decode_token("a=2Eb=20=2A=3E")?, "a.b *>");
//! assert_eq!(stream_subject("events", "Account", "acc.1"), "events.Account.acc=2E1");
//! # Ok::<(), eventstore_nats::subject::TokenError>(())
//! ```

use std::fmt::Write as _;

/// The byte that starts an escape: `=` and two hex digits.
const ESCAPE: u8 = b'=';

/// Why a token cannot be decoded: it was not made by [`encode_token`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is empty; an encoded text never is.
    #[error("an empty subject token")]
    Empty,
    /// A byte that [`encode_token`] never leaves as it is.
    #[error("byte {byte:#04x} at {at} of the subject token {token:?} is not encoded")]
    Unencoded {
        /// The token.
        token: String,
        /// The byte offset.
        at: usize,
        /// The byte.
        byte: u8,
    },
    /// A `=` not followed by two uppercase hex digits.
    #[error("the escape at {at} of the subject token {token:?} is not `=` and two hex digits")]
    BadEscape {
        /// The token.
        token: String,
        /// The byte offset of the `=`.
        at: usize,
    },
    /// The decoded bytes are not UTF-8.
    #[error("the subject token {token:?} does not decode to UTF-8 text")]
    NotUtf8 {
        /// The token.
        token: String,
    },
}

/// Whether `byte` stands for itself in a token.
fn plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// `text` as one subject token: ASCII letters, digits, `-` and `_` kept,
/// every other byte written `=XX`. The empty text, which no kind or
/// aggregate id is, gives the empty token, which is not a token.
#[must_use]
pub fn encode_token(text: &str) -> String {
    let mut token = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if plain(byte) {
            token.push(char::from(byte));
        } else {
            // writing to a String cannot fail
            let _ = write!(token, "={byte:02X}");
        }
    }
    token
}

/// The text that [`encode_token`] made `token` from.
///
/// # Errors
/// [`TokenError`] naming the token and the offending byte, for a token
/// that `encode_token` cannot have made.
pub fn decode_token(token: &str) -> Result<String, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Empty);
    }
    let bytes = token.as_bytes();
    let mut text = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == ESCAPE {
            let escaped = bytes
                .get(at + 1..at + 3)
                .and_then(hex_pair)
                .filter(|b| !plain(*b))
                .ok_or_else(|| TokenError::BadEscape {
                    token: token.to_owned(),
                    at,
                })?;
            text.push(escaped);
            at += 3;
        } else if plain(byte) {
            text.push(byte);
            at += 1;
        } else {
            return Err(TokenError::Unencoded {
                token: token.to_owned(),
                at,
                byte,
            });
        }
    }
    String::from_utf8(text).map_err(|_| TokenError::NotUtf8 {
        token: token.to_owned(),
    })
}

/// The byte two uppercase hex digits stand for.
fn hex_pair(digits: &[u8]) -> Option<u8> {
    let digit = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    };
    Some(digit(digits[0])? << 4 | digit(digits[1])?)
}

/// The subject of the aggregate `kind` `id` under `prefix` (a subject of
/// one or more tokens, as given): `<prefix>.<kind token>.<id token>`.
#[must_use]
pub fn stream_subject(prefix: &str, kind: &str, id: &str) -> String {
    format!("{prefix}.{}.{}", encode_token(kind), encode_token(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether NATS takes `token` as one subject token.
    fn is_token(token: &str) -> bool {
        !token.is_empty()
            && token.is_ascii()
            && !token
                .bytes()
                .any(|b| matches!(b, b'.' | b'*' | b'>') || b.is_ascii_whitespace())
    }

    /// Whether `token` may be a part of a key-value key between dots
    /// (keys allow only `[-/_=.a-zA-Z0-9]`).
    fn is_key_part(token: &str) -> bool {
        !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'_' | b'='))
    }

    #[test]
    fn every_awkward_text_round_trips_as_one_token() {
        for text in [
            "acc-1",
            "a.b",
            "a b",
            "*",
            ">",
            "a.*.>",
            "tab\there",
            "line\nbreak",
            "~",
            "~41",
            "=",
            "=41",
            "a=b",
            "Ünïcødé ✓ 口座",
            "emoji 🦀",
            "'; DROP TABLE events; --",
            "under_score-dash",
        ] {
            let token = encode_token(text);
            assert!(is_token(&token), "{text:?} gave {token:?}");
            assert!(is_key_part(&token), "{text:?} gave {token:?}, no key part");
            assert_eq!(decode_token(&token).as_deref(), Ok(text), "{token:?}");
        }
    }

    #[test]
    fn two_texts_never_share_a_token() {
        let texts = ["a.b", "a=2Eb", "a_2Eb", "A.B", "a b", "a%20b"];
        let mut tokens: Vec<String> = texts.iter().map(|t| encode_token(t)).collect();
        tokens.sort();
        tokens.dedup();
        assert_eq!(tokens.len(), texts.len(), "{tokens:?}");
    }

    #[test]
    fn every_byte_value_of_a_char_round_trips() {
        // all of Latin-1 and a slice of the planes above, bounded in count
        let chars = (0u32..0x300).chain((0x1_F300..0x1_F400).step_by(7));
        for c in chars.filter_map(char::from_u32) {
            let text = format!("x{c}y");
            let token = encode_token(&text);
            assert!(is_token(&token), "{c:?} gave {token:?}");
            assert!(is_key_part(&token), "{c:?} gave {token:?}, no key part");
            assert_eq!(decode_token(&token), Ok(text));
        }
    }

    #[test]
    fn tokens_it_cannot_have_made_are_refused_by_name() {
        assert_eq!(decode_token(""), Err(TokenError::Empty));
        assert!(matches!(
            decode_token("a.b"),
            Err(TokenError::Unencoded {
                at: 1,
                byte: b'.',
                ..
            })
        ));
        for bad in ["=", "=4", "=4g", "=zz", "=41", "=2e"] {
            assert!(
                matches!(decode_token(bad), Err(TokenError::BadEscape { at: 0, .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            decode_token("=FF"),
            Err(TokenError::NotUtf8 { .. })
        ));
        assert_eq!(
            decode_token("a.b").unwrap_err().to_string(),
            "byte 0x2e at 1 of the subject token \"a.b\" is not encoded"
        );
    }

    #[test]
    fn a_subject_has_three_parts_whatever_the_kind_and_id() {
        let subject = stream_subject("events", "Money.Transfer", "t 1.>");
        assert_eq!(subject, "events.Money=2ETransfer.t=201=2E=3E");
        assert_eq!(subject.split('.').count(), 3);
    }
}
