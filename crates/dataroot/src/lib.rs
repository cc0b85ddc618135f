//! The data root: third-party data sets (tweets, labelled sets, reference
//! sentences, recorded API responses) are read in place, never copied into the
//! repository, a fixture or a binary.
//!
//! The root is `$TICKERPULSE_DATA` if it is set, else `../shared/data` beside
//! the clone. Every file read through here must be listed in
//! `data/sources.toml` (path, sha256, rows, source, license, what reads it);
//! its sum is checked on first read, and a missing or changed file is an error
//! that names the file, the variable and what to do. Nothing skips: a test
//! that needs the data fails when it is absent. `data/dataroot.py` is the same
//! loader for the Python tools.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

/// The variable that points at the data root.
pub const VAR: &str = "TICKERPULSE_DATA";
/// The manifest, compiled in (the project's own file; it holds no data).
pub const MANIFEST: &str = include_str!("../../../data/sources.toml");

/// The taborda-2020 stock tweets (the demo's input).
pub const TABORDA: &str = "stock-tweets/taborda-2020.csv";
/// surge-ai's labelled stock tweets.
pub const SURGE_AI: &str = "stock-tweets/surge-ai-sentiment.csv";
/// surge-ai's labelled crypto comments (Reddit).
pub const SURGE_AI_CRYPTO: &str = "stock-tweets/surge-ai-crypto-sentiment.csv";
/// The Twitter Financial News train split.
pub const TWITTER_FINANCIAL_NEWS: &str = "finance-sentiment/twitter-financial-news-train.csv";
/// VADER's reference sentences with vaderSentiment 3.3.2's scores.
pub const VADER_REFERENCE: &str = "vader/reference-3.3.2.tsv";
/// A recorded page of X's recent search.
pub const X_SEARCH_PAGE: &str = "x-api/search-recent-page.jsonl";
/// A recorded X tweet lookup with many cashtags.
pub const X_TWEET_LOOKUP: &str = "x-api/tweet-lookup-cashtags.jsonl";

/// One external file the code reads.
#[derive(Debug, Clone, serde::Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub sha256: String,
    pub rows: usize,
    pub source: String,
    pub license: String,
    pub read_by: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Manifest {
    file: Vec<Entry>,
}

/// Why a data-root file cannot be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DataError {
    #[error("{path} is not in data/sources.toml: list it there (path, sha256, rows, source, license, read_by) before reading it")]
    NotInManifest { path: String },
    #[error("{file}: {why}. Third-party data sets are read in place from the data root ({root_from}): set {VAR} to the folder that holds them (the project's shared/data), or put shared/ beside the clone; see data/README.md")]
    Missing {
        file: String,
        why: String,
        root_from: String,
    },
    #[error("{file} has sha256 {got}, not the {want} that data/sources.toml records: the file changed. Restore it as published (see data/README.md), or, if the data set was updated on purpose, record its new sum and rows in data/sources.toml")]
    Changed {
        file: String,
        got: String,
        want: String,
    },
    #[error("{path} is read as text but is not UTF-8 ({why})")]
    NotText { path: String, why: String },
}

/// The manifest's entries.
pub fn manifest() -> &'static [Entry] {
    static M: OnceLock<Vec<Entry>> = OnceLock::new();
    M.get_or_init(|| {
        toml::from_str::<Manifest>(MANIFEST)
            .expect("data/sources.toml parses (checked by this crate's tests)")
            .file
    })
}

/// The manifest entry of `path`.
pub fn entry(path: &str) -> Result<&'static Entry, DataError> {
    manifest()
        .iter()
        .find(|e| e.path == path)
        .ok_or_else(|| DataError::NotInManifest {
            path: path.to_string(),
        })
}

/// The data root and where it came from (for messages).
pub fn root() -> (PathBuf, String) {
    match std::env::var_os(VAR).filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            let from = format!("{VAR}={}", dir.display());
            (dir, from)
        }
        None => {
            let clone = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let clone = clone.canonicalize().unwrap_or(clone);
            let dir = clone.join("../shared/data");
            let from = format!(
                "{VAR} is not set, so ../shared/data beside the clone: {}",
                dir.display()
            );
            (dir, from)
        }
    }
}

/// The sha256 of `bytes` in lower-case hex, as data/sources.toml records it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `path` (under the data root), checking it against the manifest on
/// the first read; later reads return the same bytes.
pub fn read(path: &str) -> Result<&'static [u8], DataError> {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static [u8]>>> = OnceLock::new();
    let entry = entry(path)?;
    let cache = CACHE.get_or_init(Default::default);
    if let Some(bytes) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
        return Ok(bytes);
    }
    let (root, root_from) = root();
    let file = root.join(&entry.path);
    let bytes = std::fs::read(&file).map_err(|e| DataError::Missing {
        file: file.display().to_string(),
        why: format!("cannot be read ({e})"),
        root_from,
    })?;
    let got = sha256_hex(&bytes);
    if got != entry.sha256 {
        return Err(DataError::Changed {
            file: file.display().to_string(),
            got,
            want: entry.sha256.clone(),
        });
    }
    // Read once a process, kept for its life: the data sets are a few MB.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(path.to_string(), bytes);
    Ok(bytes)
}

/// [`read`] as UTF-8 text.
pub fn read_str(path: &str) -> Result<&'static str, DataError> {
    let bytes = read(path)?;
    std::str::from_utf8(bytes).map_err(|e| DataError::NotText {
        path: path.to_string(),
        why: e.to_string(),
    })
}

/// [`read_str`] for tests, benchmarks and tools: the data is required, so a
/// missing or changed file stops the caller with the loader's message.
pub fn require(path: &str) -> &'static str {
    read_str(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Every file of the manifest, read and checked: the errors of those that fail.
pub fn check_all() -> Vec<DataError> {
    manifest()
        .iter()
        .filter_map(|e| read(&e.path).err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_parses_and_each_entry_is_complete() {
        let m = manifest();
        assert!(m.len() >= 7, "{} entries", m.len());
        for e in m {
            assert_eq!(e.sha256.len(), 64, "{}", e.path);
            assert!(e.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(e.rows > 0 && !e.source.is_empty() && !e.license.is_empty());
            assert!(!e.read_by.is_empty(), "{}: nothing reads it", e.path);
            assert!(!e.path.starts_with('/') && !e.path.contains(".."));
        }
        let mut paths: Vec<&str> = m.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), m.len(), "a path listed twice");
        for p in [
            TABORDA,
            SURGE_AI,
            SURGE_AI_CRYPTO,
            TWITTER_FINANCIAL_NEWS,
            VADER_REFERENCE,
            X_SEARCH_PAGE,
            X_TWEET_LOOKUP,
        ] {
            entry(p).unwrap();
        }
    }

    #[test]
    fn a_path_outside_the_manifest_is_refused() {
        let err = read("elsewhere/unlisted.csv").unwrap_err();
        assert!(matches!(err, DataError::NotInManifest { .. }));
        assert!(err.to_string().contains("data/sources.toml"));
    }

    #[test]
    fn every_file_of_the_data_root_matches_its_sum() {
        let errors = check_all();
        assert!(
            errors.is_empty(),
            "{}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        for e in manifest() {
            assert_eq!(
                read(&e.path).unwrap().as_ptr(),
                read(&e.path).unwrap().as_ptr()
            );
        }
    }
}
