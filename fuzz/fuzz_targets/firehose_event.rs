//! Arbitrary bytes as a whole Firehose event: parsing either fails cleanly or the
//! transform answers every record; VADER scores any text without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickerpulse_enrich::enrich::Enricher;
use tickerpulse_enrich::{FirehoseEvent, FirehoseResponse, Transformer};
use tickerpulse_vader::{Analyzer, Mode};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for mode in [Mode::Vader, Mode::Finance] {
            let s = Analyzer::new(mode).polarity_scores(text);
            assert!((-1.0..=1.0).contains(&s.compound));
        }
    }
    if let Ok(event) = serde_json::from_slice::<FirehoseEvent>(data) {
        let n = event.records.len();
        let t = Transformer {
            enricher: Enricher {
                analyzer: Analyzer::new(Mode::Finance),
                watchlist: tickerpulse_core::watchlist::Watchlist::bundled(),
                languages: vec![],
            },
        };
        let (json, _) = t.transform(event).expect("the response is assembled");
        let response: FirehoseResponse = serde_json::from_str(json.get()).expect("the response is a Firehose response");
        assert_eq!(response.records.len(), n);
    }
});
