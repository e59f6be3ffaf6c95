//! One key of a key set: the base64 text that the bucket stores, and the
//! AES-256-GCM cipher made from it (its key schedule and hash key), made
//! once, when the key is made or first used, rather than for every value it
//! seals or opens. The copies of a set share it (a set is copied for every
//! change), and a set read from the bucket makes only the ciphers it uses.
//!
//! The cipher lives and goes with the text: a forget that removes the key
//! from a set drops its cipher with it, and the cipher's memory is wiped
//! (aes-gcm's `zeroize`) once no copy of the set holds it; a cached copy
//! made before a forget keeps both until the cache drops that copy (see
//! [`cache`](super::cache)).

use std::fmt;
use std::sync::{Arc, OnceLock};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Generate, Key, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::SecretsError;

/// A key as stored, with its cipher or what is wrong with the text.
#[derive(Clone)]
pub(crate) struct SetKey {
    /// The key, base64, as the bucket holds it.
    text: String,
    /// The cipher of the key once made, shared by the copies of the set;
    /// or why the text is no key (a corrupt set fails only the values
    /// sealed with it).
    cipher: Arc<Made>,
}

/// A key's cipher, once made, or why its text is no key.
type Made = OnceLock<Result<Aes256Gcm, String>>;

impl SetKey {
    /// A new key from the OS random generator.
    ///
    /// # Errors
    /// [`SecretsError::Random`] when the OS generator fails.
    pub(crate) fn generate() -> Result<Self, SecretsError> {
        let key = Key::<Aes256Gcm>::try_generate().map_err(|e| SecretsError::Random(e.into()))?;
        Ok(Self {
            text: STANDARD.encode(key),
            cipher: Arc::new(OnceLock::from(Ok(Aes256Gcm::new(&key)))),
        })
    }

    /// The key stored as `text`; its cipher is made at its first use.
    pub(crate) fn from_text(text: String) -> Self {
        Self {
            text,
            cipher: Arc::default(),
        }
    }

    /// The key's cipher.
    ///
    /// # Errors
    /// What is wrong with the stored text, when it is not 32 bytes of
    /// base64.
    pub(crate) fn cipher(&self) -> Result<&Aes256Gcm, &str> {
        let made = self.cipher.get_or_init(|| {
            let bytes = STANDARD.decode(&self.text).map_err(|e| e.to_string())?;
            let key = Key::<Aes256Gcm>::try_from(bytes.as_slice())
                .map_err(|_| format!("{} bytes, not 32", bytes.len()))?;
            Ok(Aes256Gcm::new(&key))
        });
        made.as_ref().map_err(String::as_str)
    }

    /// The key's base64 text.
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// A handle on the cipher that does not keep it alive.
    #[cfg(test)]
    pub(crate) fn watch(&self) -> std::sync::Weak<Made> {
        Arc::downgrade(&self.cipher)
    }
}

impl PartialEq for SetKey {
    /// Keys are equal when their texts are: the cipher follows the text.
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for SetKey {}

impl fmt::Debug for SetKey {
    /// Never the key itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetKey(..)")
    }
}

impl Serialize for SetKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for SetKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from_text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_with_a_cipher_that_seals_like_the_original() {
        let key = SetKey::generate().unwrap();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{}\"", key.text()));
        let read: SetKey = serde_json::from_str(&json).unwrap();
        assert_eq!(read, key);
        assert!(read.cipher.get().is_none(), "made at its first use");
        let copy = read.clone();
        assert_eq!(format!("{read:?}"), "SetKey(..)", "no key material");
        let sealed = super::super::cipher::seal(3, key.cipher().unwrap(), "f", b"1").unwrap();
        let parsed = super::super::cipher::parse(&sealed).unwrap();
        let opened = super::super::cipher::open(parsed, read.cipher().unwrap(), "f").unwrap();
        assert_eq!(opened, b"1");
        assert!(copy.cipher.get().is_some(), "copies share the cipher");
        let short = SetKey::from_text(STANDARD.encode([1u8; 5]));
        assert_eq!(short.cipher().unwrap_err(), "5 bytes, not 32");
        assert!(SetKey::from_text("!!".to_owned()).cipher().is_err());
    }
}
