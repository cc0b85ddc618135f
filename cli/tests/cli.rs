//! The `tickerpulse` binary as a user runs it: bad input gives a one-line error and
//! a non-zero exit; `local up` / `status` / `down` start and stop real processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh home for one test; earlier runs' homes (of processes that have
/// exited) are removed first.
fn home(name: &str) -> PathBuf {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(|| tickerpulse_local::stack::remove_stale_scratch("tickerpulse-cli"));
    let dir = std::env::temp_dir().join(format!("tickerpulse-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tickerpulse(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickerpulse"))
        .args(args)
        .current_dir(root())
        .env("TICKERPULSE_HOME", home)
        .env("RUST_LOG", "error")
        .output()
        .expect("running tickerpulse")
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_string()
}

#[test]
fn bad_input_gives_one_line_errors() {
    let h = home("bad");
    let e = one_line_error(&tickerpulse(
        &h,
        &[
            "invoke",
            "nosuchfunction",
            "--event",
            "events/firehose.json",
        ],
    ));
    assert!(e.contains("unknown function \"nosuchfunction\""), "{e}");
    let e = one_line_error(&tickerpulse(
        &h,
        &[
            "invoke",
            "transform",
            "--event",
            "events/does-not-exist.json",
        ],
    ));
    assert!(e.contains("does-not-exist.json"), "{e}");
    let bad = h.join("bad.json");
    std::fs::write(&bad, "{\"records\": [").unwrap();
    let e = one_line_error(&tickerpulse(
        &h,
        &["invoke", "transform", "--event", bad.to_str().unwrap()],
    ));
    assert!(e.contains("is not valid JSON"), "{e}");
    let e = one_line_error(&tickerpulse(
        &h,
        &[
            "--template",
            "/nonexistent/template.yaml",
            "local",
            "status",
        ],
    ));
    assert!(e.contains("/nonexistent/template.yaml"), "{e}");
    // A port that is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let e = one_line_error(&tickerpulse(&h, &["local", "up", "--port", &port]));
    assert!(e.contains("already in use"), "{e}");
}

#[test]
fn invoke_prints_the_handler_response_as_json() {
    let h = home("invoke");
    let out = tickerpulse(&h, &["invoke", "api", "--event", "events/api-health.json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["statusCode"], 200);
    let body: serde_json::Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["status"], "ok");
    // transform: one result per record of the sample event.
    let out = tickerpulse(
        &h,
        &["invoke", "transform", "--event", "events/firehose.json"],
    );
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let results: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        [
            "Ok",
            "Ok",
            "Dropped",
            "ProcessingFailed",
            "ProcessingFailed"
        ]
    );
}

