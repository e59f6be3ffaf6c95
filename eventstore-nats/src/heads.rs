//! What this process knows of where streams are: facts "the message at
//! sequence `seq` of a stream leaves it at version `version`, after
//! `forgets` forgets", which stay
//! true forever (history is never rewritten). The latest one known of a
//! stream is a guess of its head, which an append checks by publishing
//! with it; any one at or below a version tells a load where to start.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// A message of a stream, and the version it leaves the stream at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Known {
    /// Its stream sequence (0: before the first message).
    pub(crate) seq: u64,
    /// The stream's version after it.
    pub(crate) version: u64,
    /// The aggregate's forget count that it says (`Es-Forgets`).
    pub(crate) forgets: u64,
}

/// What is known of one stream.
#[derive(Debug, Clone, Copy, Default)]
struct Stream {
    /// The latest message known, if it is still believed the last.
    head: Option<Known>,
    /// The last message a page of a load read.
    page: Option<Known>,
}

/// Streams this process knows of, by subject; emptied when it grows past
/// a bound, since every fact can be read again.
#[derive(Debug, Default)]
pub(crate) struct Heads {
    streams: Mutex<HashMap<String, Stream>>,
}

/// How many streams are remembered before the memory is emptied.
const MAX_STREAMS: usize = 100_000;

impl Heads {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Stream>) -> T) -> T {
        // a panic cannot leave a fact half-written: every change is one insert
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        if streams.len() > MAX_STREAMS {
            streams.clear();
        }
        f(&mut streams)
    }

    /// The latest message known of the stream at `subject`.
    pub(crate) fn head(&self, subject: &str) -> Option<Known> {
        self.with(|s| s.get(subject).and_then(|s| s.head))
    }

    /// Records that `known` is (or was) the stream's last message.
    pub(crate) fn advance(&self, subject: &str, known: Known) {
        self.with(|s| {
            let stream = s.entry(subject.to_owned()).or_default();
            if stream.head.is_none_or(|h| h.seq < known.seq) {
                stream.head = Some(known);
            }
        });
    }

    /// Forgets the guess of the stream's head: a publish found it stale.
    pub(crate) fn stale(&self, subject: &str) {
        self.with(|s| {
            if let Some(stream) = s.get_mut(subject) {
                stream.head = None;
            }
        });
    }

    /// Records the last message a page of a load read.
    pub(crate) fn page(&self, subject: &str, known: Known) {
        self.with(|s| s.entry(subject.to_owned()).or_default().page = Some(known));
    }

    /// The sequence where a read of the events after `version` may start:
    /// after the latest message known that leaves the stream at or below
    /// it (every later event is after that message), else 1.
    pub(crate) fn start_after(&self, subject: &str, version: u64) -> u64 {
        self.with(|s| {
            s.get(subject)
                .into_iter()
                .flat_map(|stream| [stream.head, stream.page])
                .flatten()
                .filter(|k| k.version <= version)
                .map(|k| k.seq + 1)
                .max()
                .unwrap_or(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(seq: u64, version: u64) -> Known {
        Known {
            seq,
            version,
            forgets: 0,
        }
    }

    #[test]
    fn a_read_starts_after_the_latest_message_at_or_below_its_version() {
        let heads = Heads::default();
        assert_eq!(heads.start_after("s", 0), 1);
        heads.page("s", known(4, 3));
        heads.advance("s", known(9, 7));
        heads.advance("s", known(6, 5));
        assert_eq!(heads.head("s"), Some(known(9, 7)), "never back");
        assert_eq!(heads.start_after("s", 2), 1);
        assert_eq!(heads.start_after("s", 3), 5);
        assert_eq!(heads.start_after("s", 6), 5);
        assert_eq!(heads.start_after("s", 7), 10);
        heads.stale("s");
        assert_eq!(heads.head("s"), None);
        assert_eq!(heads.start_after("s", 7), 5);
    }
}
