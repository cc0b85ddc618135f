//! The client side of Cognito's sign-in: SRP-6a as Cognito runs it
//! (`USER_SRP_AUTH`, then the `PASSWORD_VERIFIER` answer) and RFC 6238 TOTP
//! codes for the `SOFTWARE_TOKEN_MFA` and `MFA_SETUP` challenges.
//!
//! The constants and the order of hashing are those of the AWS SDKs'
//! `AuthenticationHelper` (the 3072-bit group of RFC 3526, g = 2,
//! k = H(N | g), u = H(A | B), x = H(salt | H(pool user ":" password)), an
//! HKDF-SHA256 key "Caldera Derived Key" of 16 bytes, and the claim an
//! HMAC-SHA256 over pool, user, secret block and timestamp). The local stack's
//! pool runs the server side (`moto_server.py`); the dashboard's JavaScript
//! computes the same client side.

use base64::Engine;
use hmac::{KeyInit, Mac};
use num_bigint::BigUint;
use sha2::{Digest, Sha256};

/// RFC 3526's 3072-bit MODP group prime.
const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

#[derive(Debug, thiserror::Error)]
pub enum SrpError {
    #[error("the pool's challenge lacks {0}")]
    Missing(&'static str),
    #[error("the pool's challenge has a bad {0}")]
    Malformed(&'static str),
    #[error("the pool's SRP_B is 0 mod N")]
    BadB,
    #[error("no randomness: {0}")]
    Random(String),
}

fn n() -> BigUint {
    BigUint::parse_bytes(N_HEX.as_bytes(), 16).expect("N is hex")
}

/// A number as the SDKs hash it: even-length hex, with a 00 in front when the
/// first bit is set (so it reads as positive).
fn pad_hex(v: &BigUint) -> String {
    let mut h = v.to_str_radix(16);
    if h.len() % 2 == 1 {
        h.insert(0, '0');
    } else if h.as_bytes()[0] >= b'8' {
        h.insert_str(0, "00");
    }
    h
}

fn hex_bytes(h: &str) -> Vec<u8> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(h.as_bytes())
        .expect("pad_hex writes even-length hex")
}

fn hash_hex(h: &str) -> BigUint {
    BigUint::from_bytes_be(&Sha256::digest(hex_bytes(h)))
}

/// One sign-in's secret `a` and public `A`.
pub struct Srp {
    a: BigUint,
    big_a: BigUint,
}

impl Srp {
    /// Draws `a` (128 bytes from the OS) and computes `A = g^a mod N`.
    pub fn new() -> Result<Self, SrpError> {
        let mut bytes = [0u8; 128];
        getrandom::fill(&mut bytes).map_err(|e| SrpError::Random(e.to_string()))?;
        Ok(Self::with_secret(BigUint::from_bytes_be(&bytes)))
    }

    fn with_secret(a: BigUint) -> Self {
        let big_a = BigUint::from(2u32).modpow(&a, &n());
        Self { a, big_a }
    }

    /// `SRP_A` of the `USER_SRP_AUTH` request.
    pub fn public_hex(&self) -> String {
        self.big_a.to_str_radix(16)
    }

