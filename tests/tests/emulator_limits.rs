//! Lambda's payload quotas on the local stack (docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):
//! 6 MB for a synchronous request, 1 MB for an asynchronous one; past them, the
//! 413 `RequestEntityTooLargeException` AWS answers, and the function never runs.

use std::io::{Read, Write};
use tickerpulse_e2e::start_stack;

fn post(port: u16, invocation_type: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /2015-03-31/functions/tickerpulse-plan/invocations HTTP/1.1\r\nHost: localhost\r\nX-Amz-Invocation-Type: {invocation_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    (status, out)
}

fn padded(bytes: usize) -> Vec<u8> {
    format!("{{\"pad\":\"{}\"}}", "x".repeat(bytes)).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_past_lambdas_payload_quotas_are_refused() {
    let stack = start_stack("limits")
        .await
        .expect("starting the local stack");
    let port = stack.port;
    let (sync_big, async_big, async_ok) = tokio::task::spawn_blocking(move || {
        (
            post(port, "RequestResponse", &padded(6_291_456)),
            post(port, "Event", &padded(1_048_576)),
            post(port, "DryRun", &padded(1_000_000)),
        )
    })
    .await
    .unwrap();
    assert_eq!(sync_big.0, 413, "{}", &sync_big.1[..200]);
    assert!(sync_big.1.contains("RequestEntityTooLargeException"));
    assert!(sync_big.1.contains("6291456"));
    assert_eq!(async_big.0, 413);
    assert!(async_big.1.contains("1048576"));
    // Under the synchronous quota, the call goes through (a dry run: nothing runs).
    assert_eq!(async_ok.0, 204, "{}", &async_ok.1[..200]);
    stack.stop().await;
}
