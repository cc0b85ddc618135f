// Shared by build.rs (which lays out the tables) and the library (which probes them).

/// The hash of a word: eight bytes at a time, the last one to seven bytes read
/// as wyhash reads them (two overlapping 4-byte reads, or first, middle and
/// last byte), one multiply for each. The length goes in first, so words that
/// differ only in trailing zero bytes differ. Good enough for 7,500 short keys
/// at load factor 1/4: most words take one or two multiplies, where FNV-1a
/// took one a byte, each waiting for the last.
#[inline]
pub fn word_hash(b: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let len = b.len();
    let mut h = (len as u64).wrapping_mul(K);
    let mut rest = b;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        h = mix(h, u64::from_le_bytes(*chunk));
        rest = tail;
    }
    let r = rest.len();
    if r >= 4 {
        let first = rest
            .first_chunk::<4>()
            .map_or(0, |c| u32::from_le_bytes(*c));
        let last = rest.last_chunk::<4>().map_or(0, |c| u32::from_le_bytes(*c));
        h = mix(h, u64::from(first) | u64::from(last) << 32);
    } else if r > 0 {
        let w = u64::from(rest[0]) << 16 | u64::from(rest[r / 2]) << 8 | u64::from(rest[r - 1]);
        h = mix(h, w);
    }
    // The slots take the low bits, which a multiply leaves poorly mixed.
    h ^ (h >> 32)
}

/// Words (of 64 bits) in a table's filter: one bit for each of 2^16 values of
/// a key's hash's top 16 bits, set when a key has it. 8 KB stays in L1 where
/// a table's 64 KB of slots does not: most words of a tweet are in no table,
/// and the filter turns most of them away without touching the slots.
pub const FILTER_WORDS: usize = 1024;

/// A hash's bit in a table's filter (its top 16 bits; the slots use the low ones).
#[inline]
pub fn filter_bit(hash: u64) -> usize {
    (hash >> 48) as usize
}
