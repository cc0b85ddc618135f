//! A cursor over JSON text for decoders written for one record shape (the
//! transform's tweet objects, the lake's enriched lines). Each reads straight
//! into its struct, strings borrowed unless escaped, and gives up (`None`) on
//! anything it does not expect, so that its caller hands the text to
//! serde_json, which reads it or says why not: the fast path accepts a subset
//! of what serde accepts, with the same values (each decoder has a test).

use std::borrow::Cow;

/// The high bit of each byte of `w` that is a control character, `"` or `\\`.
/// Exact for the lowest such byte (a borrow only spills into higher bytes);
/// bytes of 0x80 and above (UTF-8 beyond ASCII) are never flagged.
#[inline(always)]
fn escape_mask(w: u64) -> u64 {
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    control | bytes_equal_to(w, b'"') | bytes_equal_to(w, b'\\')
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` equal to `x`: exact for the lowest such
/// byte (a borrow only spills into higher bytes).
#[inline(always)]
fn bytes_equal_to(w: u64, x: u8) -> u64 {
    let d = w ^ (ONES * u64::from(x));
    d.wrapping_sub(ONES) & !d & HIGHS
}

/// The index of the first byte at or after `i` that is `x` or `y`: eight
/// bytes at a time (the word test [`first_escape`] uses), the last few byte
/// by byte. For text scans that jump between two kinds of sign.
pub fn find_either(b: &[u8], mut i: usize, x: u8, y: u8) -> Option<usize> {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let mask = bytes_equal_to(w, x) | bytes_equal_to(w, y);
        if mask != 0 {
            return Some(i + (mask.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|&c| c == x || c == y)
        .map(|offset| i + offset)
}

/// The index of the first byte at or after `i` that is `"`, `\\` or a control
/// character, or `b.len()` if there is none: eight bytes at a time, the last
/// few read padded with spaces (which never match). The JSON writer
/// (`tweet::push_str`) and the cursor's strings share it.
#[inline]
pub fn first_escape(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mask = escape_mask(u64::from_le_bytes(word));
        if mask != 0 {
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let Some(rest) = b.get(i..).filter(|rest| !rest.is_empty()) else {
        return b.len();
    };
    let mut word = [b' '; 8];
    word[..rest.len()].copy_from_slice(rest);
    let mask = escape_mask(u64::from_le_bytes(word));
    if mask != 0 {
        i + (mask.trailing_zeros() / 8) as usize
    } else {
        b.len()
    }
}

/// A position in a JSON text.
pub struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub fn new(s: &'a str) -> Self {
        Self {
            s,
            b: s.as_bytes(),
            i: 0,
        }
    }

    /// True when only whitespace is left.
    #[inline]
    pub fn at_end(&mut self) -> bool {
        self.ws();
        self.i == self.b.len()
    }

    #[inline]
    pub fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    pub fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    #[inline]
    pub fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        if has_prefix(&self.b[self.i..], word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// True (and consumed) when the next value is `null`.
    #[inline]
    pub fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            Some(true)
        } else {
            Some(false)
        }
    }

    #[inline]
    pub fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        // Plain run: no quote, backslash or control character.
        self.i = first_escape(self.b, self.i);
        loop {
            let c = *self.b.get(self.i)?;
            if c == b'"' {
                let s = &self.s[start..self.i];
                self.i += 1;
                return Some(Cow::Borrowed(s));
            }
            if c == b'\\' || c < 0x20 {
                break;
            }
            self.i += 1;
        }
        let mut out = String::with_capacity(self.i - start + 16);
        out.push_str(&self.s[start..self.i]);
        loop {
            let c = *self.b.get(self.i)?;
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let e = *self.b.get(self.i + 1)?;
                    self.i += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2)? != b"\\u" {
                                    return None;
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code)?);
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                _ => {
                    let run = self.i;
                    self.i = first_escape(self.b, self.i + 1);
                    out.push_str(self.s.get(run..self.i)?);
                }
            }
        }
    }

    #[inline]
    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        self.i += 4;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    }

    #[inline]
    pub fn opt_string(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.null()? {
            return Some(None);
        }
        self.string().map(Some)
    }

    /// The text of a JSON number (validated by the parse that follows).
    #[inline]
    pub fn number_text(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.i += 1;
            } else {
                break;
            }
        }
        let t = &self.s[start..self.i];
        // JSON forbids what Rust's parsers allow: leading '+', leading zeros, bare '.'.
        let digits = t.strip_prefix('-').unwrap_or(t);
        let first = digits.as_bytes().first()?;
        if !first.is_ascii_digit()
            || (digits.len() > 1 && *first == b'0' && digits.as_bytes()[1].is_ascii_digit())
            || digits
                .as_bytes()
                .windows(2)
                .any(|w| w[0] == b'.' && !w[1].is_ascii_digit())
            || digits.ends_with('.')
        {
            return None;
        }
        Some(t)
    }

    /// The digits of a number's integer part from `self.i`, accumulated
    /// (wrapping: callers bound the count), and where they end.
    #[inline]
    fn digits(&self, mut i: usize) -> (u64, usize) {
        let mut value = 0u64;
        while let Some(&c) = self.b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            value = value.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            i += 1;
        }
        (value, i)
    }

    /// A count: plain digits in one pass; anything else (a sign, a fraction,
    /// an exponent, 20 digits or more) goes through the text parse.
    #[inline]
    pub fn u64(&mut self) -> Option<u64> {
        self.ws();
        let (value, end) = self.digits(self.i);
        let n = end - self.i;
        let plain = (1..20).contains(&n)
            && !(n > 1 && self.b[self.i] == b'0')
            && !matches!(self.b.get(end), Some(b'.' | b'e' | b'E' | b'+' | b'-'));
        if plain {
            self.i = end;
            return Some(value);
        }
        let t = self.number_text()?;
        t.parse().ok()
    }

    #[inline]
    pub fn opt_u64(&mut self) -> Option<Option<u64>> {
        if self.null()? {
            return Some(None);
        }
        self.u64().map(Some)
    }

    /// A number as f64. Decimals of at most 15 digits without exponent (the
    /// transform's scores, `-0.5267`) are read in one pass: the digits as an
    /// integer below 2^53 divided by a power of ten, both exact, so the one
    /// rounding of the division gives the correctly rounded value, as Rust's
    /// parser does (Clinger's fast path). Anything else goes through the text parse.
    #[inline]
    pub fn f64(&mut self) -> Option<f64> {
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        self.ws();
        let negative = self.b.get(self.i) == Some(&b'-');
        let int_start = self.i + usize::from(negative);
        let (int, int_end) = self.digits(int_start);
        let int_digits = int_end - int_start;
        let (mut mantissa, mut end, mut frac_digits) = (int, int_end, 0);
        if self.b.get(int_end) == Some(&b'.') {
            let (frac, frac_end) = self.digits(int_end + 1);
            frac_digits = frac_end - int_end - 1;
            if frac_digits > 0 && int_digits + frac_digits <= 15 {
                mantissa = int * 10u64.pow(frac_digits as u32) + frac;
            }
            end = frac_end;
        }
        let fast = int_digits >= 1
            && int_digits + frac_digits <= 15
            && !(self.b.get(int_end) == Some(&b'.') && frac_digits == 0)
            && !(int_digits > 1 && self.b[int_start] == b'0')
            && !matches!(self.b.get(end), Some(b'.' | b'e' | b'E' | b'+' | b'-'));
        if fast {
            self.i = end;
            let v = mantissa as f64 / POW10[frac_digits];
            return Some(if negative { -v } else { v });
        }
        let t = self.number_text()?;
        let v: f64 = t.parse().ok()?;
        v.is_finite().then_some(v)
    }

    #[inline]
    pub fn bool(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|_| true),
            b'f' => self.literal(b"false").map(|_| false),
            _ => None,
        }
    }

    #[inline]
    pub fn opt_bool(&mut self) -> Option<Option<bool>> {
        if self.null()? {
            return Some(None);
        }
        self.bool().map(Some)
    }

    #[inline]
    pub fn strings(&mut self) -> Option<Vec<Cow<'a, str>>> {
        let mut v = Vec::new();
        self.array(|c| {
            v.push(c.string()?);
            Some(())
        })?;
        Some(v)
    }

    /// `open`, items separated by commas, `close`; each item read by `item`.
    #[inline]
    fn list(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array's items, each read by `item`.
    #[inline]
    pub fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.list(b'[', b']', item)
    }

    /// Skips any value (unknown fields are ignored, as serde does).
    pub fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > 64 {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.list(b'{', b'}', |c| {
                c.string()?;
                c.eat(b':')?;
                c.skip(depth + 1)
            }),
            b'[' => self.array(|c| c.skip(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.f64().map(|_| ()),
        }
    }

    /// An object's fields, each handed to `field` as its `K`; keys not in
    /// `K::ORDER` are skipped, as serde ignores unknown fields. A key met
    /// where its writer puts it is taken with one comparison; any other is
    /// read as a string and looked up. A key given twice fails, as in serde.
    pub fn object<K: Key>(
        &mut self,
        mut field: impl FnMut(&mut Self, K) -> Option<()>,
    ) -> Option<()> {
        let mut seen = 0u64;
        let mut next = 0;
        self.list(b'{', b'}', |c| {
            let key = match K::ORDER.get(next) {
                Some(&(quoted, _, key)) if has_prefix(&c.b[c.i..], quoted) => {
                    c.i += quoted.len();
                    Some(key)
                }
                _ => {
                    let name = c.string()?;
                    c.eat(b':')?;
                    K::ORDER
                        .iter()
                        .find(|(_, known, _)| *known == name)
                        .map(|&(_, _, key)| key)
                }
            };
            match key {
                Some(key) => {
                    // The key after this one is expected next: a missing
                    // optional key or an unknown one in between costs one
                    // string read, not the rest of the predictions.
                    next = key.index() as usize + 1;
                    let bit = 1u64 << key.index();
                    if seen & bit != 0 {
                        return None;
                    }
                    seen |= bit;
                    field(c, key)
                }
                None => c.skip(0),
            }
        })
    }
}

