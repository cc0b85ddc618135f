//! The repository stands alone: no source, build or test file reads data from
//! outside it (such as a `shared` folder beside the clone), and every data file
//! the code names is in the repository.

use std::path::{Path, PathBuf};

/// Folders that are not the project's own source (build output, installed tools).
const SKIP: &[&str] = &[
    "target",
    ".git",
    ".venv",
    "node_modules",
    ".aws-sam",
    "corpus",
    "artifacts",
    "output",
    ".schemathesis",
    "__pycache__",
];
/// Files whose text is code or build configuration.
const CODE: &[&str] = &["rs", "py", "toml", "sh", "js", "yaml", "yml", "json"];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIP.contains(&name.as_str()) && !name.starts_with(".tickerpulse") {
                walk(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn code_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    walk(&tickerpulse_e2e::root(), &mut files);
    files.retain(|p| {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        CODE.contains(&ext) || name == "Makefile" || name == "run"
    });
    files
}

#[test]
fn no_code_reads_data_from_outside_the_repository() {
    // Built from parts so that this file does not match itself.
    let needles = [["shared", "/data"].concat(), ["../", "shared"].concat()];
    let files = code_files();
    assert!(files.len() > 50, "found only {} code files", files.len());
    let mut offenders = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle.as_str())) {
                offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "code that reads outside the repository:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_data_folder_keeps_its_license_or_credit_beside_it() {
    let data = tickerpulse_e2e::root().join("data");
    let mut folders = 0;
    for entry in std::fs::read_dir(&data).unwrap().flatten() {
        if !entry.path().is_dir() {
            continue;
        }
        folders += 1;
        let names: Vec<String> = std::fs::read_dir(entry.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n == "README.md"),
            "{} has no README.md saying where its data comes from",
            entry.path().display()
        );
        let readme = std::fs::read_to_string(entry.path().join("README.md")).unwrap();
        assert!(
            names.iter().any(|n| n.starts_with("LICENSE")) || readme.contains("License"),
            "{} has neither a LICENSE file nor a license in its README",
            entry.path().display()
        );
    }
    assert!(folders >= 4, "{folders} data folders");
}
