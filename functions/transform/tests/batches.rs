//! The transform on whole Firehose batches: one result per record, in order; the
//! response under Lambda's 6 MB; garbage records fail one by one.

use tickerpulse_core::watchlist::Watchlist;
use tickerpulse_fn_transform::{Counts, FirehoseEvent, Function, InputRecord, RecordResult};
use tickerpulse_vader::{Analyzer, Mode};

use base64::Engine;
const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

fn function() -> Function {
    Function::new(
        Analyzer::new(Mode::Finance),
        Watchlist::bundled(),
        vec!["en".into()],
    )
}

fn record(id: &str, data: &[u8]) -> InputRecord {
    InputRecord {
        record_id: id.into(),
        approximate_arrival_timestamp: Some(1_587_000_000_000), // 2020-04-16, after the tweets
        data: B64.encode(data),
    }
}

#[test]
fn the_sample_event_gets_one_result_per_record() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/firehose.json"
    ))
    .unwrap();
    let event: FirehoseEvent = serde_json::from_str(&text).unwrap();
    let ids: Vec<String> = event.records.iter().map(|r| r.record_id.clone()).collect();
    let (response, counts) = function().transform_records(event).unwrap();
    let got: Vec<&str> = response
        .records
        .iter()
        .map(|r| r.record_id.as_str())
        .collect();
    assert_eq!(got, ids);
    let results: Vec<RecordResult> = response.records.iter().map(|r| r.result).collect();
    use RecordResult::*;
    assert_eq!(
        results,
        [Ok, Ok, Dropped, ProcessingFailed, ProcessingFailed]
    );
    assert_eq!(
        counts,
        Counts {
            ok: 2,
            dropped: 1,
            failed: 2,
            over_size_limit: 0
        }
    );
    let first = &response.records[0];
    assert_eq!(first.metadata.partition_keys["year"], "2020");
    assert_eq!(first.metadata.partition_keys["hour"], "01");
    let line = B64.decode(&first.data).unwrap();
    assert!(line.ends_with(b"\n") && !line[..line.len() - 1].contains(&b'\n'));
    let tweet: tickerpulse_core::tweet::EnrichedTweet = serde_json::from_slice(&line).unwrap();
    assert_eq!(tweet.tickers, ["TSLA"]);
    assert_eq!(tweet.sentiment.mode, "finance");
    // Failed records carry their original data back.
    assert_eq!(response.records[4].data, "not base64 at all!");
}

#[test]
fn the_response_stays_under_six_megabytes() {
    // Small tweets grow several-fold when enriched: 20,000 of them (3.5 MB of
    // base64) would make a 16 MB response, so some must come back as
    // ProcessingFailed, with their original, smaller data.
    let tweet = |i: usize| {
        format!(
            r#"{{"id":"{i}","text":"$TSLA great day {i}","created_at":"2020-04-15T01:03:46.000Z","lang":"en"}}"#
        )
    };
    let records: Vec<InputRecord> = (0..20_000)
        .map(|i| record(&i.to_string(), tweet(i).as_bytes()))
        .collect();
    let input_size: usize = records.iter().map(|r| r.data.len()).sum();
    assert!(input_size > 2_000_000);
    let (response, counts) = function()
        .transform_records(FirehoseEvent {
            records,
            ..Default::default()
        })
        .unwrap();
    let size = serde_json::to_vec(&response).unwrap().len();
    assert!(size <= 6 * 1024 * 1024, "{size}");
    assert_eq!(response.records.len(), 20_000);
    assert!(counts.over_size_limit > 0 && counts.ok > 0, "{counts:?}");
}

#[test]
fn an_event_of_garbage_records_never_panics() {
    let inputs: Vec<&[u8]> = vec![
        b"",
        b"null",
        b"{}",
        b"\"text\"",
        b"{\"id\":{},\"text\":1}",
        b"{\"id\":\"1\",\"text\":\"x\",\"created_at\":\"2020-13-45T99:00:00Z\",\"lang\":\"en\"}",
    ];
    let records = inputs
        .iter()
        .enumerate()
        .map(|(i, d)| record(&i.to_string(), d))
        .collect();
    let (response, counts) = function()
        .transform_records(FirehoseEvent {
            records,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(counts.failed, inputs.len());
    assert!(response
        .records
        .iter()
        .all(|r| r.result == RecordResult::ProcessingFailed));
}
