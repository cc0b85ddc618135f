//! The few Python `str` semantics VADER's reference depends on, reproduced
//! exactly: `str.split()` whitespace, `str.isupper()`, `str.strip(string.punctuation)`,
//! `str.strip()`, and `round()`.

/// Whether Python's `str.isspace()` holds for this character, i.e. what
/// `str.split()` with no argument splits on. Unlike Rust's `char::is_whitespace`
/// it includes the information separators U+001C..U+001F.
#[inline]
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// The length in bytes of the Python whitespace character at `b[i]`, or 0.
/// Bytes are looked at one by one; a character is looked at whole only where
/// a multi-byte whitespace character can start (lead bytes 0xC2, 0xE1, 0xE2,
/// 0xE3), and never at a continuation byte.
#[inline(always)]
fn space_len(b: &[u8], i: usize) -> usize {
    match b[i] {
        b'\t'..=b'\r' | 0x1c..=b' ' => 1,
        0xC2 => 2 * usize::from(matches!(b.get(i + 1), Some(0x85 | 0xA0))),
        0xE1 => 3 * usize::from(b.get(i + 1..i + 3) == Some(&[0x9A, 0x80])),
        0xE2 => match (b.get(i + 1), b.get(i + 2)) {
            (Some(0x80), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)) | (Some(0x81), Some(0x9F)) => 3,
            _ => 0,
        },
        0xE3 => 3 * usize::from(b.get(i + 1..i + 3) == Some(&[0x80, 0x80])),
        _ => 0,
    }
}

/// Classes of a byte, for [`split`]'s words: which of the scorer's questions
/// a byte answers (ASCII letters' case, apostrophe, punctuation, digit or '%',
/// not ASCII), and whether it is, or may start, Python whitespace.
pub mod class {
    /// ASCII whitespace (`\t`..`\r`, U+001C..U+0020).
    pub const SPACE: u8 = 1;
    /// The first byte of a multi-byte whitespace character, or of another
    /// character that shares it (0xC2, 0xE1, 0xE2, 0xE3).
    pub const SPACE_LEAD: u8 = 2;
    pub const UPPER: u8 = 4;
    pub const LOWER: u8 = 8;
    pub const APOSTROPHE: u8 = 16;
    /// ASCII punctuation (`string.punctuation`).
    pub const PUNCTUATION: u8 = 32;
    /// An ASCII digit or '%'.
    pub const DIGIT_OR_PERCENT: u8 = 64;
    pub const NOT_ASCII: u8 = 128;

    const fn of(b: u8) -> u8 {
        let mut c = 0;
        if matches!(b, b'\t'..=b'\r' | 0x1c..=b' ') {
            c |= SPACE;
        }
        if matches!(b, 0xC2 | 0xE1 | 0xE2 | 0xE3) {
            c |= SPACE_LEAD;
        }
        if b.is_ascii_uppercase() {
            c |= UPPER;
        }
        if b.is_ascii_lowercase() {
            c |= LOWER;
        }
        if b == b'\'' {
            c |= APOSTROPHE;
        }
        if b.is_ascii_punctuation() {
            c |= PUNCTUATION;
        }
        if b.is_ascii_digit() || b == b'%' {
            c |= DIGIT_OR_PERCENT;
        }
        if !b.is_ascii() {
            c |= NOT_ASCII;
        }
        c
    }

    pub(crate) static TABLE: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = of(b as u8);
            b += 1;
        }
        t
    };
}

/// Python's `str.split()` with no argument: the words between runs of
/// whitespace ([`is_space`]), found byte by byte.
#[inline]
pub fn split(s: &str) -> Split<'_> {
    Split { s, i: 0 }
}

