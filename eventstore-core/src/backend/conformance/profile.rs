//! A family of events whose schema changed over three releases, for the
//! schema cases: each kind of upcaster, an old kind name, a retired kind
//! split in two, personal fields that a later version renamed, and a
//! state schema that changed.
//!
//! - `Registered` v1 held one `name`; v2 splits it into given and family
//!   name (a typed upcaster, [`RegisteredV1`]).
//! - `EmailChanged` was stored as `EmailSet` before it was renamed, and v1
//!   called the address `email` (a raw upcaster).
//! - `NameChanged` (v1) is retired: it reads as a `GivenNameChanged` and a
//!   `FamilyNameChanged`.
//! - `Verified` v1 kept the phone number the code went to in `method`;
//!   v2 keeps it in `contact`, and `method` says how ("sms"), which is
//!   not personal.
//! - The state was at schema 1 with one `name`;
//!   [`Profile::upcast_state`](crate::Aggregate::upcast_state) reads it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::event::schema::{RawEvent, UpcastError};
use crate::{Aggregate, Event};

/// Someone registered.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    /// Given name (personal).
    pub given_name: Option<String>,
    /// Family name (personal).
    pub family_name: Option<String>,
}

/// `Registered` as release 1 wrote it: one name.
#[derive(Deserialize)]
pub struct RegisteredV1 {
    /// The whole name (personal).
    pub name: Option<String>,
}

/// The first word is the given name, the rest the family name.
impl From<RegisteredV1> for Registered {
    fn from(v1: RegisteredV1) -> Self {
        let (given, family) = split_name(v1.name.as_deref());
        Self {
            given_name: given,
            family_name: family,
        }
    }
}

/// The email address changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EmailChanged {
    /// The new address (personal).
    pub address: Option<String>,
}

/// The given name changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GivenNameChanged {
    /// The new given name (personal).
    pub given_name: Option<String>,
}

/// The family name changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FamilyNameChanged {
    /// The new family name (personal).
    pub family_name: Option<String>,
}

/// The profile's owner proved a contact was theirs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// How the code was sent: "sms" or "email" (not personal).
    pub method: String,
    /// The number or address it was sent to (personal).
    pub contact: Option<String>,
}

/// `Verified` as release 1 wrote it: only by text message, to the number
/// in `method`.
#[derive(Deserialize)]
pub struct VerifiedV1 {
    /// The phone number (personal).
    pub method: Option<String>,
}

impl From<VerifiedV1> for Verified {
    fn from(v1: VerifiedV1) -> Self {
        Self {
            method: "sms".to_owned(),
            contact: v1.method,
        }
    }
}

/// Everything that happens to a [`Profile`].
#[derive(Event, Clone, Debug, PartialEq, Eq)]
#[event(retired(kind = "NameChanged", events = split_name_changed, personal(name)))]
pub enum ProfileEvent {
    /// See [`Registered`].
    #[event(version = 2, personal(given_name, family_name),
            upcast(from = 1, typed = RegisteredV1, personal(name)))]
    Registered(Registered),
    /// See [`EmailChanged`].
    #[event(version = 2, personal(address), aliases = ["EmailSet"],
            upcast(from = 1, raw = email_v1, personal(email)))]
    EmailChanged(EmailChanged),
    /// See [`GivenNameChanged`].
    #[event(personal(given_name))]
    GivenNameChanged(GivenNameChanged),
    /// See [`FamilyNameChanged`].
    #[event(personal(family_name))]
    FamilyNameChanged(FamilyNameChanged),
    /// See [`Verified`].
    #[event(version = 2, personal(contact),
            upcast(from = 1, typed = VerifiedV1, personal(method)))]
    Verified(Verified),
}

/// `EmailChanged` v1 called the address `email`.
///
/// # Errors
/// When the body is not an object.
pub fn email_v1(body: Value) -> Result<Value, UpcastError> {
    let Value::Object(mut fields) = body else {
        return Err(UpcastError::new("the body is not an object"));
    };
    let address = fields.remove("email").unwrap_or(Value::Null);
    fields.insert("address".into(), address);
    Ok(Value::Object(fields))
}

/// `NameChanged` held the whole name: it is a given and a family name
/// change now.
///
/// # Errors
/// When `name` is neither a string nor null.
pub fn split_name_changed(RawEvent { body, .. }: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    let name = match &body["name"] {
        Value::String(name) => Some(name.as_str()),
        Value::Null => None,
        other => return Err(UpcastError::new(format!("`name` is {other}, not a string"))),
    };
    let (given, family) = split_name(name);
    Ok(vec![
        RawEvent::new("GivenNameChanged", 1, json!({ "given_name": given })),
        RawEvent::new("FamilyNameChanged", 1, json!({ "family_name": family })),
    ])
}

fn split_name(name: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(name) = name else {
        return (None, None);
    };
    match name.split_once(' ') {
        Some((given, family)) => (Some(given.to_owned()), Some(family.to_owned())),
        None => (Some(name.to_owned()), None),
    }
}

/// A person's profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// How many events were folded.
    pub changes: u64,
}

impl Aggregate for Profile {
    const KIND: &'static str = "Profile";
    const SNAPSHOT_VERSION: u32 = 2;
    type Event = ProfileEvent;

    fn apply(&mut self, event: &ProfileEvent) {
        self.changes += 1;
        match event {
            ProfileEvent::Registered(e) => {
                self.given_name.clone_from(&e.given_name);
                self.family_name.clone_from(&e.family_name);
            }
            ProfileEvent::EmailChanged(e) => self.email.clone_from(&e.address),
            ProfileEvent::GivenNameChanged(e) => self.given_name.clone_from(&e.given_name),
            ProfileEvent::FamilyNameChanged(e) => self.family_name.clone_from(&e.family_name),
            ProfileEvent::Verified(_) => {}
        }
    }

    /// State schema 1 held one `name`; other schemas are replayed.
    fn upcast_state(schema_version: u32, state: Value) -> Option<Self> {
        if schema_version != 1 {
            return None;
        }
        let (given_name, family_name) = split_name(state["name"].as_str());
        Some(Self {
            given_name,
            family_name,
            email: state["email"].as_str().map(str::to_owned),
            changes: state["changes"].as_u64()?,
        })
    }
}

/// Why a profile refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ProfileError {
    /// An email address must not be empty.
    #[error("an empty email address")]
    EmptyEmail,
}

impl Profile {
    /// Changes the email address.
    ///
    /// # Errors
    /// [`ProfileError::EmptyEmail`].
    pub fn change_email(&self, address: &str) -> Result<Vec<ProfileEvent>, ProfileError> {
        if address.is_empty() {
            return Err(ProfileError::EmptyEmail);
        }
        Ok(vec![
            EmailChanged {
                address: Some(address.into()),
            }
            .into(),
        ])
    }
}
