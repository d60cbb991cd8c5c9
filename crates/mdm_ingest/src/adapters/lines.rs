//! Lines of bounded length. A line longer than the cap (`ingest.max_line_bytes`) is not
//! read into memory: its first bytes are kept for the quarantine entry, the rest is skipped
//! in buffer-sized steps up to the next newline, and reading goes on there. So a 200 MB
//! single-line file costs the cap plus one buffer, not 200 MB.

use super::cap_raw;
use crate::row::{QuarantineReason, Rejection};
use std::io::{BufRead, ErrorKind, Read};
use std::sync::{Arc, Mutex};

/// The default of `ingest.max_line_bytes`: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Bytes of an overlong line kept for its quarantine entry.
const KEPT_PREFIX: usize = 1024;

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// The end of the input: nothing was read.
    Eof,
    /// A line (in the buffer, with its line end if it had one).
    Read,
    /// A line longer than the cap; the buffer holds its first bytes only.
    TooLong(Overlong),
}

/// A line longer than the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overlong {
    /// Its length without the line end.
    pub bytes: u64,
    /// Its line end as it was: `\n`, `\r\n`, or nothing at the end of the input.
    pub ending: &'static [u8],
}

impl Overlong {
    /// The quarantine entry: which line of which input, how long, and the cap.
    pub(crate) fn rejection(
        &self,
        what: &str,
        label: &str,
        max: usize,
        prefix: &[u8],
    ) -> Rejection {
        Rejection::new(
            QuarantineReason::MalformedRow,
            format!(
                "{what} of {label} is {} bytes long, more than ingest.max_line_bytes ({max}) \
                 allows; it was skipped unread and reading went on after it",
                self.bytes
            ),
        )
        .raw(cap_raw(format!(
            "{}…[truncated]",
            String::from_utf8_lossy(&prefix[..prefix.len().min(KEPT_PREFIX)])
        )))
    }
}

/// Reads one line into `buf` (cleared first), with its `\n`; a line longer than `max`
/// bytes (line end not counted) is skipped to its end and only its first bytes kept.
pub(crate) fn read_line<R: BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let (mut total, mut too_long, mut last) = (0u64, false, 0u8);
    let mut ended = false;
    while !ended {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let take = match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                ended = true;
                i + 1
            }
            None => available.len(),
        };
        total += take as u64;
        if !too_long {
            buf.extend_from_slice(&available[..take]);
            if content_len(buf) > max {
                too_long = true;
                buf.truncate(KEPT_PREFIX);
            }
        }
        // The byte before a `\n` tells a `\r\n` line end.
        if !ended {
            last = available[take - 1];
        } else if take >= 2 {
            last = available[take - 2];
        }
        input.consume(take);
    }
    if total == 0 {
        return Ok(Line::Eof);
    }
    if !too_long {
        return Ok(Line::Read);
    }
    let ending: &'static [u8] = match (ended, last) {
        (false, _) => b"",
        (true, b'\r') => b"\r\n",
        (true, _) => b"\n",
    };
    Ok(Line::TooLong(Overlong {
        bytes: total - ending.len() as u64,
        ending,
    }))
}

/// A line's length without its line end.
fn content_len(line: &[u8]) -> usize {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line).len()
}

/// An overlong line a [`LineCap`] left out: its number (the first line is 1), length and
/// first bytes.
pub(crate) type Skipped = (u64, Overlong, Vec<u8>);

/// The lines a [`LineCap`] left out, in order, shared with the adapter that reports them.
pub(crate) type SkippedLines = Arc<Mutex<Vec<Skipped>>>;

/// A reader that passes its input on line by line and leaves out every line longer than
/// the cap: the reader above sees only its line end (an empty line, which CSV skips), and
/// the line is noted in `skipped` for the adapter to quarantine.
pub(crate) struct LineCap<R> {
    input: R,
    max: usize,
    line: Vec<u8>,
    at: usize,
    number: u64,
    skipped: SkippedLines,
}

impl<R: BufRead> LineCap<R> {
    pub(crate) fn new(input: R, max: usize) -> (Self, SkippedLines) {
        let skipped = SkippedLines::default();
        let cap = Self {
            input,
            max,
            line: Vec::new(),
            at: 0,
            number: 0,
            skipped: skipped.clone(),
        };
        (cap, skipped)
    }
}

impl<R: BufRead> Read for LineCap<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.line.len() {
            self.at = 0;
            match read_line(&mut self.input, &mut self.line, self.max)? {
                Line::Eof => return Ok(0),
                Line::Read => self.number += 1,
                Line::TooLong(long) => {
                    self.number += 1;
                    let prefix = std::mem::take(&mut self.line);
                    self.line.extend_from_slice(long.ending);
                    let mut skipped = self.skipped.lock().unwrap_or_else(|e| e.into_inner());
                    skipped.push((self.number, long, prefix));
                }
            }
        }
        let n = out.len().min(self.line.len() - self.at);
        out[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// A line read, or an overlong line's length and line end.
    type Outcome = Result<Vec<u8>, (u64, &'static [u8])>;

    /// Each line's outcome when read with a tiny buffer, so lines span many refills.
    fn lines(text: &[u8], max: usize) -> Vec<Outcome> {
        let mut input = BufReader::with_capacity(3, text);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut input, &mut buf, max).unwrap() {
                Line::Eof => return out,
                Line::Read => out.push(Ok(buf.clone())),
                Line::TooLong(l) => out.push(Err((l.bytes, l.ending))),
            }
        }
    }

    #[test]
    fn long_lines_are_skipped_to_their_end() {
        let text = b"abc\nabcdefgh\r\nab\r\nabcdefghij\nxy\nabcdefg";
        assert_eq!(
            lines(text, 4),
            vec![
                Ok(b"abc\n".to_vec()),
                Err((8, &b"\r\n"[..])),
                Ok(b"ab\r\n".to_vec()),
                Err((10, &b"\n"[..])),
                Ok(b"xy\n".to_vec()),
                Err((7, &b""[..])),
            ]
        );
        // Exactly the cap fits, line end not counted.
        assert_eq!(
            lines(b"abcd\r\nabcd", 4),
            vec![Ok(b"abcd\r\n".to_vec()), Ok(b"abcd".to_vec())]
        );
    }

    #[test]
    fn memory_stays_bounded_on_a_huge_line() {
        // 50 MB without a newline, read through a reader that never holds it.
        let huge = std::io::repeat(b'x').take(50 << 20).chain(&b"\nok\n"[..]);
        let mut input = BufReader::with_capacity(64 * 1024, huge);
        let mut buf = Vec::new();
        let got = read_line(&mut input, &mut buf, 1000).unwrap();
        assert_eq!(
            got,
            Line::TooLong(Overlong {
                bytes: 50 << 20,
                ending: b"\n"
            })
        );
        assert!(buf.capacity() < 200 * 1024, "{}", buf.capacity());
        assert_eq!(read_line(&mut input, &mut buf, 1000).unwrap(), Line::Read);
        assert_eq!(buf, b"ok\n");
    }

    #[test]
    fn line_cap_leaves_out_long_lines_and_notes_them() {
        let (mut cap, skipped) =
            LineCap::new(BufReader::with_capacity(4, &b"h\nabcdefgh\r\nok\n"[..]), 4);
        let mut out = Vec::new();
        cap.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"h\n\r\nok\n");
        let skipped = skipped.lock().unwrap();
        assert_eq!(skipped.len(), 1);
        assert_eq!((skipped[0].0, skipped[0].1.bytes), (2, 8));
        assert!(!skipped[0].2.is_empty() && b"abcdefgh".starts_with(&skipped[0].2));
    }
}
