//! A reader that keeps a copy of the bytes the CSV parser has taken but the adapter has not
//! finished with, so a broken record's physical lines can be read again as they were in
//! the file (the parsed fields are no longer the file's text: quotes are gone, and a stray
//! quote pairs with a later one).

use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

/// Retained bytes start to be dropped once this many precede the oldest byte still needed,
/// so the copy costs one memmove per this many bytes rather than one per record.
const DISCARD_AT: usize = 64 * 1024;

#[derive(Default)]
struct Kept {
    /// Offset in the input of `bytes[0]`.
    start: u64,
    bytes: Vec<u8>,
}

/// The shared handle the adapter keeps; the parser reads through [`TapReader`].
#[derive(Clone, Default)]
pub(super) struct Tap(Arc<Mutex<Kept>>);

pub(super) struct TapReader<R> {
    inner: R,
    tap: Tap,
}

impl Tap {
    pub(super) fn reader<R: Read>(&self, inner: R) -> TapReader<R> {
        TapReader {
            inner,
            tap: self.clone(),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        // Only this adapter's thread touches it; a poisoned lock still holds valid bytes.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The input's bytes `from..to` (offsets in the input), as far as they are kept.
    pub(super) fn slice(&self, from: u64, to: u64) -> Vec<u8> {
        let kept = self.kept();
        let at = |o: u64| usize::try_from(o.saturating_sub(kept.start)).unwrap_or(usize::MAX);
        let (a, b) = (at(from).min(kept.bytes.len()), at(to).min(kept.bytes.len()));
        kept.bytes[a..b.max(a)].to_vec()
    }

    /// How many `\n` the kept bytes `from..to` hold, and the offset of the first byte at
    /// or after `skip_from` that ends no line (a record's first byte: csv may report a
    /// record as starting at the `\n` of the `\r\n` before it).
    pub(super) fn newlines_to_content(&self, from: u64, skip_from: u64, to: u64) -> (u64, u64) {
        let kept = self.kept();
        let at = |o: u64| {
            usize::try_from(o.saturating_sub(kept.start))
                .unwrap_or(usize::MAX)
                .min(kept.bytes.len())
        };
        let (a, s, b) = (at(from), at(skip_from), at(to));
        let s = s.max(a);
        let content = s + kept.bytes[s..b.max(s)]
            .iter()
            .take_while(|&&c| c == b'\r' || c == b'\n')
            .count();
        let newlines = kept.bytes[a..content]
            .iter()
            .filter(|&&c| c == b'\n')
            .count();
        (newlines as u64, kept.start + content as u64)
    }

    /// The adapter no longer needs the bytes before `offset`.
    pub(super) fn release(&self, offset: u64) {
        let mut kept = self.kept();
        let n = usize::try_from(offset.saturating_sub(kept.start)).unwrap_or(usize::MAX);
        if n >= DISCARD_AT {
            let n = n.min(kept.bytes.len());
            kept.bytes.drain(..n);
            kept.start += n as u64;
        }
    }
}

impl<R: Read> Read for TapReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tap.kept().bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_is_not_released() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let tap = Tap::default();
        let mut r = tap.reader(&data[..]);
        let mut buf = [0u8; 10_000];
        let mut read = 0u64;
        while let Ok(n @ 1..) = r.read(&mut buf) {
            read += n as u64;
            tap.release(read - 100);
            assert_eq!(
                tap.slice(read - 100, read),
                &data[read as usize - 100..read as usize]
            );
        }
        assert_eq!(read, 200_000);
        assert!(tap.kept().bytes.len() < 2 * DISCARD_AT);
    }
}