    /// The `PASSWORD_VERIFIER` answer's `PASSWORD_CLAIM_SIGNATURE` for the
    /// challenge's `SALT`, `SRP_B`, `USER_ID_FOR_SRP` and `SECRET_BLOCK`, at
    /// `timestamp` (see [`timestamp`]).
    #[allow(clippy::too_many_arguments)]
    pub fn claim(
        &self,
        pool_id: &str,
        user_id: &str,
        password: &str,
        salt_hex: &str,
        b_hex: &str,
        secret_block: &str,
        timestamp: &str,
    ) -> Result<String, SrpError> {
        let n = n();
        let g = BigUint::from(2u32);
        let k = hash_hex(&format!("{}{}", pad_hex(&n), pad_hex(&g)));
        let big_b =
            BigUint::parse_bytes(b_hex.as_bytes(), 16).ok_or(SrpError::Malformed("SRP_B"))?;
        if (&big_b % &n) == BigUint::ZERO {
            return Err(SrpError::BadB);
        }
        let salt =
            BigUint::parse_bytes(salt_hex.as_bytes(), 16).ok_or(SrpError::Malformed("SALT"))?;
        let pool_name = pool_id
            .split_once('_')
            .map(|(_, name)| name)
            .ok_or(SrpError::Malformed("user pool id"))?;
        let u = hash_hex(&format!("{}{}", pad_hex(&self.big_a), pad_hex(&big_b)));
        let inner = data_encoding::HEXLOWER.encode(&Sha256::digest(
            format!("{pool_name}{user_id}:{password}").as_bytes(),
        ));
        let x = hash_hex(&format!("{}{inner}", pad_hex(&salt)));
        let gx = g.modpow(&x, &n);
        let base = (&big_b % &n + &n - (&k * &gx) % &n) % &n;
        let s = base.modpow(&(&self.a + &u * &x), &n);
        let mut key = [0u8; 16];
        hkdf::Hkdf::<Sha256>::new(Some(&hex_bytes(&pad_hex(&u))), &hex_bytes(&pad_hex(&s)))
            .expand(b"Caldera Derived Key", &mut key)
            .expect("16 bytes is a valid HKDF length");
        let block = base64::engine::general_purpose::STANDARD
            .decode(secret_block)
            .map_err(|_| SrpError::Malformed("SECRET_BLOCK"))?;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
        mac.update(pool_name.as_bytes());
        mac.update(user_id.as_bytes());
        mac.update(&block);
        mac.update(timestamp.as_bytes());
        Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// Cognito's `TIMESTAMP`: "Tue Sep 5 10:04:05 UTC 2023" (the day unpadded).
pub fn timestamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let weekday = &t.weekday().to_string()[..3];
    let month = &t.month().to_string()[..3];
    format!(
        "{weekday} {month} {} {:02}:{:02}:{:02} UTC {}",
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    )
}

#[derive(Debug, thiserror::Error)]
#[error("a TOTP secret must be base32 (what AssociateSoftwareToken returns)")]
pub struct BadSecret;

/// The 6-digit RFC 6238 code (HMAC-SHA1, 30 s steps) of a base32 secret at
/// `unix` seconds, as an authenticator app shows it.
pub fn totp(secret_b32: &str, unix: u64) -> Result<String, BadSecret> {
    let clean: String = secret_b32
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let key = data_encoding::BASE32_NOPAD
        .decode(clean.as_bytes())
        .map_err(|_| BadSecret)?;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(&(unix / 30).to_be_bytes());
    let h = mac.finalize().into_bytes();
    // RFC 4226 section 5.3, dynamic truncation.
    let off = (h[h.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    Ok(format!("{:06}", bin % 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_appendix_b() {
        // The SHA-1 seed "12345678901234567890", base32; the RFC's 8-digit
        // values cut to the 6 digits Cognito uses.
        let secret = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        for (t, code) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(totp(&secret, t).unwrap(), &code[2..], "t={t}");
        }
        assert!(totp("not base32!", 0).is_err());
    }

    #[test]
    fn timestamps_are_written_as_cognito_reads_them() {
        let t = time::macros::datetime!(2023-09-05 10:04:05 UTC);
        assert_eq!(timestamp(t), "Tue Sep 5 10:04:05 UTC 2023");
        let t = time::macros::datetime!(2026-12-17 23:59:09 UTC);
        assert_eq!(timestamp(t), "Thu Dec 17 23:59:09 UTC 2026");
    }

    #[test]
    fn the_claim_is_what_a_server_holding_the_verifier_expects() {
        // The server's side of the same exchange, computed here from the
        // verifier v = g^x: S = (A v^u)^b. Equal keys give equal claims; a
        // wrong password gives another.
        let n = n();
        let g = BigUint::from(2u32);
        let k = hash_hex(&format!("{}{}", pad_hex(&n), pad_hex(&g)));
        let client = Srp::with_secret(BigUint::from(0x1234_5678_9abc_def0u64) << 700);
        let salt = "f00dfeed00112233";
        let pool = "us-east-1_abcdef";
        let inner = data_encoding::HEXLOWER.encode(&Sha256::digest(b"abcdefalice:Correct-horse-1"));
        let x = hash_hex(&format!(
            "{}{inner}",
            pad_hex(&BigUint::parse_bytes(salt.as_bytes(), 16).unwrap())
        ));
        let v = g.modpow(&x, &n);
        let b = BigUint::from(987_654_321u64) << 900;
        let big_b = (&k * &v + g.modpow(&b, &n)) % &n;
        let u = hash_hex(&format!("{}{}", pad_hex(&client.big_a), pad_hex(&big_b)));
        let s = (&client.big_a * v.modpow(&u, &n) % &n).modpow(&b, &n);
        let mut key = [0u8; 16];
        hkdf::Hkdf::<Sha256>::new(Some(&hex_bytes(&pad_hex(&u))), &hex_bytes(&pad_hex(&s)))
            .expand(b"Caldera Derived Key", &mut key)
            .unwrap();
        let block = base64::engine::general_purpose::STANDARD.encode([7u8; 48]);
        let ts = "Tue Sep 5 10:04:05 UTC 2023";
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(b"abcdefalice");
        mac.update(&[7u8; 48]);
        mac.update(ts.as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let b_hex = big_b.to_str_radix(16);
        let claim = |password: &str| {
            client
                .claim(pool, "alice", password, salt, &b_hex, &block, ts)
                .unwrap()
        };
        assert_eq!(claim("Correct-horse-1"), expected);
        assert_ne!(claim("Correct-horse-2"), expected);
        assert!(matches!(
            client.claim(pool, "alice", "x", salt, "0", &block, ts),
            Err(SrpError::BadB)
        ));
    }
}
