use eventstore_core::{Event, __private::Dispatch};
use serde::{Deserialize, Serialize};

mod payloads {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    pub struct Opened {
        pub owner: Option<String>,
        pub email: Option<String>,
        pub balance: u64,
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Closed {}

#[derive(Event, Debug, PartialEq)]
pub(crate) enum AccountEvent {
    #[event(kind = "account.opened", personal(owner, email))]
    Opened(payloads::Opened),
    #[event(kind = "account.closed")]
    #[allow(dead_code)]
    AccountClosed(Closed),
}

#[derive(Default)]
struct Log(Vec<&'static str>);

impl AccountEventHandler for Log {
    fn on_opened(&mut self, _: &payloads::Opened) {
        self.0.push("opened");
    }
    fn on_account_closed(&mut self, _: &Closed) {
        self.0.push("closed");
    }
}

fn main() {
    assert_eq!(AccountEvent::KINDS, ["account.opened", "account.closed"]);
    assert_eq!(AccountEvent::personal_fields("account.opened"), ["owner", "email"]);
    assert!(AccountEvent::personal_fields("account.closed").is_empty());
    let event: AccountEvent = payloads::Opened { owner: Some("Ada".into()), email: Some("a@b".into()), balance: 1 }.into();
    let body = event.to_body().unwrap();
    assert_eq!(AccountEvent::from_body("account.opened", &body).unwrap(), event);
    assert!(AccountEvent::from_body("Opened", &body).is_err());
    let mut log = Log::default();
    event.dispatch(&mut log);
    AccountEvent::from(Closed {}).dispatch(&mut log);
    assert_eq!(log.0, ["opened", "closed"]);
}