/// The iterator of [`split`]. Its words come with the union of their bytes'
/// [`class`]es, found in the same pass, through [`Split::next_classified`].
pub struct Split<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Split<'a> {
    /// The next word and the union of its bytes' classes.
    #[inline]
    pub fn next_classified(&mut self) -> Option<(&'a str, u8)> {
        let b = self.s.as_bytes();
        let mut i = self.i;
        loop {
            let &byte = b.get(i)?;
            if class::TABLE[usize::from(byte)] & (class::SPACE | class::SPACE_LEAD) == 0 {
                break;
            }
            match space_len(b, i) {
                0 => break,
                n => i += n,
            }
        }
        let start = i;
        let mut classes = 0;
        while let Some(&byte) = b.get(i) {
            let c = class::TABLE[usize::from(byte)];
            if c & (class::SPACE | class::SPACE_LEAD) != 0 && space_len(b, i) != 0 {
                break;
            }
            classes |= c;
            i += 1;
        }
        self.i = i;
        // Both ends are character boundaries: the start follows whitespace
        // (or is 0), the end is whitespace's first byte or the end.
        Some((self.s.get(start..i)?, classes))
    }
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        self.next_classified().map(|(word, _)| word)
    }
}

/// Python's `str.strip()`.
#[inline]
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Titlecase letters (general category Lt), which make `str.isupper()` false.
#[inline]
fn is_titlecase(c: char) -> bool {
    matches!(
        c,
        '\u{1c5}' | '\u{1c8}' | '\u{1cb}' | '\u{1f2}' | '\u{1f88}'..='\u{1f8f}' | '\u{1f98}'..='\u{1f9f}' | '\u{1fa8}'..='\u{1faf}' | '\u{1fbc}' | '\u{1fcc}' | '\u{1ffc}'
    )
}

