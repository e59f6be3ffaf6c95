//! The streams an import writes to: the version each was at in the store
//! and the last one imported, the only state an import keeps while it
//! reads its input.

use std::collections::HashMap;

use eventstore_core::{Error, ImportProblem, Result};

use super::line::Line;

/// Where one stream stands.
#[derive(Debug, Clone, Copy)]
struct Stream {
    /// Its version in the store when the import first met it.
    stored: u64,
    /// The last version the import gives it.
    last: u64,
}

/// Every stream met so far, keyed by kind and id joined with a NUL (which
/// neither may hold).
#[derive(Debug, Default)]
pub(crate) struct Streams {
    streams: HashMap<String, Stream>,
    /// Reused to build keys, so that a known stream costs no allocation.
    key: String,
}

/// `kind` and `id` joined in `buffer`.
fn join<'k>(buffer: &'k mut String, kind: &str, id: &str) -> &'k str {
    buffer.clear();
    buffer.push_str(kind);
    buffer.push('\0');
    buffer.push_str(id);
    buffer
}

impl Streams {
    /// Notes `line`'s stream; `true` when it is new, and so its stored
    /// version must be [set](Self::set_stored) before [`advance`](Self::advance).
    pub(crate) fn meet(&mut self, line: &Line<'_>) -> bool {
        let key = join(&mut self.key, &line.aggregate_kind, &line.aggregate_id);
        if self.streams.contains_key(key) {
            return false;
        }
        let key = key.to_owned();
        self.streams.insert(key, Stream { stored: 0, last: 0 });
        true
    }

    /// Sets the version that `line`'s stream is at in the store.
    pub(crate) fn set_stored(&mut self, line: &Line<'_>, version: u64) {
        let key = join(&mut self.key, &line.aggregate_kind, &line.aggregate_id).to_owned();
        self.streams.insert(
            key,
            Stream {
                stored: version,
                last: version,
            },
        );
    }

    /// Takes `line`'s version as its stream's next.
    ///
    /// # Errors
    /// [`Error::Import`] naming the line: [`ImportProblem::VersionExists`],
    /// [`ImportProblem::DuplicateVersion`] or [`ImportProblem::Gap`].
    pub(crate) fn advance(&mut self, line: &Line<'_>) -> Result<()> {
        let key = join(&mut self.key, &line.aggregate_kind, &line.aggregate_id);
        let stream = self
            .streams
            .get_mut(key)
            .expect("every line's stream was met first");
        let (version, stream_at) = (line.version, *stream);
        if version == stream_at.last + 1 {
            stream.last = version;
            return Ok(());
        }
        let aggregate_kind = line.aggregate_kind.to_string();
        let aggregate_id = line.aggregate_id.to_string();
        let problem = if version <= stream_at.stored {
            ImportProblem::VersionExists {
                aggregate_kind,
                aggregate_id,
                version,
                stored: stream_at.stored,
            }
        } else if version <= stream_at.last {
            ImportProblem::DuplicateVersion {
                aggregate_kind,
                aggregate_id,
                version,
            }
        } else {
            ImportProblem::Gap {
                aggregate_kind,
                aggregate_id,
                expected: stream_at.last + 1,
                found: version,
            }
        };
        Err(Error::Import {
            line: line.number,
            problem,
        })
    }

    /// How many streams it holds.
    pub(crate) fn len(&self) -> usize {
        self.streams.len()
    }

    /// Each stream's kind, id and the version it was at in the store.
    pub(crate) fn stored(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        self.streams.iter().map(|(key, stream)| {
            let (kind, id) = key.split_once('\0').expect("a key joins kind and id");
            (kind, id, stream.stored)
        })
    }
}
