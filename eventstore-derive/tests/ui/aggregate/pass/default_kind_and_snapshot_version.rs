use eventstore_core::{Aggregate, Event};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Ticked {
    pub by: u32,
}

#[derive(Event, Debug, PartialEq)]
pub enum CounterEvent {
    Ticked(Ticked),
}

#[derive(Aggregate, Default, Serialize, Deserialize)]
#[aggregate(event = CounterEvent, snapshot_version = 3)]
pub struct Counter {
    total: u32,
}

impl CounterEventHandler for Counter {
    fn on_ticked(&mut self, e: &Ticked) {
        self.total += e.by;
    }
}

#[derive(Aggregate, Default, Serialize, Deserialize)]
#[aggregate(kind = "tally", event = CounterEvent)]
#[serde(bound = "")]
pub struct Tally<T: Default + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static> {
    ticks: Vec<T>,
}

impl<T> CounterEventHandler for Tally<T>
where
    T: Default + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    fn on_ticked(&mut self, _: &Ticked) {
        self.ticks.push(T::default());
    }
}

fn main() {
    assert_eq!(Counter::KIND, "Counter");
    assert_eq!(Counter::SNAPSHOT_VERSION, 3);
    assert_eq!(Tally::<u8>::KIND, "tally");
    assert_eq!(Tally::<u8>::SNAPSHOT_VERSION, 1);
    let mut counter = Counter::default();
    counter.apply(&Ticked { by: 2 }.into());
    counter.apply(&Ticked { by: 3 }.into());
    assert_eq!(counter.total, 5);
    let mut tally = Tally::<u8>::default();
    tally.apply(&Ticked { by: 1 }.into());
    assert_eq!(tally.ticks, [0]);
}
