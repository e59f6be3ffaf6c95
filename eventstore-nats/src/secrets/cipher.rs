//! One sealed value: `"<key id>:<base64(nonce ‖ AES-256-GCM ciphertext)>"`.
//!
//! Each value gets a fresh random 96-bit nonce. The associated data is the
//! name of what the value is (its field, or `(state)`, `(refusal)`), so a
//! sealed value copied into another field of the same body does not open.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, Key, KeyInit, Nonce, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::SecretsError;

/// The bytes of a nonce.
const NONCE_LEN: usize = 12;

/// `plain` sealed with key `id` (`key`), bound to `label`.
///
/// # Errors
/// [`SecretsError::Random`] when the OS generator gives no nonce.
pub(crate) fn seal(
    id: u64,
    key: &Key<Aes256Gcm>,
    label: &str,
    plain: &[u8],
) -> Result<String, SecretsError> {
    let nonce = Nonce::<Aes256Gcm>::try_generate().map_err(|e| SecretsError::Random(e.into()))?;
    let payload = Payload {
        msg: plain,
        aad: label.as_bytes(),
    };
    // encryption fails only for a message beyond 64 GiB, which no NATS
    // message holds
    let ciphertext =
        Aes256Gcm::new(key)
            .encrypt(&nonce, payload)
            .map_err(|_| SecretsError::Encrypt {
                label: label.to_owned(),
            })?;
    let mut bytes = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&ciphertext);
    Ok(format!("{id}:{}", STANDARD.encode(bytes)))
}

/// A sealed value taken apart: its key id and its nonce and ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The key id.
    pub(crate) id: u64,
    /// The nonce followed by the ciphertext.
    bytes: Vec<u8>,
}

/// Takes `sealed` apart.
///
/// # Errors
/// What is wrong with it, when [`seal`] cannot have made it.
pub(crate) fn parse(sealed: &str) -> Result<Parsed, String> {
    let (id, text) = sealed.split_once(':').ok_or("no `:` after a key id")?;
    let id = id
        .parse()
        .map_err(|_| format!("the key id {id:?} is not a number"))?;
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    if bytes.len() < NONCE_LEN + 16 {
        return Err(format!(
            "{} bytes, too short for a nonce and a tag",
            bytes.len()
        ));
    }
    Ok(Parsed { id, bytes })
}

/// The plain bytes of `parsed`, sealed with `key` and bound to `label`.
///
/// # Errors
/// What is wrong, when the tag does not match (another key or label, or
/// changed bytes).
pub(crate) fn open(parsed: &Parsed, key: &Key<Aes256Gcm>, label: &str) -> Result<Vec<u8>, String> {
    let (nonce, ciphertext) = parsed.bytes.split_at(NONCE_LEN);
    let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| "a short nonce".to_owned())?;
    let payload = Payload {
        msg: ciphertext,
        aad: label.as_bytes(),
    };
    Aes256Gcm::new(key)
        .decrypt(&nonce, payload)
        .map_err(|_| format!("the authentication tag does not match (key {})", parsed.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key<Aes256Gcm> {
        Key::<Aes256Gcm>::generate()
    }

    #[test]
    fn a_value_opens_with_its_key_and_label_only() {
        let (k, other) = (key(), key());
        let sealed = seal(7, &k, "owner", "\"Ada ✓\"".as_bytes()).unwrap();
        assert!(sealed.starts_with("7:"), "{sealed}");
        let parsed = parse(&sealed).unwrap();
        assert_eq!(parsed.id, 7);
        assert_eq!(open(&parsed, &k, "owner").unwrap(), "\"Ada ✓\"".as_bytes());
        assert!(open(&parsed, &other, "owner").is_err(), "another key");
        assert!(
            open(&parsed, &k, "email").is_err(),
            "moved to another field"
        );
        assert_ne!(
            seal(7, &k, "owner", b"1").unwrap(),
            seal(7, &k, "owner", b"1").unwrap(),
            "a fresh nonce each time"
        );
    }

    #[test]
    fn a_changed_or_malformed_value_is_refused_with_the_reason() {
        let k = key();
        let sealed = seal(1, &k, "f", b"\"secret\"").unwrap();
        let (id, text) = sealed.split_once(':').unwrap();
        let mut bytes = STANDARD.decode(text).unwrap();
        bytes[NONCE_LEN + 2] ^= 1;
        let flipped = parse(&format!("{id}:{}", STANDARD.encode(&bytes))).unwrap();
        assert_eq!(
            open(&flipped, &k, "f").unwrap_err(),
            "the authentication tag does not match (key 1)"
        );
        assert_eq!(parse("abc").unwrap_err(), "no `:` after a key id");
        assert_eq!(
            parse("x:AAAA").unwrap_err(),
            "the key id \"x\" is not a number"
        );
        assert!(parse("1:!!").unwrap_err().starts_with("not base64"));
        assert_eq!(
            parse("1:AAAA").unwrap_err(),
            "3 bytes, too short for a nonce and a tag"
        );
    }
}