/// Whether `hay` starts with `needle`, in word-sized comparisons (keys are 6
/// to 20 bytes: a call to `memcmp` for each cost more than the comparison).
#[inline(always)]
fn has_prefix(hay: &[u8], needle: &[u8]) -> bool {
    let n = needle.len();
    let (Some(hay), true) = (hay.get(..n), n >= 4) else {
        return hay.starts_with(needle);
    };
    if n < 8 {
        let word = |s: &[u8], i: usize| {
            s.get(i..i + 4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        };
        return word(hay, 0) == word(needle, 0) && word(hay, n - 4) == word(needle, n - 4);
    }
    let word = |s: &[u8], i: usize| {
        s.get(i..i + 8).map(|w| {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            u64::from_le_bytes(a)
        })
    };
    // Whole words, then the last eight bytes (overlapping the previous word).
    let mut i = 0;
    while i + 8 < n {
        if word(hay, i) != word(needle, i) {
            return false;
        }
        i += 8;
    }
    word(hay, n - 8) == word(needle, n - 8)
}

/// The keys of one kind of object, in the order its writer puts them.
pub trait Key: Copy + 'static {
    /// `"key":` as written, the key, and its `Self`.
    const ORDER: &'static [(&'static [u8], &'static str, Self)];
    /// Its place in `ORDER` (at most 63).
    fn index(self) -> u32;
}

