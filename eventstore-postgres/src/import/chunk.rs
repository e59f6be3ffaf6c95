//! Reading an import's input a chunk of lines at a time, so that memory
//! holds one chunk whatever the input's length.

use std::ops::Range;

use eventstore_core::{Error, ImportProblem, Result};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Lines per chunk, at most: small enough that the server inserts one
/// chunk while the next is read and checked.
const CHUNK_LINES: usize = 2_000;
/// Bytes per chunk, at most (a longer line makes a chunk of its own).
const CHUNK_BYTES: usize = 2 << 20;
/// The longest line read, its end included: PostgreSQL's `jsonb` holds
/// less.
const MAX_LINE_BYTES: u64 = 256 << 20;

/// Lines read from the input, with their numbers.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    text: Vec<u8>,
    lines: Vec<(u64, Range<usize>)>,
    /// The number of the last line read.
    last: u64,
}

impl Chunk {
    /// Replaces the chunk with the next lines of `input`, blank ones
    /// skipped; `false` when the input ended.
    ///
    /// # Errors
    /// [`Error::Import`] naming the line that could not be read
    /// ([`ImportProblem::Unreadable`]) or that is too long
    /// ([`ImportProblem::Malformed`]).
    pub(crate) async fn read<R>(&mut self, input: &mut R) -> Result<bool>
    where
        R: AsyncBufRead + Unpin,
    {
        self.text.clear();
        self.lines.clear();
        while self.lines.len() < CHUNK_LINES && self.text.len() < CHUNK_BYTES {
            let start = self.text.len();
            let number = self.last + 1;
            let unreadable = |error| Error::Import {
                line: number,
                problem: ImportProblem::Unreadable(error),
            };
            let read = (&mut *input)
                .take(MAX_LINE_BYTES + 1)
                .read_until(b'\n', &mut self.text)
                .await
                .map_err(unreadable)?;
            if read == 0 {
                return Ok(false);
            }
            self.last = number;
            if read as u64 > MAX_LINE_BYTES {
                return Err(Error::Import {
                    line: number,
                    problem: ImportProblem::Malformed {
                        reason: format!("the line is longer than {MAX_LINE_BYTES} bytes"),
                    },
                });
            }
            let mut end = self.text.len();
            while end > start && self.text[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            if self.text[start..end].iter().all(u8::is_ascii_whitespace) {
                self.text.truncate(start);
            } else {
                self.lines.push((number, start..end));
            }
        }
        Ok(true)
    }

    /// The chunk's lines, with their numbers.
    pub(crate) fn lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.lines
            .iter()
            .map(|(number, range)| (*number, &self.text[range.clone()]))
    }

    /// The number of the last line read (blank or not).
    pub(crate) fn last_line(&self) -> u64 {
        self.last
    }
}
