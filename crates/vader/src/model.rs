//! The `model` mode: a multinomial logistic regression over hashed word and
//! character n-grams and the finance-mode scores, trained by
//! `training/sentiment/train.py` (`make train-sentiment`) and embedded here.
//!
//! The features are defined in `training/sentiment/features.py`; this file
//! computes the same, byte for byte (the tests hold the probabilities to
//! scikit-learn's). Everything works on the text's UTF-8 bytes, so Python and
//! Rust cannot disagree on Unicode case or categories.

use crate::Scores;
use std::sync::OnceLock;

/// The weights file: magic, buckets, dense features, classes (u32 LE), the
/// classes' intercepts, then each feature's weights for (negative, neutral,
/// positive) side by side, all f32 LE.
static WEIGHTS: &[u8] = include_bytes!("../data/model.bin");
const MAGIC: &[u8; 8] = b"TPSM0001";
const HEADER: usize = 8 + 12;
const CLASSES: usize = 3;
/// Hashed columns; the dense lexicon features follow them.
pub const BUCKETS: usize = 1 << 16;
const DENSE: usize = 4;

/// The probability of each class, summing to 1: the enriched record's own type,
/// so that what the model gives is what the record carries.
pub use tickerpulse_core::tweet::Probabilities;

/// A token's byte range in `ModelScratch::bytes`, and whether it is a placeholder.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
    placeholder: bool,
}

/// Buffers reused from call to call. `bytes` holds the normalized tokens with a
/// space before and after each, so that a token padded for its character
/// n-grams is a slice of it, not a copy.
#[derive(Default)]
pub(crate) struct ModelScratch {
    bytes: Vec<u8>,
    spans: Vec<Span>,
}

/// The sum of the weights of a word's character 3- and 4-grams and their
/// number; `padded` is the word with a space each side.
fn char_grams(table: &[[f32; 4]], padded: &[u8]) -> ([f64; CLASSES], u32) {
    let (mut sum, mut count) = ([0.0; CLASSES], 0);
    for i in 0..padded.len().saturating_sub(2) {
        let three =
            u64::from(padded[i]) | u64::from(padded[i + 1]) << 8 | u64::from(padded[i + 2]) << 16;
        add(table, &mut sum, gram_hash(three | 3 << 32));
        count += 1;
        if let Some(&b) = padded.get(i + 3) {
            add(
                table,
                &mut sum,
                gram_hash(three | u64::from(b) << 24 | 4 << 32),
            );
            count += 1;
        }
    }
    (sum, count)
}

/// A character n-gram's column: its bytes little-endian with its length above
/// them, times a 64-bit odd constant, top 16 bits (features.py's `gram_hash`).
/// One multiply a gram where FNV-1a takes one a byte: tweets have ten times
/// more character n-grams than words.
#[inline]
fn gram_hash(v: u64) -> u32 {
    column(v.wrapping_mul(MULTIPLIER))
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
/// Mixed into the hash of a pair of words ("pairs").
const PAIR_TAG: u64 = 0x70_6169_7273;

/// A word's 64-bit hash (features.py's `word_hash`): its length, then its
/// bytes eight at a time, little-endian and the last chunk zero-padded, each
/// mixed in by a rotate, an xor and a multiply.
#[inline]
fn word_hash(word: &[u8]) -> u64 {
    let mut h = word.len() as u64;
    for chunk in word.chunks(8) {
        let mut v = [0u8; 8];
        v[..chunk.len()].copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(v)).wrapping_mul(MULTIPLIER);
    }
    h
}

/// The hash of two consecutive words, from their word hashes.
#[inline]
fn pair_hash(first: u64, second: u64) -> u64 {
    (first.rotate_left(5) ^ second ^ PAIR_TAG).wrapping_mul(MULTIPLIER)
}

/// A 64-bit hash's column: its top 16 bits.
#[inline]
fn column(h: u64) -> u32 {
    (h >> (64 - 16)) as u32
}

/// `bytes.split()`'s whitespace: ASCII space, \t, \n, \v, \f, \r.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `string.punctuation` without `%`, `+` and `-`.
#[inline]
fn is_strip(b: u8) -> bool {
    b.is_ascii_punctuation() && !matches!(b, b'%' | b'+' | b'-')
}

fn strip(w: &[u8], pred: impl Fn(u8) -> bool) -> &[u8] {
    strip_end(strip_start(w, &pred), pred)
}

