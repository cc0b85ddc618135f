// Shared by build.rs (which lays out the tables) and the library (which probes them).

/// FNV-1a, 64-bit: tiny, good enough for 7,500 short keys at load factor 1/4.
#[inline]
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    for &b in bytes {
        h = fnv1a_step(h, b);
    }
    h
}

/// FNV-1a's starting value.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// One byte more into an FNV-1a hash.
#[inline(always)]
pub fn fnv1a_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
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