#[test]
fn local_up_status_down_leave_no_process_behind() {
    let h = home("lifecycle");
    let out = tickerpulse(&h, &["local", "up", "--port", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(h.join("local.json")).unwrap()).unwrap();
    let pids = [
        file["moto_pid"].as_u64().unwrap() as u32,
        file["proxy_pid"].as_u64().unwrap() as u32,
    ];
    for pid in pids {
        assert!(tickerpulse_local::stack::alive(pid));
    }
    let status = tickerpulse(&h, &["local", "status"]);
    assert!(status.status.success());
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("state machine   tickerpulse-pipeline")
    );
    // ingest against the running stack: Secrets Manager, the fake X API, Firehose.
    let out = tickerpulse(&h, &["invoke", "ingest", "--event", "events/schedule.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["tweets"].as_u64().unwrap() >= 40, "{report}");
    assert_eq!(report["sent"], report["tweets"]);
    // The pipeline over one day of what landed (the first sample tweet's), followed state by state.
    let (sample, _) = tickerpulse_local::stack::sample_tweets().unwrap();
    let day = &sample[0]["created_at"].as_str().unwrap()[..10];
    let (from, to) = (format!("{day}T00:00:00Z"), format!("{day}T23:00:00Z"));
    let run = tickerpulse(
        &h,
        &[
            "pipeline", "run", "--from", &from, "--to", &to, "--name", "cli-day",
        ],
    );
    let text = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(text.contains("-> Aggregate"), "{text}");
    assert!(text.contains("execution cli-day: SUCCEEDED"), "{text}");
    let list = tickerpulse(&h, &["pipeline", "executions"]);
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    let row = listed
        .lines()
        .find(|l| l.starts_with("cli-day"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(row.contains("SUCCEEDED"), "{row}");
    let shown = tickerpulse(&h, &["pipeline", "show", "cli-day"]);
    let shown = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(
        shown.contains("-> Plan") && shown.contains("execution succeeded"),
        "{shown}"
    );
    let e = one_line_error(&tickerpulse(&h, &["pipeline", "executions", "--aws"]));
    assert!(e.contains("--state-machine-arn"), "{e}");
    // A second `up` refuses rather than starting a second emulator.
    let e = one_line_error(&tickerpulse(&h, &["local", "up", "--port", "0"]));
    assert!(e.contains("already running"), "{e}");

    // The proxy dies: `up` starts only the proxy again; moto and its contents stay.
    let kill = |pid: u32| {
        // SAFETY: a plain signal to a child process this test started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        for _ in 0..100 {
            if !tickerpulse_local::stack::alive(pid) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("pid {pid} survived SIGKILL");
    };
    let recorded = |h: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(h.join("local.json")).unwrap()).unwrap()
    };
    kill(pids[1]);
    let out = tickerpulse(&h, &["local", "up", "--port", "0"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && said.contains("the proxy had stopped"),
        "{said}"
    );
    assert_eq!(recorded(&h)["moto_pid"].as_u64(), Some(u64::from(pids[0])));
    let listed = tickerpulse(&h, &["pipeline", "executions"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("cli-day"),
        "moto's contents were kept"
    );
    // moto dies: `up` says plainly that the stack starts again empty, and keeps the proxy.
    let proxy = recorded(&h)["proxy_pid"].as_u64().unwrap() as u32;
    kill(pids[0]);
    let out = tickerpulse(&h, &["local", "up", "--port", "0"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && said.contains("EMPTY"), "{said}");
    assert_eq!(recorded(&h)["proxy_pid"].as_u64(), Some(u64::from(proxy)));
    let listed = tickerpulse(&h, &["pipeline", "executions"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("cli-day"));
    let pids = [
        recorded(&h)["moto_pid"].as_u64().unwrap() as u32,
        recorded(&h)["proxy_pid"].as_u64().unwrap() as u32,
    ];

    let down = tickerpulse(&h, &["local", "down"]);
    assert!(down.status.success());
    for pid in pids {
        assert!(
            !tickerpulse_local::stack::alive(pid),
            "pid {pid} still alive"
        );
    }
    let status = tickerpulse(&h, &["local", "status"]);
    assert_eq!(status.status.code(), Some(3));
}

/// `tickerpulse smoke` as a user runs it after deploying, here on a local stack
/// it starts itself: every step passes and says so.
#[test]
fn smoke_passes_on_a_local_stack() {
    let h = home("smoke");
    let out = tickerpulse(&h, &["smoke"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "outputs", "secret", "firehose", "raw zone", "pipeline", "api",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("PASS") && l[5..].starts_with(step)),
            "no PASS for {step}:\n{stdout}"
        );
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `tickerpulse local env | head -1`.
    use std::os::unix::process::ExitStatusExt;
    let h = home("pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickerpulse"))
        .args(["local", "env"])
        .current_dir(root())
        .env("TICKERPULSE_HOME", &h)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader leaves before the first line (as `head` does after its last):
    // every line meets a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc_sigpipe()),
        "{:?} {stderr}",
        out.status
    );
}

fn libc_sigpipe() -> i32 {
    13
}
