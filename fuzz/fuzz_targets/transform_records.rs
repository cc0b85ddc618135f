//! Arbitrary bytes as the data of Firehose records, through the whole transform
//! path: base64, UTF-8, JSON, enrichment, sentiment in all three modes, partition keys and
//! the response. It must never panic, must answer every record once, and must
//! return ProcessingFailed records with their original data.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tickerpulse_enrich::enrich::Enricher;
use tickerpulse_enrich::{FirehoseEvent, FirehoseResponse, InputRecord, RecordResult, Transformer};
use tickerpulse_vader::{Analyzer, Mode};

fn transformers() -> &'static [Transformer; 3] {
    static T: OnceLock<[Transformer; 3]> = OnceLock::new();
    T.get_or_init(|| {
        let make = |mode| Transformer {
            enricher: Enricher::new(Analyzer::new(mode), tickerpulse_core::watchlist::Watchlist::bundled(), vec!["en".into()]),
        };
        [make(Mode::Vader), make(Mode::Finance), make(Mode::Model)]
    })
}

fuzz_target!(|data: &[u8]| {
    let b64 = base64::engine::general_purpose::STANDARD;
    // Split the input into records at 0xFF; the first byte picks raw or base64 data.
    let raw = data.first().is_some_and(|b| b & 1 == 1);
    let records: Vec<InputRecord> = data
        .split(|b| *b == 0xff)
        .enumerate()
        .map(|(i, chunk)| InputRecord {
            record_id: i.to_string(),
            approximate_arrival_timestamp: Some(i as i64),
            data: if raw { String::from_utf8_lossy(chunk).into_owned() } else { b64.encode(chunk) },
        })
        .collect();
    for t in transformers() {
        let event = FirehoseEvent { records: records.clone(), ..Default::default() };
        let (json, counts) = t.transform(event).expect("the response is assembled");
        let response: FirehoseResponse = serde_json::from_str(json.get()).expect("the response is a Firehose response");
        assert_eq!(response.records.len(), records.len());
        assert_eq!(counts.ok + counts.dropped + counts.failed, records.len());
        for (input, output) in records.iter().zip(&response.records) {
            assert_eq!(input.record_id, output.record_id);
            match output.result {
                RecordResult::Ok => {
                    let line = b64.decode(&output.data).expect("Ok data is base64");
                    assert_eq!(line.last(), Some(&b'\n'));
                    let v: serde_json::Value = serde_json::from_slice(&line).expect("Ok data is JSON");
                    let c = v["sentiment"]["compound"].as_f64().expect("compound");
                    assert!((-1.0..=1.0).contains(&c));
                    if let Some(p) = v["sentiment"]["probabilities"].as_object() {
                        let sum: f64 = p.values().map(|x| x.as_f64().expect("a probability")).sum();
                        assert!((sum - 1.0).abs() < 1e-9, "probabilities sum to {sum}");
                    }
                    assert_eq!(output.metadata.partition_keys.len(), 4);
                }
                RecordResult::ProcessingFailed | RecordResult::Dropped => assert_eq!(input.data, output.data),
            }
        }
    }
});
