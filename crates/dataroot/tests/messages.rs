//! What a reader is told when the data root is missing a file or holds a
//! changed one (one test: the root is a process-wide variable).

use tickerpulse_dataroot::{read, DataError, TABORDA, VAR, X_SEARCH_PAGE};

#[test]
fn a_missing_or_changed_file_is_an_error_that_says_what_to_do() {
    let dir = std::env::temp_dir().join(format!("tickerpulse-dataroot-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("x-api")).unwrap();
    std::fs::write(dir.join(X_SEARCH_PAGE), b"{\"data\": []}\n").unwrap();
    // This test binary has this one test: no other thread reads the environment.
    std::env::set_var(VAR, &dir);

    let missing = read(TABORDA).unwrap_err();
    assert!(matches!(missing, DataError::Missing { .. }), "{missing:?}");
    let text = missing.to_string();
    for part in [
        "taborda-2020.csv",
        VAR,
        &dir.display().to_string(),
        "data/README.md",
    ] {
        assert!(text.contains(part), "{text:?} does not name {part:?}");
    }

    let changed = read(X_SEARCH_PAGE).unwrap_err();
    assert!(matches!(changed, DataError::Changed { .. }), "{changed:?}");
    let text = changed.to_string();
    assert!(
        text.contains("search-recent-page.jsonl") && text.contains("data/sources.toml"),
        "{text}"
    );

    // Still refused on a second read: a failed check is not cached as good.
    assert!(read(X_SEARCH_PAGE).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