fn strip_end(mut w: &[u8], pred: impl Fn(u8) -> bool) -> &[u8] {
    while let [rest @ .., last] = w {
        if !pred(*last) {
            break;
        }
        w = rest;
    }
    w
}

/// Appends the normalized form of a raw token (see features.py's `token`,
/// which lower-cases the token first; here the checks ignore ASCII case and
/// the copy lower-cases) to `out`; None when the token is dropped, else
/// whether the form is a placeholder.
fn normalize(t: &[u8], out: &mut Vec<u8>) -> Option<bool> {
    let placeholder = |out: &mut Vec<u8>, p: &[u8]| {
        out.extend_from_slice(p);
        Some(true)
    };
    let starts = |p: &[u8]| t.len() >= p.len() && t[..p.len()].eq_ignore_ascii_case(p);
    if starts(b"http://") || starts(b"https://") || starts(b"www.") {
        return placeholder(out, b"<url>");
    }
    if t.len() > 1 && t[0] == b'@' {
        return placeholder(out, b"<user>");
    }
    if t.len() > 1 && t[0] == b'$' && t[1].is_ascii_alphabetic() {
        return placeholder(out, b"<cash>");
    }
    let w = strip(t, is_strip);
    if w.is_empty() {
        // Not a placeholder: its character n-gram " ! " is a feature.
        return if t.contains(&b'!') {
            out.push(b'!');
            Some(false)
        } else if t.contains(&b'?') {
            out.push(b'?');
            Some(false)
        } else {
            None
        };
    }
    if w.iter().any(u8::is_ascii_digit) {
        let core = strip_start(w, |b| b == b'+' || b == b'-');
        if let Some((b'%', number)) = core.split_last() {
            if number
                .iter()
                .all(|&b| b.is_ascii_digit() || b == b'.' || b == b',')
            {
                out.extend_from_slice(b"<pct");
                if matches!(w[0], b'+' | b'-') {
                    out.push(w[0]);
                }
                out.push(b'>');
                return Some(true);
            }
        }
        if core
            .iter()
            .all(|b| b"0123456789.,:/kmbx".contains(&b.to_ascii_lowercase()))
        {
            return placeholder(out, b"<num>");
        }
    }
    let w = strip(w, |b| matches!(b, b'+' | b'-' | b'%'));
    if w.is_empty() {
        return None;
    }
    let start = out.len();
    out.extend(w.iter().map(u8::to_ascii_lowercase));
    // Runs of three or more equal bytes shrink to two (most words have none).
    if out[start..]
        .windows(3)
        .any(|t| t[0] == t[1] && t[1] == t[2])
    {
        let mut kept = start;
        for i in start..out.len() {
            let b = out[i];
            if kept - start >= 2 && out[kept - 1] == b && out[kept - 2] == b {
                continue;
            }
            out[kept] = b;
            kept += 1;
        }
        out.truncate(kept);
    }
    Some(false)
}

fn strip_start(mut w: &[u8], pred: impl Fn(u8) -> bool) -> &[u8] {
    while let [first, rest @ ..] = w {
        if !pred(*first) {
            break;
        }
        w = rest;
    }
    w
}

/// The four little-endian bytes of the embedded file at `at`.
fn le_bytes(at: usize) -> [u8; 4] {
    [
        WEIGHTS[at],
        WEIGHTS[at + 1],
        WEIGHTS[at + 2],
        WEIGHTS[at + 3],
    ]
}

fn f32_at(at: usize) -> f64 {
    f64::from(f32::from_le_bytes(le_bytes(at)))
}

/// One feature's weights (negative, neutral, positive); the intercepts come
/// first in the file, so feature `column` is the file's row `1 + column`.
fn weights(column: usize) -> [f64; CLASSES] {
    let at = HEADER + 4 * CLASSES * (1 + column);
    std::array::from_fn(|k| f32_at(at + 4 * k))
}

/// The weights decoded once from the embedded file: the hashed columns padded
/// to four floats so that a column is one aligned 16-byte load (1 MiB, in a
/// core's L2 cache: scoring reads one column for every feature of a tweet),
/// the intercepts, and the dense (finance-lexicon) features' weights.
struct Decoded {
    hashed: Vec<[f32; 4]>,
    intercepts: [f64; CLASSES],
    dense: [[f64; CLASSES]; DENSE],
}

static DECODED: OnceLock<Decoded> = OnceLock::new();

