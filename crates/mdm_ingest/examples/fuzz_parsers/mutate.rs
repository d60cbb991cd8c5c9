//! Structure-aware mutation: inputs start from valid seeds and are changed the way broken
//! extracts and hostile clients change them (a stray quote, a line break, a NUL, invalid
//! UTF-8, a huge number, deep nesting, a duplicated or spliced line), several changes
//! stacked per input.

/// splitmix64: small, fast, and the same sequence for the same `--seed` everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// True once in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Single bytes that matter to one of the parsers.
const BYTES: &[u8] = b"\",;\t|\n\r\0{}[]:=#'\\ -.0+@/\x7f\xff\xc3\xef\x80";

/// Byte strings that matter: quoting, line ends, a BOM, numbers no type holds, escapes of
/// characters PostgreSQL cannot store, case folds that change length, TOML syntax.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b"\",\"",
    b"\r\n",
    b"\n\n",
    b"\r",
    b"\xEF\xBB\xBF",
    b"99999999999999999999999999999999999999",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"1e999",
    b"-1e-999",
    b"0.000000000000000000000000000001",
    b"-0",
    b"NaN",
    b"inf",
    b"nan",
    b"null",
    b"true",
    b"{}",
    b"[]",
    b"\\u0000",
    b"\\ud800",
    b"\\udfff\\ud800",
    b"\\\"",
    b"\\",
    "ß".as_bytes(),
    "İ".as_bytes(),
    "ﬃ".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{0301}".as_bytes(),
    "\u{feff}".as_bytes(),
    "\u{2028}".as_bytes(),
    "Ⅻ".as_bytes(),
    "٣".as_bytes(),
    "𝟘".as_bytes(),
    "ǅ".as_bytes(),
    "ẞ".as_bytes(),
    "Ω".as_bytes(),
    "\u{1F600}".as_bytes(),
    b"\xf0\x9f",
    b"\xed\xa0\x80",
    b"\xc0\x80",
    b"'''",
    b"\"\"\"",
    b"[[",
    b"]]",
    b" = ",
    b"# ",
    b"@",
    b"@@",
    b"https://",
    b"www.",
    b"GmbH",
    b" & ",
    b"+49",
    b"+",
    b"00",
    b"1.234,56",
    b"31/12/1999",
    b"29.02.2001",
    b"0000-00-00",
    b"1 1/2",
    b"kg",
    b"x 12",
    b"Mr. ",
    b" Jr.",
    b"c/o ",
    b"NULL",
    b"n/a",
];

/// How many times a nesting token is repeated: past serde_json's recursion limit (128).
const DEEP: usize = 300;

/// Applies 1 to 8 mutations to `input`; `other` is a second input to splice from.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8], max_len: usize) {
    let most = if rng.one_in(4) { 8 } else { 3 };
    let n = 1 + rng.below(most);
    for _ in 0..n {
        mutate_once(rng, input, other);
    }
    if input.len() > max_len {
        input.truncate(max_len);
    }
}

fn mutate_once(rng: &mut Rng, v: &mut Vec<u8>, other: &[u8]) {
    let at = rng.below(v.len() + 1);
    match rng.below(16) {
        0 if !v.is_empty() => {
            let i = rng.below(v.len());
            v[i] ^= 1 << rng.below(8);
        }
        1 if !v.is_empty() => {
            let i = rng.below(v.len());
            v[i] = *rng.pick(BYTES);
        }
        2 => v.insert(at, *rng.pick(BYTES)),
        3 | 4 => insert(v, at, rng.pick::<&[u8]>(TOKENS)),
        5 if !v.is_empty() => {
            let from = rng.below(v.len());
            let len = 1 + rng.below(16);
            v.drain(from..(from + len).min(v.len()));
        }
        6 if !v.is_empty() => {
            let from = rng.below(v.len());
            let len = 1 + rng.below(64.min(v.len() - from));
            let chunk = v[from..from + len].to_vec();
            insert(v, at, &chunk);
        }
        7 if !other.is_empty() => {
            // Splice: this input's head, the other's tail.
            let cut = rng.below(other.len());
            v.truncate(at);
            v.extend_from_slice(&other[cut..]);
        }
        8 if !other.is_empty() => {
            let from = rng.below(other.len());
            let len = 1 + rng.below(128.min(other.len() - from));
            insert(v, at, &other[from..from + len]);
        }
        9 | 10 => line_op(rng, v),
        11 => {
            const NESTS: [(&[u8], &[u8]); 5] = [
                (b"[", b"]"),
                (b"{\"a\":", b"}"),
                (b"\"", b"\""),
                (b"a = [", b"]"),
                (b"x = {y=", b"}"),
            ];
            let (open, close) = *rng.pick(&NESTS);
            let depth = 1 + rng.below(DEEP);
            let mut chunk = open.repeat(depth);
            chunk.extend(close.repeat(if rng.one_in(3) { depth - 1 } else { depth }));
            insert(v, at, &chunk);
        }
        12 => {
            let tok = *rng.pick(TOKENS);
            let chunk = tok.repeat(1 + rng.below(200));
            insert(v, at, &chunk);
        }
        13 => v.truncate(at),
        14 => replace_number(rng, v),
        _ => {
            let c = *rng.pick(&[b'"', b',', b'\n', b'\r', 0u8, b';', b'\t']);
            v.insert(at, c);
        }
    }
}

fn insert(v: &mut Vec<u8>, at: usize, chunk: &[u8]) {
    let at = at.min(v.len());
    v.splice(at..at, chunk.iter().copied());
}

/// Duplicates, deletes, swaps or repeats whole lines: keeps rows and TOML keys whole.
fn line_op(rng: &mut Rng, v: &mut Vec<u8>) {
    let mut lines: Vec<Vec<u8>> = v.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.is_empty() {
        return;
    }
    let i = rng.below(lines.len());
    let j = rng.below(lines.len());
    match rng.below(5) {
        0 => {
            let l = lines[i].clone();
            lines.insert(j, l);
        }
        1 => {
            lines.remove(i);
        }
        2 => lines.swap(i, j),
        3 => {
            let l = lines[i].clone();
            for _ in 0..rng.below(100) {
                lines.insert(i, l.clone());
            }
        }
        _ => {
            // Join two lines: the line break a stray quote swallows.
            if i + 1 < lines.len() {
                let next = lines.remove(i + 1);
                lines[i].extend(next);
            }
        }
    }
    *v = lines.join(&b'\n');
}

/// Replaces a run of digits with a number no integer or float type holds, or a tiny one.
fn replace_number(rng: &mut Rng, v: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..v.len())
        .filter(|&i| v[i].is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
        .collect();
    if starts.is_empty() {
        return;
    }
    let s = *rng.pick(&starts);
    let e = s + v[s..].iter().take_while(|b| b.is_ascii_digit()).count();
    const HUGE: [&[u8]; 9] = [
        b"340282366920938463463374607431768211457",
        b"1e308",
        b"1e309",
        b"4294967296",
        b"-1",
        b"0",
        b"65536",
        b"2147483648",
        b"0.0000001",
    ];
    let huge = *rng.pick(&HUGE);
    v.splice(s..e, huge.iter().copied());
}
