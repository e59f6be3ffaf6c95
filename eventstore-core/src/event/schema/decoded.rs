//! [`Decoded`]: the events that one stored row reads as.

use std::vec;

/// The events one stored row reads as: one, unless an upcaster split it
/// into several or dropped it (none). Iterate it to get them in order.
///
/// ```
/// use eventstore_core::schema::Decoded;
/// let one = Decoded::One(7);
/// assert_eq!(one.len(), 1);
/// assert_eq!(Decoded::Several(vec![1, 2]).into_iter().collect::<Vec<_>>(), [1, 2]);
/// assert!(Decoded::<u8>::Several(vec![]).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<E> {
    /// The row is one event: every row of a current version, and most
    /// upcast ones.
    One(E),
    /// The row was split into these events (possibly none).
    Several(Vec<E>),
}

impl<E> Decoded<E> {
    /// How many events the row reads as.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Several(events) => events.len(),
        }
    }

    /// Whether the row reads as no event at all (an upcaster dropped it).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The one event, or the events back when there are not exactly one.
    ///
    /// # Errors
    /// The events, when there are none or several.
    pub fn single(self) -> Result<E, Vec<E>> {
        match self {
            Self::One(event) => Ok(event),
            Self::Several(mut events) if events.len() == 1 => Ok(events.remove(0)),
            Self::Several(events) => Err(events),
        }
    }
}

impl<E> IntoIterator for Decoded<E> {
    type Item = E;
    type IntoIter = DecodedIter<E>;
    fn into_iter(self) -> Self::IntoIter {
        match self {
            Self::One(event) => DecodedIter::One(Some(event)),
            Self::Several(events) => DecodedIter::Several(events.into_iter()),
        }
    }
}

/// The iterator over a [`Decoded`] row's events.
#[derive(Debug)]
pub enum DecodedIter<E> {
    /// Of a row that is one event.
    One(Option<E>),
    /// Of a split row.
    Several(vec::IntoIter<E>),
}

impl<E> Iterator for DecodedIter<E> {
    type Item = E;
    fn next(&mut self) -> Option<E> {
        match self {
            Self::One(event) => event.take(),
            Self::Several(events) => events.next(),
        }
    }
}
