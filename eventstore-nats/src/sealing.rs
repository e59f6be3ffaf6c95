//! The one place where what the store keeps of personal data passes on its
//! way in and out: event bodies, snapshot states and the domain errors of
//! recorded refusals. Sealed JSON is what the messages and buckets hold.
//!
//! For now sealing keeps the JSON as it is. Crypto-shredding (per-field
//! AES-GCM with keys in a bucket, which `forget` destroys) replaces these
//! two functions, and nothing else needs to change to take it.

use eventstore_core::Error;
use serde_json::value::RawValue;

/// `json` as the store keeps it.
///
/// # Errors
/// [`Error::Backend`] for a text that is not JSON, which no caller passes.
pub(crate) fn seal_body(json: &str) -> Result<Box<RawValue>, Error> {
    RawValue::from_string(json.to_owned())
        .map_err(|e| Error::backend("cannot seal a JSON text that does not parse", e))
}

/// The JSON text that [`seal_body`] sealed into `stored`.
pub(crate) fn open_body(stored: &RawValue) -> String {
    stored.get().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_sealed_opens_as_it_was() {
        let json = r#"{"owner":"Ada","amount":5}"#;
        let sealed = seal_body(json).unwrap();
        assert_eq!(open_body(&sealed), json);
        assert!(seal_body("{").is_err());
    }
}