/// Python's `str.isupper()`: no lowercase or titlecase character, and at least
/// one uppercase one.
#[inline]
pub fn is_upper(s: &str) -> bool {
    let mut cased = false;
    if s.is_ascii() {
        for b in s.bytes() {
            if b.is_ascii_lowercase() {
                return false;
            }
            cased |= b.is_ascii_uppercase();
        }
        return cased;
    }
    for c in s.chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// `token.strip(string.punctuation)`: ASCII punctuation off both ends.
#[inline]
pub fn strip_punctuation(s: &str) -> &str {
    // Byte by byte: no byte of a multi-byte character is ASCII, so the cuts
    // fall on character boundaries.
    let b = s.as_bytes();
    let start = b
        .iter()
        .position(|c| !c.is_ascii_punctuation())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_punctuation())
        .map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// Python's `round(x, digits)` for floats: the double nearest to the correctly
/// rounded (half-to-even on the exact binary value) decimal. Rust's formatting is
/// exact in the same way; the digits go through a stack buffer, not the heap.
pub fn round(x: f64, digits: usize) -> f64 {
    use std::io::Write;
    if !x.is_finite() {
        return x;
    }
    // Fast path: away from a tie, rounding the scaled value picks the same
    // integer k as exact decimal rounding, and k / 10^d (one correctly rounded
    // division of two exact values) is the double nearest to that decimal.
    const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    if digits < POW10.len() && x.abs() < 1e9 {
        let scale = POW10[digits];
        let y = x * scale;
        let frac = (y - y.trunc()).abs();
        if (frac - 0.5).abs() > 1e-6 {
            return y.round() / scale;
        }
    }
    let mut buf = [0u8; 48];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        if write!(cursor, "{x:.digits$}").is_err() {
            return x;
        }
        cursor.position() as usize
    };
    std::str::from_utf8(&buf[..len])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_rounding() {
        assert_eq!(round(0.1235, 3), 0.123); // 0.1235 is 0.12349999... in binary
        assert_eq!(round(0.125, 2), 0.12); // exact tie: half to even
        assert_eq!(round(0.375, 2), 0.38);
        assert_eq!(round(-0.57195, 4), -0.5719);
        assert_eq!(round(0.99995, 4), 1.0); // 0.99995 is 0.9999500000000000055... in binary
        assert_eq!(round(-0.0, 3), -0.0);
    }

    #[test]
    fn python_isupper() {
        assert!(is_upper("GOOD"));
        assert!(is_upper("GOOD!!"));
        assert!(is_upper("A1"));
        assert!(!is_upper(":)"));
        assert!(!is_upper("123"));
        assert!(!is_upper("Good"));
        assert!(is_upper("ÉTÉ"));
        assert!(!is_upper("ǅ")); // titlecase
        assert!(!is_upper(""));
    }

    #[test]
    fn python_whitespace() {
        assert!(is_space('\u{1f}'));
        assert!(is_space('\u{a0}'));
        assert!(!is_space('\u{200b}')); // zero width space is not whitespace
        assert_eq!(strip("\u{3000} x \u{1c}"), "x");
    }

    /// The byte classes' whitespace bits come from [`is_space`] over every
    /// character: ASCII whitespace, and the first bytes of the others.
    #[test]
    fn whitespace_classes_follow_is_space() {
        let mut leads = [false; 256];
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            if is_space(c) && !c.is_ascii() {
                let mut buf = [0; 4];
                leads[usize::from(c.encode_utf8(&mut buf).as_bytes()[0])] = true;
            }
        }
        for b in 0..=255u8 {
            let c = class::TABLE[usize::from(b)];
            assert_eq!(
                c & class::SPACE != 0,
                b.is_ascii() && is_space(char::from(b)),
                "{b:#x}"
            );
            assert_eq!(c & class::SPACE_LEAD != 0, leads[usize::from(b)], "{b:#x}");
            assert_eq!(c & class::NOT_ASCII != 0, !b.is_ascii(), "{b:#x}");
        }
    }

    /// `split` and `strip_punctuation` agree with the char-by-char definitions
    /// on every whitespace character and its neighbours in UTF-8 (same lead
    /// byte, near code points), in every position.
    #[test]
    fn byte_scans_agree_with_the_char_definitions() {
        let mut chars: Vec<char> = vec!['a', 'Z', '!', '$', '.', '\'', 'é', '€', '🚀', 'ǅ'];
        for c in (0u32..0x80)
            .chain(0x80..0x100)
            .chain(0x1600..0x1700)
            .chain(0x2000..0x2070)
            .chain(0x2fff..0x3002)
        {
            chars.extend(char::from_u32(c));
        }
        let reference = |s: &str| -> Vec<String> {
            s.split(is_space)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        };
        let mut texts: Vec<String> = Vec::new();
        for &a in &chars {
            texts.push(a.to_string());
            for &b in &['x', ' ', '\u{a0}', '\u{3000}', '.', 'é'] {
                texts.push(format!("{a}{b}"));
                texts.push(format!("{b}{a}"));
                texts.push(format!("{b}{a}{b}{a}x"));
            }
        }
        for t in &texts {
            let mut words = split(t);
            while let Some((word, classes)) = words.next_classified() {
                let expected = word
                    .bytes()
                    .fold(0, |acc, b| acc | class::TABLE[usize::from(b)]);
                assert_eq!(classes, expected, "{t:?}");
            }
            let ours: Vec<String> = split(t).map(String::from).collect();
            assert_eq!(ours, reference(t), "{t:?}");
            let theirs = t.trim_matches(|c: char| c.is_ascii_punctuation());
            assert_eq!(strip_punctuation(t), theirs, "{t:?}");
        }
    }
}

#[cfg(test)]
mod round_tests {
    use super::round;

    /// The fast path agrees with exact decimal rounding on many values.
    #[test]
    fn fast_path_equals_formatting() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x % 2_000_001) as f64 / 1_000_000.0 - 1.0 + (x % 7) as f64 * 1e-7;
            for d in [3usize, 4] {
                let exact: f64 = format!("{v:.d$}").parse().unwrap();
                assert_eq!(round(v, d), exact, "{v} to {d}");
            }
        }
    }
}
