//! The transform's Lambda binary under a Runtime API on loopback, as Lambda
//! runs it: the payload reaches the handler through the runtime's layers
//! (`main.rs` takes it as bytes), the response goes back to the Runtime API,
//! and a payload that is not an event is reported as an invocation error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tickerpulse_core::watchlist::Watchlist;
use tickerpulse_fn_transform::{FirehoseEvent, Function};
use tickerpulse_vader::{Analyzer, Mode};

/// One HTTP request: method, path, body.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// Reads one request from a keep-alive connection (`None` when it closes).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some(Request { method, path, body })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// A Runtime API that hands out `events` in turn (then holds the next call
/// open), and reports every response or error it is sent.
fn runtime_api(events: Vec<Vec<u8>>) -> (String, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (report, reports) = mpsc::channel();
    let events = std::sync::Arc::new(std::sync::Mutex::new(events.into_iter().enumerate()));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (events, report) = (events.clone(), report.clone());
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                while let Some(request) = read_request(&mut reader) {
                    if request.path.ends_with("/runtime/invocation/next") {
                        let next = events.lock().unwrap().next();
                        let Some((n, event)) = next else {
                            std::thread::sleep(Duration::from_secs(3600));
                            return;
                        };
                        let deadline = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_millis()
                            + 60_000;
                        respond(
                            &mut writer,
                            "200 OK",
                            &[
                                ("lambda-runtime-aws-request-id", format!("request-{n}")),
                                ("lambda-runtime-deadline-ms", deadline.to_string()),
                                (
                                    "lambda-runtime-invoked-function-arn",
                                    "arn:aws:lambda:us-east-1:123456789012:function:transform"
                                        .into(),
                                ),
                                ("content-type", "application/json".into()),
                            ],
                            &event,
                        );
                    } else {
                        respond(&mut writer, "202 Accepted", &[], b"{}");
                        let _ = report.send(request);
                    }
                }
            });
        }
    });
    (address, reports)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_lambda_binary_answers_the_runtime_api_with_the_handlers_response() {
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/firehose.json"
    ))
    .unwrap();
    // The sample again, with its records' keys in another order and escaped
    // slashes in their data, and a payload that is not an event.
    let mut reordered: serde_json::Value = serde_json::from_slice(&sample).unwrap();
    for record in reordered["records"].as_array_mut().unwrap() {
        let data = record["data"].as_str().unwrap().replace('/', "\\/");
        let (id, arrival) = (
            record["recordId"].clone(),
            record["approximateArrivalTimestamp"].clone(),
        );
        *record = serde_json::json!({ "data": "", "recordId": id, "approximateArrivalTimestamp": arrival });
        record["data"] = serde_json::Value::String(data);
    }
    let reordered = serde_json::to_string(&reordered)
        .unwrap()
        .replace("\\\\/", "\\/");
    let (address, reports) = runtime_api(vec![
        sample.clone(),
        reordered.into_bytes(),
        br#"{"Records":[{"eventSource":"aws:s3"}]}"#.to_vec(),
    ]);
    let _child = Killed(
        Command::new(env!("CARGO_BIN_EXE_transform"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "transform")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/transform")
            .env("SENTIMENT_MODE", "finance")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let wait = || reports.recv_timeout(Duration::from_secs(60)).unwrap();

    // What the same handler answers in-process, from serde's reading of the event.
    let function = Function::new(
        Analyzer::new(Mode::Finance),
        Watchlist::bundled(),
        vec!["en".into()],
    );
    let event: FirehoseEvent = serde_json::from_slice(&sample).unwrap();
    let (expected, counts) = function.transform(event).unwrap();
    assert_eq!((counts.ok, counts.dropped, counts.failed), (2, 1, 2));

    for n in 0..2 {
        let response = wait();
        assert_eq!(response.method, "POST");
        assert_eq!(
            response.path,
            format!("/2018-06-01/runtime/invocation/request-{n}/response")
        );
        assert_eq!(
            String::from_utf8(response.body).unwrap(),
            expected.get(),
            "invocation {n}"
        );
    }
    let error = wait();
    assert_eq!(error.path, "/2018-06-01/runtime/invocation/request-2/error");
    let body: serde_json::Value = serde_json::from_slice(&error.body).unwrap();
    assert_eq!(body["errorType"], "TickerPulse.InvalidInput", "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("not a Firehose transformation event"),
        "{body}"
    );
}
