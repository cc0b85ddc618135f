//! What the repository holds: only what this project wrote, and data from
//! package registries. Third-party data sets are read in place from the data
//! root (`tickerpulse-dataroot`), never committed.
//!
//! - no committed file has the sha256 of a file of the data root;
//! - no committed file holds a post text of the data root (every text of 40
//!   characters or more, all of them; also inside JSON strings and base64, and
//!   with whitespace or `$` changed);
//! - every data-root path the code names is in `data/sources.toml`, and only
//!   the two loaders name the data root itself;
//! - every committed data file has a README line naming it, its source and its license.

use aho_corasick::AhoCorasick;
use base64::Engine;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use tickerpulse_dataroot as data;

/// The shortest post text held to the rule, in characters.
const MIN_CHARS: usize = 40;

fn committed() -> Vec<PathBuf> {
    let root = tickerpulse_e2e::root();
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .expect("git ls-files (the test reads what is committed)");
    assert!(out.status.success(), "git ls-files failed");
    let files: Vec<PathBuf> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .filter(|p| root.join(p).is_file())
        .collect();
    assert!(files.len() > 200, "git lists {} files", files.len());
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(tickerpulse_e2e::root().join(path)).unwrap()
}

/// Every file under the data root.
fn data_root_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let (root, from) = data::root();
    // The manifest's files first: this fails with the loader's message when the root is absent.
    for e in data::manifest() {
        data::require(&e.path);
    }
    let mut out = Vec::new();
    walk(&root, &mut out);
    assert!(out.len() >= data::manifest().len(), "{from}");
    out
}

/// Whitespace folded to one space and `$` dropped: a copy with its cashtags or
/// spacing changed is still a copy.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|c| *c != '$'));
    }
    out
}

fn column(path: &str, separator: u8, name: &str) -> Vec<String> {
    let rows = tickerpulse_core::csv::parse(data::require(path), separator).unwrap();
    let at = rows[0].iter().position(|c| c == name).unwrap();
    rows[1..]
        .iter()
        .filter_map(|r| r.get(at).cloned())
        .collect()
}

/// Every post text (and reference sentence) of the data root.
fn post_texts() -> Vec<String> {
    let mut texts = column(data::TABORDA, b';', "text");
    texts.extend(column(data::SURGE_AI, b',', "Tweet Text"));
    texts.extend(column(data::SURGE_AI_CRYPTO, b',', "Comment Text"));
    texts.extend(column(data::TWITTER_FINANCIAL_NEWS, b',', "text"));
    texts.extend(
        data::require(data::VADER_REFERENCE)
            .lines()
            .skip(1)
            .filter_map(|l| l.splitn(8, '\t').nth(7).map(str::to_string)),
    );
    for file in [data::X_SEARCH_PAGE, data::X_TWEET_LOOKUP] {
        for line in data::require(file).lines().filter(|l| !l.trim().is_empty()) {
            let mut strings = Vec::new();
            json_strings(&serde_json::from_str(line).unwrap(), &mut strings);
            texts.extend(strings);
        }
    }
    texts
}

/// 40-character pieces of every post text at 40-character steps: a file holding
/// a whole text holds its first piece, and one holding any 79 characters of it
/// holds a whole piece.
fn pieces(texts: &[String]) -> Vec<String> {
    let mut out = HashSet::new();
    for text in texts {
        let chars: Vec<char> = fold(text).chars().collect();
        if chars.len() < MIN_CHARS {
            continue;
        }
        for start in (0..=chars.len() - MIN_CHARS).step_by(MIN_CHARS) {
            out.insert(chars[start..start + MIN_CHARS].iter().collect::<String>());
        }
    }
    out.into_iter().collect()
}

fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            json_strings(x, out)
        }),
        _ => {}
    }
}

/// What a file says, as it is and as it decodes: its JSON strings (escapes
/// undone), and any base64 string that is text, and that text's JSON strings.
fn haystacks(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut strings = Vec::new();
    let docs: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    };
    docs.iter().for_each(|d| json_strings(d, &mut strings));
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut decoded = Vec::new();
    for s in &strings {
        if s.len() >= 16 {
            if let Some(inner) = b64.decode(s).ok().and_then(|b| String::from_utf8(b).ok()) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&inner) {
                    json_strings(&v, &mut decoded);
                }
                decoded.push(inner);
            }
        }
    }
    let mut out = vec![text];
    out.extend(strings);
    out.extend(decoded);
    out.into_iter().map(|s| fold(&s)).collect()
}

#[test]
fn no_committed_file_is_a_copy_of_a_data_root_file() {
    let sums: HashSet<String> = data_root_files()
        .iter()
        .map(|p| data::sha256_hex(&std::fs::read(p).unwrap()))
        .collect();
    let copies: Vec<String> = committed()
        .into_iter()
        .filter(|p| sums.contains(&data::sha256_hex(&read(p))))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        copies.is_empty(),
        "committed copies of data-root files: {copies:?}"
    );
}

