//! The local stack runs moto through `crates/local/src/moto_server.py`, which answers
//! DynamoDB Query from the partition it names and writes item responses with
//! `json.dumps` (moto 5.2 scans and sorts the table, and walks every attribute
//! through its generic serializer). This test sends the same 655 DynamoDB
//! requests (queries on keys and on an index, paging both ways, projections,
//! filters, counts, binary and nested values, errors) to the launcher and to
//! moto as it ships, and wants the same status, content type and body, byte
//! for byte once parsed, and every patch applied.

use tickerpulse_e2e::root;

#[test]
fn the_moto_launcher_answers_as_moto_does() {
    let python = root().join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .arg(root().join("tests/moto/compare_launcher.py"))
        .arg(root().join("crates/local/src/moto_server.py"))
        .arg(root().join(".venv/bin/moto_server"))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", python.display()));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the launcher and moto differ:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("\"compared\": 655"), "{report}");
}