/// An enum of an object's keys and its [`Key`] order, from `"key" => Variant` pairs.
#[macro_export]
macro_rules! json_keys {
    ($name:ident { $($k:literal => $v:ident),* $(,)? }) => {
        // Variants are named after the keys, which often share a suffix (`_count`).
        #[allow(clippy::enum_variant_names)]
        #[derive(Clone, Copy)]
        enum $name {
            $($v),*
        }
        impl $crate::Key for $name {
            const ORDER: &'static [(&'static [u8], &'static str, Self)] =
                &[$((concat!("\"", $k, "\":").as_bytes(), $k, $name::$v)),*];
            fn index(self) -> u32 {
                self as u32
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time search finds what a byte-by-byte one finds, from
    /// every start, in strings of every length up to 40 over bytes next to
    /// the ones looked for (borrows in the zero test hit such bytes).
    #[test]
    fn find_either_is_a_byte_search() {
        let alphabet = [
            b'#', 0xEF, 0x00, 0x01, b'"', b'$', 0x22, 0x24, 0xEE, 0xF0, 0x80, 0xFF,
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..=40 {
            for _ in 0..200 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state % alphabet.len() as u64) as usize]
                    })
                    .collect();
                for i in 0..=len + 1 {
                    let expected = b
                        .get(i..)
                        .and_then(|rest| rest.iter().position(|&c| c == b'#' || c == 0xEF))
                        .map(|o| i + o);
                    assert_eq!(find_either(&b, i, b'#', 0xEF), expected, "{b:?} from {i}");
                }
            }
        }
    }

    /// `first_escape` agrees with a byte-by-byte search from every start, on
    /// every string of up to 5 plain, escaped and multi-byte characters
    /// behind 0 to 9 plain bytes (so across and at the end of 8-byte words).
    #[test]
    fn first_escape_finds_the_first_byte_that_needs_escaping() {
        let alphabet: [&[u8]; 6] = [b"a", b"\"", b"\\", b"\n", b"\x1f", "\u{e9}".as_bytes()];
        let mut frontier: Vec<Vec<u8>> = vec![Vec::new()];
        let mut strings = frontier.clone();
        for _ in 0..5 {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| [s.as_slice(), c].concat()))
                .collect();
            strings.extend(frontier.iter().cloned());
        }
        for s in &strings {
            for pad in 0..10 {
                let b = [vec![b'x'; pad], s.clone()].concat();
                for start in 0..=b.len() {
                    let naive = b[start..]
                        .iter()
                        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                        .map_or(b.len(), |p| start + p);
                    assert_eq!(first_escape(&b, start), naive, "{b:?} from {start}");
                }
            }
        }
    }

    /// Strings with escapes and multi-byte characters at every distance from
    /// either end read as serde reads them, borrowed when they have no escape.
    #[test]
    fn strings_read_as_serde_reads_them() {
        let pieces = [
            "a",
            "£",
            "…",
            "🚀",
            "\\n",
            "\\\"",
            "\\u00e9",
            "\\ud83d\\ude80",
            "\\/",
        ];
        let mut texts = Vec::new();
        for len in 0..12 {
            for first in 0..pieces.len() {
                for second in 0..pieces.len() {
                    let mut body = String::new();
                    for k in 0..len {
                        body.push_str(pieces[(first + k * second) % pieces.len()]);
                    }
                    texts.push(format!("\"{body}\""));
                }
            }
        }
        texts.extend(["\"\\ud83d\"", "\"a\\x\"", "\"tab\there\"", "\"open"].map(String::from));
        for text in &texts {
            let ours = Cursor::new(text).string();
            let theirs = serde_json::from_str::<String>(text).ok();
            assert_eq!(ours.as_deref(), theirs.as_deref(), "{text}");
            if let Some(ours) = ours {
                assert_eq!(
                    matches!(ours, Cow::Borrowed(_)),
                    !text.contains('\\'),
                    "{text}"
                );
            }
        }
    }

    /// The one-pass number reads give what the text parse gives, on the
    /// numbers they take and on the ones they hand over.
    #[test]
    fn numbers_read_as_the_text_parse_reads_them() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut texts = vec![
            "0",
            "-0",
            "-0.0",
            "0.0",
            "1",
            "10",
            "01",
            "1.",
            ".5",
            "-",
            "1e3",
            "1.5e-3",
            "123456789012345",
            "1234567890123456",
            "0.123456789012345",
            "0.1234567890123456",
            "99999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "1.0E2",
            "-12.5",
            "3-",
            "4.2.1",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 17) as usize + 1;
            let m = x >> 8;
            let body = format!("{m}");
            let body = &body[..digits.min(body.len())];
            let point = (x >> 3) as usize % (body.len() + 1);
            let sign = if x & 1 == 1 { "-" } else { "" };
            texts.push(format!("{sign}{body}"));
            if point > 0 && point < body.len() {
                texts.push(format!("{sign}{}.{}", &body[..point], &body[point..]));
            }
            texts.push(format!("{}", f64::from_bits(x) % 1.0));
        }
        for text in &texts {
            let line = format!("{text},");
            let cursor = || Cursor {
                s: &line,
                b: line.as_bytes(),
                i: 0,
            };
            let fast = cursor().f64();
            // Which texts are numbers: serde's rule; their value: Rust's
            // correctly rounded parse, which the decoder used before.
            let slow = serde_json::from_str::<f64>(text)
                .ok()
                .and_then(|_| text.parse::<f64>().ok())
                .filter(|v| v.is_finite());
            assert_eq!(fast.map(f64::to_bits), slow.map(f64::to_bits), "f64 {text}");
            let fast = cursor().u64();
            let slow = serde_json::from_str::<u64>(text).ok();
            assert_eq!(fast, slow, "u64 {text}");
        }
    }
}