#[test]
fn no_committed_file_holds_a_post_text_of_the_data_root() {
    let texts = post_texts();
    let long = texts
        .iter()
        .filter(|t| t.chars().count() >= MIN_CHARS)
        .count();
    assert!(
        long > 25_000,
        "only {long} texts of {MIN_CHARS}+ characters"
    );
    let pieces = pieces(&texts);
    let matcher = AhoCorasick::new(&pieces).unwrap();
    let mut found = BTreeSet::new();
    for path in committed() {
        for hay in haystacks(&read(&path)) {
            if let Some(m) = matcher.find(&hay) {
                found.insert(format!("{}: {:?}", path.display(), &pieces[m.pattern()]));
                break;
            }
        }
    }
    assert!(
        found.is_empty(),
        "committed files holding data-root post text:\n{}",
        found.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_check_finds_a_text_wherever_a_file_hides_it() {
    let texts = post_texts();
    let text = texts.iter().find(|t| t.chars().count() > 120).unwrap();
    let matcher = AhoCorasick::new(pieces(std::slice::from_ref(text))).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let record = serde_json::json!({"text": text}).to_string();
    let middle: String = text.chars().skip(20).take(80).collect();
    let spaced = text.replace(' ', "  ").replace('$', "");
    for (what, file) in [
        ("as it is", text.clone()),
        ("in JSON", serde_json::json!({"t": text}).to_string()),
        (
            "in base64 JSON",
            serde_json::json!({"data": b64.encode(&record)}).to_string(),
        ),
        ("80 characters of it", middle),
        ("respaced, no $", spaced),
    ] {
        let hit = haystacks(file.as_bytes())
            .iter()
            .any(|h| matcher.is_match(h));
        assert!(hit, "missed a copy {what}");
    }
    assert!(
        !haystacks(b"a text this project wrote, long enough to be checked")
            .iter()
            .any(|h| matcher.is_match(h))
    );
}

/// Code files: what could read data.
fn is_code(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    ["rs", "py", "mjs", "js", "sh", "toml", "yaml", "yml"].contains(&ext)
        || name == "Makefile"
        || name == "run"
}

#[test]
fn every_data_root_path_the_code_names_is_in_the_manifest() {
    let listed: HashSet<&str> = data::manifest().iter().map(|e| e.path.as_str()).collect();
    let (root, _) = data::root();
    let folders: BTreeSet<String> = data_root_files()
        .iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&root).ok()?;
            let first = rel.components().next()?;
            Some(first.as_os_str().to_string_lossy().into_owned())
        })
        .filter(|f| !f.contains('.'))
        .collect();
    assert!(folders.len() >= 4, "{folders:?}");
    let is_loader =
        |p: &Path| p.starts_with("crates/dataroot") || p == Path::new("data/dataroot.py");
    let root_names = [["shared", "/data"].concat(), ["../", "shared"].concat()];
    let (mut unlisted, mut root_readers) = (Vec::new(), Vec::new());
    let mut named = 0;
    for path in committed().into_iter().filter(|p| is_code(p)) {
        let Ok(text) = String::from_utf8(read(&path)) else {
            continue;
        };
        if path == Path::new("data/sources.toml") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if !is_loader(&path) && root_names.iter().any(|r| line.contains(r.as_str())) {
                root_readers.push(format!("{}:{}", path.display(), n + 1));
            }
            for folder in &folders {
                let needle = format!("{folder}/");
                let mut at = 0;
                while let Some(i) = line[at..].find(&needle) {
                    let start = at + i;
                    at = start + needle.len();
                    let before = line[..start].chars().last();
                    if before
                        .is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '/')
                    {
                        continue;
                    }
                    let rest: String = line[start..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || "-_./".contains(*c))
                        .collect();
                    let is_file = [".csv", ".tsv", ".json", ".jsonl", ".txt"]
                        .iter()
                        .any(|e| rest.ends_with(e));
                    if is_file {
                        named += 1;
                        if !listed.contains(rest.as_str()) {
                            unlisted.push(format!("{}:{}: {rest}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(named >= 7, "found only {named} data-root paths in the code");
    assert!(
        unlisted.is_empty(),
        "data-root paths not in data/sources.toml:\n{}",
        unlisted.join("\n")
    );
    assert!(
        root_readers.is_empty(),
        "code naming the data root outside the loaders (read through tickerpulse-dataroot or data/dataroot.py):\n{}",
        root_readers.join("\n")
    );
}

/// A data file: what is neither code nor prose.
fn is_data(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    let in_data = p
        .components()
        .any(|c| matches!(c.as_os_str().to_str(), Some("data" | "events")));
    let data_ext = ["csv", "tsv", "jsonl", "bin", "parquet"].contains(&ext);
    (data_ext || (in_data && !["rs", "py", "md"].contains(&ext)))
        && !p.starts_with("functions/api/assets")
}

#[test]
fn every_committed_data_file_has_a_readme_line_with_its_source_and_license() {
    let root = tickerpulse_e2e::root();
    let mut missing = Vec::new();
    let mut checked = 0;
    for path in committed().into_iter().filter(|p| is_data(p)) {
        checked += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let readme = path.parent().map(|d| root.join(d).join("README.md"));
        let text = readme
            .and_then(|r| std::fs::read_to_string(r).ok())
            .unwrap_or_default();
        // The line naming the file, with its continuation lines (a wrapped list item).
        let lines: Vec<&str> = text.lines().collect();
        let line = lines
            .iter()
            .position(|l| l.contains(&format!("`{name}`")))
            .map(|i| {
                let more = lines[i + 1..]
                    .iter()
                    .take_while(|l| l.starts_with("  ") && !l.trim().is_empty());
                std::iter::once(lines[i])
                    .chain(more.copied())
                    .collect::<Vec<_>>()
                    .join(" ")
            });
        let says = |l: &str, words: &[&str]| words.iter().any(|w| l.to_lowercase().contains(w));
        let ok = line.as_deref().is_some_and(|l| {
            says(l, &["source", "from", "made by", "written", "compiled"])
                && says(l, &["license", "mit", "cc by", "pddl", "this project's"])
        });
        if !ok {
            missing.push(path.display().to_string());
        }
    }
    assert!(checked >= 15, "only {checked} data files");
    assert!(
        missing.is_empty(),
        "data files without a README line (in their folder's README.md) naming them with their source and license:\n{}",
        missing.join("\n")
    );
}
