//! Compaction: the raw JSON lines of one hour partition become one Parquet
//! file, deduplicated by tweet id, in a deterministic order, streaming (memory
//! follows the row group, not the partition).

use crate::codec::{self, TweetColumns, TweetRecord};
use crate::LakeError;
use parquet::arrow::ArrowWriter;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};

/// Rows handed to the Parquet writer at a time; it closes a row group every
/// `codec::ROW_GROUP_ROWS`, holding only compressed pages until then.
const BATCH_ROWS: usize = 8_192;

/// At most this many rejected lines are described in the report (all are counted).
pub const REJECTS_REPORTED: usize = 20;

/// A raw line compaction could not read. It stays in the raw zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedLine {
    pub source: String,
    pub line: u64,
    pub reason: String,
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompactStats {
    pub objects: u64,
    pub bytes_in: u64,
    pub lines: u64,
    pub rows: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub rejects: Vec<RejectedLine>,
    pub row_groups: u64,
}

/// The index of the first `\n` at or after `from`, eight bytes at a time.
fn newline(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        let hit = x.wrapping_sub(ONES) & !x & HIGHS;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)?.iter().position(|&c| c == b'\n').map(|p| i + p)
}

/// Text ids are rare (X ids are numbers).
type IdSet<T> = tickerpulse_core::hash::FxSet<T>;

/// A set of numeric tweet ids: open addressing with linear probing, the ids
/// themselves in one array (0 marks a free slot; the id 0 is a flag). A
/// partition's ids do not fit in the CPU caches, so an insert costs what its
/// cache misses cost: one here, where a `HashSet` has two (control bytes, then
/// the slot). `make bench-lake` measured 9% of compaction in the `HashSet`.
#[derive(Default)]
struct NumericIds {
    slots: Vec<u64>,
    len: usize,
    zero: bool,
}

impl NumericIds {
    /// The slot where `n`'s probe starts: Fibonacci hashing, the product's high bits.
    fn home(&self, n: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        let h = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> (64 - bits)) as usize
    }

    /// Room for `more` ids beyond the current ones without growing (kept at
    /// most 3/4 full, where linear probes stay within a cache line or two).
    fn reserve(&mut self, more: usize) {
        let want = (self.len + more).saturating_mul(4) / 3 + 1;
        if want > self.slots.len() {
            self.resize(want.next_power_of_two().max(16));
        }
    }

    fn resize(&mut self, capacity: usize) {
        let old = std::mem::replace(&mut self.slots, vec![0; capacity]);
        let mask = capacity - 1;
        for n in old.into_iter().filter(|&n| n != 0) {
            let mut i = self.home(n);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = n;
        }
    }

    /// Starts loading the cache line where `n`'s probe begins, so that the
    /// insert that follows, after the line is decoded, does not wait for memory.
    fn prefetch(&self, n: u64) {
        if let Some(slot) = self.slots.get(self.home(n)) {
            prefetch(slot);
        }
    }

    /// True the first time `n` is seen.
    fn insert(&mut self, n: u64) -> bool {
        if n == 0 {
            return !std::mem::replace(&mut self.zero, true);
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.resize((self.slots.len() * 2).max(16));
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(n);
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = n;
                    self.len += 1;
                    return true;
                }
                seen if seen == n => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }
}

