//! Arbitrary bytes as a whole Firehose event: the event reader gives serde's
//! records or fails where serde fails, the transform answers every record, and
//! VADER scores any text without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickerpulse_enrich::enrich::Enricher;
use tickerpulse_enrich::{read_records, FirehoseEvent, FirehoseResponse, RecordRef, Transformer};
use tickerpulse_vader::{Analyzer, Mode};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for mode in [Mode::Vader, Mode::Finance] {
            let s = Analyzer::new(mode).polarity_scores(text);
            assert!((-1.0..=1.0).contains(&s.compound));
        }
    }
    let ours = read_records(data);
    let theirs = serde_json::from_slice::<FirehoseEvent>(data);
    assert_eq!(ours.is_ok(), theirs.is_ok(), "the reader and serde disagree on whether this is an event");
    if let (Ok(ours), Ok(event)) = (ours, theirs) {
        let serde_records: Vec<RecordRef> = event.records.iter().map(RecordRef::from).collect();
        assert_eq!(ours, serde_records);
        let n = event.records.len();
        let t = Transformer {
            enricher: Enricher::new(Analyzer::new(Mode::Finance), tickerpulse_core::watchlist::Watchlist::bundled(), vec![]),
        };
        let (json, _) = t.transform_json(data).expect("the response is assembled");
        let response: FirehoseResponse = serde_json::from_str(json.get()).expect("the response is a Firehose response");
        assert_eq!(response.records.len(), n);
    }
});
