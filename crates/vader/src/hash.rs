// Shared by build.rs (which lays out the tables) and the library (which probes them).

/// FNV-1a, 64-bit: tiny, good enough for 7,500 short keys at load factor 1/4.
#[inline]
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
