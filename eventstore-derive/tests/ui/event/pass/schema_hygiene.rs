// The generated schema code names nothing the user's scope may shadow: an
// enum called `Value`, types called `Result`, `Option`, `Decoded`,
// `UpcastStep`, `Upcaster`, `RawEvent`, `EventBody`, `DecodeError`, and
// a module called `serde_json`.

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Decoded;
#[allow(dead_code)]
struct UpcastStep;
#[allow(dead_code)]
struct Upcaster;
#[allow(dead_code)]
struct RawEvent;
#[allow(dead_code)]
struct EventBody;
#[allow(dead_code)]
struct DecodeError;
#[allow(dead_code)]
mod serde_json {}

mod payloads {
    use ::serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    pub struct Opened {
        pub holder: ::std::option::Option<::std::string::String>,
    }

    #[derive(Deserialize)]
    pub struct OpenedV1 {
        pub owner: ::std::option::Option<::std::string::String>,
    }

    #[derive(Deserialize)]
    pub struct OpenedV2 {
        pub name: ::std::option::Option<::std::string::String>,
    }

    impl ::std::convert::From<OpenedV1> for OpenedV2 {
        fn from(v1: OpenedV1) -> Self {
            Self { name: v1.owner }
        }
    }

    impl ::std::convert::From<OpenedV2> for Opened {
        fn from(v2: OpenedV2) -> Self {
            Self { holder: v2.name }
        }
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    pub struct Closed {}

    pub fn closed_v1(
        body: ::serde_json::Value,
    ) -> ::std::result::Result<::serde_json::Value, ::eventstore_core::schema::UpcastError> {
        ::std::result::Result::Ok(body)
    }

    pub fn gone(
        _: ::eventstore_core::schema::RawEvent,
    ) -> ::std::result::Result<
        ::std::vec::Vec<::eventstore_core::schema::RawEvent>,
        ::eventstore_core::schema::UpcastError,
    > {
        ::std::result::Result::Ok(::std::vec::Vec::new())
    }
}

use payloads::{Closed, Opened, OpenedV1, OpenedV2, closed_v1, gone};

#[derive(::eventstore_core::Event, Debug, PartialEq)]
#[event(retired(kind = "Gone", events = gone, personal(who)))]
pub enum Value {
    #[event(version = 3, personal(holder), aliases = ["Started"],
            upcast(from = 1, typed = OpenedV1, personal(owner)),
            upcast(from = 2, typed = OpenedV2, personal(name)))]
    Opened(Opened),
    #[event(version = 2, upcast(from = 1, raw = closed_v1))]
    Closed(Closed),
}

fn main() {
    use ::eventstore_core::Event;
    let v1: ::eventstore_core::EventBody = ::std::str::FromStr::from_str(r#"{"owner": "Ada"}"#).unwrap();
    let read = Value::from_stored("Started", 1, &v1).unwrap();
    let expected = Value::Opened(Opened { holder: ::std::option::Option::Some(::std::string::String::from("Ada")) });
    ::std::assert_eq!(read.single().unwrap(), expected);
    ::std::assert!(Value::from_stored("Gone", 1, &v1).unwrap().is_empty());
    ::std::assert_eq!(Value::stored_personal_fields("Opened"), ["holder", "owner", "name"]);
}