fn decoded() -> &'static Decoded {
    DECODED.get_or_init(|| {
        if let Err(e) = check_weights() {
            panic!("the embedded weights are broken: {e}");
        }
        Decoded {
            hashed: (0..BUCKETS)
                .map(|c| {
                    let w = weights(c);
                    [w[0] as f32, w[1] as f32, w[2] as f32, 0.0]
                })
                .collect(),
            intercepts: std::array::from_fn(|k| f32_at(HEADER + 4 * k)),
            dense: std::array::from_fn(|i| weights(BUCKETS + i)),
        }
    })
}

#[inline]
fn add(table: &[[f32; 4]], sum: &mut [f64; CLASSES], column: u32) {
    let w = &table[column as usize & (BUCKETS - 1)];
    for k in 0..CLASSES {
        sum[k] += f64::from(w[k]);
    }
}

/// Checks the embedded weights' header (a test calls it, and the one-time
/// decoding refuses weights that fail it).
pub fn check_weights() -> Result<(), String> {
    let u = |at: usize| u32::from_le_bytes(le_bytes(at));
    if WEIGHTS.len() < HEADER || &WEIGHTS[..8] != MAGIC {
        return Err("model.bin: bad magic".into());
    }
    let (buckets, dense, classes) = (u(8) as usize, u(12) as usize, u(16) as usize);
    let want = HEADER + 4 * classes + 4 * classes * (buckets + dense);
    if (buckets, dense, classes) != (BUCKETS, DENSE, CLASSES) || WEIGHTS.len() != want {
        return Err(format!(
            "model.bin: {buckets} buckets, {dense} dense, {classes} classes, {} bytes",
            WEIGHTS.len()
        ));
    }
    Ok(())
}

/// The class probabilities of `text`, whose finance-mode scores are `fin`.
pub(crate) fn probabilities(text: &str, fin: &Scores, scratch: &mut ModelScratch) -> Probabilities {
    let ModelScratch { bytes, spans } = scratch;
    bytes.clear();
    spans.clear();
    bytes.push(b' ');
    let src = text.as_bytes();
    let mut i = 0;
    while i < src.len() {
        if is_space(src[i]) {
            i += 1;
            continue;
        }
        let first = i;
        while i < src.len() && !is_space(src[i]) {
            i += 1;
        }
        let start = bytes.len();
        if let Some(placeholder) = normalize(&src[first..i], bytes) {
            spans.push(Span {
                start: start as u32,
                end: bytes.len() as u32,
                placeholder,
            });
            bytes.push(b' ');
        }
    }
    let token = |s: &Span| &bytes[s.start as usize..s.end as usize];
    let model = decoded();
    let table = &model.hashed[..];

    let (mut words, mut nw) = ([0.0; CLASSES], 0usize);
    let (mut chars, mut nc) = ([0.0; CLASSES], 0usize);
    let mut next_hash = spans.first().map(|s| word_hash(token(s)));
    for (i, s) in spans.iter().enumerate() {
        let word = token(s);
        let hash = next_hash.unwrap_or_default();
        next_hash = spans.get(i + 1).map(|n| word_hash(token(n)));
        // A cashtag, mention or link is no unigram, only context in pairs.
        if !matches!(word, b"<cash>" | b"<user>" | b"<url>") {
            add(table, &mut words, column(hash));
            nw += 1;
        }
        if let Some(next) = next_hash {
            add(table, &mut words, column(pair_hash(hash, next)));
            nw += 1;
        }
        if !s.placeholder {
            let padded = &bytes[s.start as usize - 1..s.end as usize + 1];
            let (sum, count) = char_grams(table, padded);
            for k in 0..CLASSES {
                chars[k] += sum[k];
            }
            nc += count as usize;
        }
    }

    // The intercepts, then the features: hashed (scaled by their counts) and dense.
    let mut z = model.intercepts;
    for (sum, n) in [(words, nw), (chars, nc)] {
        if n > 0 {
            let v = 1.0 / (n as f64).sqrt();
            for k in 0..CLASSES {
                z[k] += sum[k] * v;
            }
        }
    }
    let c = fin.compound;
    for (x, w) in [c.max(0.0), (-c).max(0.0), fin.pos, fin.neg]
        .into_iter()
        .zip(&model.dense)
    {
        for k in 0..CLASSES {
            z[k] += x * w[k];
        }
    }
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e = z.map(|v| (v - max).exp());
    let total: f64 = e.iter().sum();
    Probabilities {
        negative: e[0] / total,
        neutral: e[1] / total,
        positive: e[2] / total,
    }
}
