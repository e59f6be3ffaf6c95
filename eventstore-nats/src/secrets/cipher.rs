//! One sealed value: `"<key id>:<base64(nonce ‖ AES-256-GCM ciphertext)>"`.
//!
//! Each value gets a fresh random 96-bit nonce ([`nonce`]). The associated
//! data is the name of what the value is (its field, or `(state)`,
//! `(refusal)`), so a sealed value copied into another field of the same
//! body does not open.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut as _, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::SecretsError;
use super::nonce::{self, NONCE_LEN};

/// The bytes of an authentication tag.
const TAG_LEN: usize = 16;

/// `plain` sealed with key `id` (its `cipher`), bound to `label`: digits,
/// `:` and base64, none of which JSON escapes.
///
/// # Errors
/// [`SecretsError::Random`] when the OS generator gives no seed for the
/// nonces.
pub(crate) fn seal(
    id: u64,
    cipher: &Aes256Gcm,
    label: &str,
    plain: &[u8],
) -> Result<String, SecretsError> {
    let nonce = nonce::fresh()?;
    let mut bytes = Vec::with_capacity(NONCE_LEN + plain.len() + TAG_LEN);
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(plain);
    // encryption fails only for a message beyond 64 GiB, which no NATS
    // message holds
    let tag = cipher
        .encrypt_inout_detached(
            &Nonce::<Aes256Gcm>::from(nonce),
            label.as_bytes(),
            (&mut bytes[NONCE_LEN..]).into(),
        )
        .map_err(|_| SecretsError::Encrypt {
            label: label.to_owned(),
        })?;
    bytes.extend_from_slice(&tag);
    let id = id.to_string();
    let mut sealed = String::with_capacity(id.len() + 1 + bytes.len().div_ceil(3) * 4);
    sealed.push_str(&id);
    sealed.push(':');
    STANDARD.encode_string(bytes, &mut sealed);
    Ok(sealed)
}

/// A sealed value taken apart: its key id and its nonce and ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The key id.
    pub(crate) id: u64,
    /// The nonce, the ciphertext and the tag.
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
    if bytes.len() < NONCE_LEN + TAG_LEN {
        return Err(format!(
            "{} bytes, too short for a nonce and a tag",
            bytes.len()
        ));
    }
    Ok(Parsed { id, bytes })
}

/// The plain bytes of `parsed`, sealed with the key whose cipher is
/// `cipher` and bound to `label`, decrypted in place.
///
/// # Errors
/// What is wrong, when the tag does not match (another key or label, or
/// changed bytes).
pub(crate) fn open(parsed: Parsed, cipher: &Aes256Gcm, label: &str) -> Result<Vec<u8>, String> {
    let Parsed { id, mut bytes } = parsed;
    let (nonce, rest) = bytes.split_at_mut(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    let nonce = Nonce::<Aes256Gcm>::try_from(&*nonce).map_err(|_| "a short nonce".to_owned())?;
    let tag = Tag::<Aes256Gcm>::try_from(&*tag).map_err(|_| "a short tag".to_owned())?;
    cipher
        .decrypt_inout_detached(&nonce, label.as_bytes(), ciphertext.into(), &tag)
        .map_err(|_| format!("the authentication tag does not match (key {id})"))?;
    bytes.truncate(bytes.len() - TAG_LEN);
    bytes.drain(..NONCE_LEN);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    use aes_gcm::aead::{Generate as _, Key, KeyInit as _};

    fn key() -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::generate())
    }

    #[test]
    fn a_value_opens_with_its_key_and_label_only() {
        let (k, other) = (key(), key());
        let sealed = seal(7, &k, "owner", "\"Ada ✓\"".as_bytes()).unwrap();
        assert!(sealed.starts_with("7:"), "{sealed}");
        let parsed = parse(&sealed).unwrap();
        assert_eq!(parsed.id, 7);
        assert_eq!(
            open(parsed.clone(), &k, "owner").unwrap(),
            "\"Ada ✓\"".as_bytes()
        );
        assert!(
            open(parsed.clone(), &other, "owner").is_err(),
            "another key"
        );
        assert!(open(parsed, &k, "email").is_err(), "moved to another field");
        assert_ne!(
            seal(7, &k, "owner", b"1").unwrap(),
            seal(7, &k, "owner", b"1").unwrap(),
            "a fresh nonce each time"
        );
    }

    #[test]
    fn a_value_sealed_whole_by_aead_encrypt_opens() {
        use aes_gcm::aead::{Aead as _, Payload};
        let k = key();
        let nonce = [9; NONCE_LEN];
        let payload = Payload {
            msg: b"\"v\"",
            aad: b"f",
        };
        let ciphertext = k
            .encrypt(&Nonce::<Aes256Gcm>::from(nonce), payload)
            .unwrap();
        let sealed = format!("4:{}", STANDARD.encode([&nonce[..], &ciphertext].concat()));
        let opened = open(parse(&sealed).unwrap(), &k, "f").unwrap();
        assert_eq!(opened, b"\"v\"", "the layout values were stored in before");
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
            open(flipped, &k, "f").unwrap_err(),
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
