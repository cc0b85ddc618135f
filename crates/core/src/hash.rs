//! The project's two hashes: one for in-memory maps, one that is stored.

use std::hash::{BuildHasherDefault, Hasher};

/// Every method is `#[inline]`: the maps that use it live in other crates,
/// which cannot inline a plain function of this one without it.
///
/// The in-memory hasher of the project's maps and sets (watch-list symbols, the
/// aggregation's integer keys, compaction's text ids): an Fx-style multiply per
/// eight bytes. Keys come from our own data and are only looked up by what tweets
/// say, so a keyed hash against flooding buys nothing; SipHash cost the transform
/// about 1% of its time. Never persist its values: use [`stable`] for that.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fx(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            self.write_u64(u64::from_le_bytes(word));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // Tables take low bits, which a multiply leaves poorly mixed.
        self.0 ^ (self.0 >> 32)
    }
}

/// `BuildHasher` for [`Fx`].
pub type FxBuild = BuildHasherDefault<Fx>;
/// A `HashMap` with [`Fx`].
pub type FxMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
/// A `HashSet` with [`Fx`].
pub type FxSet<T> = std::collections::HashSet<T, FxBuild>;

/// The stable hash: 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime
/// 0x100000001b3). Its values are stored (ingest's cursor keys in the state
/// table, the authors sketches in the serving tables), so it must never change.
#[inline]
pub fn stable(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_is_fnv_1a() {
        // Published FNV-1a 64 test vectors (isthe.com/chongo/tech/comp/fnv).
        assert_eq!(stable(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fx_spreads_short_keys() {
        use std::hash::BuildHasher;
        let b = FxBuild::default();
        let hashes: FxSet<u64> = (0..10_000u64).map(|i| b.hash_one(i) & 0xfff).collect();
        assert!(
            hashes.len() > 3_000,
            "{} of 4096 low-bit buckets",
            hashes.len()
        );
        assert_ne!(b.hash_one("AAPL"), b.hash_one("AAPM"));
    }
}