/// A hint to the CPU to bring `value`'s cache line in; it reads nothing the
/// program sees and changes no result.
#[inline(always)]
fn prefetch<T>(value: &T) {
    let p: *const T = value;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 only hints the cache and cannot fault; SSE is part of
    // x86_64's baseline, and `p` points to a live value.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: PRFM only hints the cache and cannot fault; `p` points to a live value.
    unsafe {
        std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) p, options(nostack, readonly, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
}

/// The tweet id of a line as the transform writes it (`{"schema_version":2,
/// "tweet_id":"123",...`, or 1 before sources), read without decoding the
/// line; `None` otherwise.
/// Only a guess for [`SeenIds::prefetch`]: the decoded id is what counts.
fn leading_numeric_id(line: &[u8]) -> Option<u64> {
    const HEAD: &[u8] = b"{\"schema_version\":";
    const ID: &[u8] = b",\"tweet_id\":\"";
    let rest = line.strip_prefix(HEAD)?;
    let digits = rest
        .strip_prefix(b"2")
        .or_else(|| rest.strip_prefix(b"1"))?
        .strip_prefix(ID)?;
    let mut n = 0u64;
    for &c in digits.iter().take(20) {
        match c {
            b'0'..=b'9' => n = n.wrapping_mul(10).wrapping_add(u64::from(c - b'0')),
            b'"' => return Some(n),
            _ => return None,
        }
    }
    None
}

/// Tweet ids seen so far. X ids are numbers; anything else is kept as text.
#[derive(Default)]
struct SeenIds {
    numeric: NumericIds,
    other: IdSet<String>,
}

impl SeenIds {
    /// Readies the insert of the id `line` most likely holds (see [`NumericIds::prefetch`]).
    fn prefetch(&self, line: &[u8]) {
        if let Some(n) = leading_numeric_id(line) {
            self.numeric.prefetch(n);
        }
    }

    /// True the first time an id is seen.
    fn insert(&mut self, id: &str) -> bool {
        match id.parse::<u64>() {
            // "007" and "7" must stay different ids.
            Ok(n) if !id.starts_with('0') || id == "0" => self.numeric.insert(n),
            _ => self.other.insert(id.to_string()),
        }
    }
}

/// Streams JSON lines in, Parquet out.
pub struct Compactor<W: Write + Send> {
    writer: ArrowWriter<W>,
    columns: TweetColumns,
    seen: SeenIds,
    stats: CompactStats,
    line: Vec<u8>,
}

impl<W: Write + Send> Compactor<W> {
    pub fn new(sink: W) -> Result<Self, LakeError> {
        Ok(Self {
            writer: codec::writer(sink, codec::stage1_schema())?,
            columns: TweetColumns::new(),
            seen: SeenIds::default(),
            stats: CompactStats::default(),
            line: Vec::with_capacity(4096),
        })
    }

    /// Sizes the tweet-id set for about `bytes` more of JSON lines (enriched
    /// records are 500 to 800 bytes), so it is not rehashed as it grows.
    pub fn expect_bytes(&mut self, bytes: u64) {
        let rows = usize::try_from(bytes / 500)
            .unwrap_or(usize::MAX)
            .min(50_000_000);
        self.seen.numeric.reserve(rows);
    }

    /// Reads one raw object's JSON lines. Objects must come in a fixed order
    /// (the lake sorts keys), so the same inputs always give the same file.
    pub fn push_object(&mut self, source: &str, mut reader: impl BufRead) -> Result<(), LakeError> {
        self.stats.objects += 1;
        let mut number = 0u64;
        // Lines are read in place from the reader's buffer; only a line that
        // spans two fills is copied.
        let mut carry = std::mem::take(&mut self.line);
        carry.clear();
        loop {
            let buf = reader
                .fill_buf()
                .map_err(|e| LakeError::Read(format!("{source}: {e}")))?;
            if buf.is_empty() {
                if !carry.is_empty() {
                    number += 1;
                    self.stats.bytes_in += carry.len() as u64;
                    self.push_line(source, number, &carry)?;
                }
                break;
            }
            let used = buf.len();
            let mut start = 0;
            while let Some(end) = newline(buf, start) {
                let end = end + 1;
                number += 1;
                if carry.is_empty() {
                    self.stats.bytes_in += (end - start) as u64;
                    self.push_line(source, number, &buf[start..end])?;
                } else {
                    carry.extend_from_slice(&buf[start..end]);
                    self.stats.bytes_in += carry.len() as u64;
                    self.push_line(source, number, &carry)?;
                    carry.clear();
                }
                start = end;
            }
            carry.extend_from_slice(&buf[start..]);
            reader.consume(used);
        }
        carry.clear();
        self.line = carry;
        Ok(())
    }

    /// One line of a raw object (blank lines are skipped).
    pub fn push_line(&mut self, source: &str, number: u64, line: &[u8]) -> Result<(), LakeError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.stats.lines += 1;
        self.seen.prefetch(line);
        // One UTF-8 check for the whole line is cheaper than one per string.
        let line = match std::str::from_utf8(line) {
            Ok(l) => l,
            Err(e) => {
                let reason = format!("not UTF-8 (byte {})", e.valid_up_to());
                self.reject(source, number, reason);
                return Ok(());
            }
        };
        let decoded = match crate::fastjson::decode(line) {
            Some(t) => Ok(t),
            None => serde_json::from_str::<TweetRecord<'_>>(line),
        };
        let tweet = match decoded {
            Ok(t) => t,
            Err(e) => {
                self.reject(source, number, format!("not an enriched tweet: {e}"));
                return Ok(());
            }
        };
        let Some(micros) = codec::timestamp_micros(&tweet.created_at) else {
            let reason = format!("created_at {:?} is not RFC 3339", tweet.created_at);
            self.reject(source, number, reason);
            return Ok(());
        };
        if tweet.tweet_id.is_empty() {
            self.reject(source, number, "tweet_id is empty".into());
            return Ok(());
        }
        if !self.seen.insert(&tweet.tweet_id) {
            self.stats.duplicates += 1;
            return Ok(());
        }
        self.columns.push(&tweet, micros);
        if self.columns.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Records an object that could not be read at all (say, broken gzip):
    /// it stays in the raw zone and the report names it.
    pub fn reject_object(&mut self, source: &str, reason: String) {
        self.reject(source, 0, reason);
    }

    fn reject(&mut self, source: &str, line: u64, reason: String) {
        self.stats.rejected += 1;
        if self.stats.rejects.len() < REJECTS_REPORTED {
            self.stats.rejects.push(RejectedLine {
                source: source.to_string(),
                line,
                reason,
            });
        }
    }

    /// Hands the rows so far to the Parquet writer.
    fn flush(&mut self) -> Result<(), LakeError> {
        if self.columns.is_empty() {
            return Ok(());
        }
        self.stats.rows += self.columns.len() as u64;
        let batch = self.columns.finish()?;
        self.writer.write(&batch)?;
        Ok(())
    }

    /// Writes what is pending and the footer; gives back the sink.
    pub fn finish(mut self) -> Result<(W, CompactStats), LakeError> {
        self.flush()?;
        self.writer.flush()?;
        self.stats.row_groups = self.writer.flushed_row_groups().len() as u64;
        let sink = self.writer.into_inner()?;
        Ok((sink, self.stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefetch's guess is the decoded id on the transform's lines, and
    /// nothing where the line starts any other way.
    #[test]
    fn leading_id_is_the_decoded_id() {
        let lines: Vec<String> =
            tickerpulse_synth::EnrichedLines::new(tickerpulse_synth::Config::default(), 500)
                .collect();
        for line in &lines {
            let id = crate::fastjson::decode(line).expect("decodes").tweet_id;
            assert_eq!(
                leading_numeric_id(line.as_bytes()),
                id.parse().ok(),
                "{line}"
            );
        }
        for other in [
            "",
            r#"{"schema_version":1,"tweet_id":"12"#,
            r#"{"schema_version":1,"tweet_id":"1x2","#,
            r#"{"schema_version":1,"tweet_id":"123456789012345678901","#,
            r#"{"tweet_id":"12","schema_version":1"#,
        ] {
            assert_eq!(leading_numeric_id(other.as_bytes()), None, "{other}");
        }
        let mut ids = NumericIds::default();
        ids.prefetch(7);
        ids.reserve(1);
        ids.prefetch(7);
        assert!(ids.insert(7) && !ids.insert(7));
    }

    /// The id set against std's, through growth from empty, with 0, u64::MAX,
    /// repeats and ids that share their home slot.
    #[test]
    fn numeric_ids_agree_with_a_hash_set() {
        let mut ours = NumericIds::default();
        let mut std_set = std::collections::HashSet::new();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = match i % 5 {
                0 => x % 1_000,
                1 => 1_250_000_000_000_000_000 + (x % 50_000),
                2 => [0, u64::MAX, 1][(x % 3) as usize],
                _ => x,
            };
            assert_eq!(ours.insert(n), std_set.insert(n), "id {n} (insert {i})");
        }
        assert_eq!(ours.len + usize::from(ours.zero), std_set.len());
        let capacity = ours.slots.len();
        assert!(ours.len * 4 <= capacity * 3);
        ours.reserve(10);
        assert_eq!(
            ours.slots.len(),
            capacity,
            "reserve within the load limit keeps the table"
        );
    }

    #[test]
    fn text_and_numeric_ids_stay_apart() {
        let mut seen = SeenIds::default();
        seen.numeric.reserve(4);
        assert!(seen.insert("7"));
        assert!(seen.insert("007"));
        assert!(!seen.insert("7"));
        assert!(!seen.insert("007"));
        assert!(seen.insert("0"));
        assert!(!seen.insert("0"));
        assert!(seen.insert("abc"));
        assert!(!seen.insert("abc"));
    }
}
