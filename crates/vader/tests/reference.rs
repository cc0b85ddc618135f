//! Every sentence of the VADER paper's human-rated corpora, scored by
//! vaderSentiment 3.3.2 on CPython 3.11 (`vader/reference-3.3.2.tsv` of the data root):
//! all four scores must be equal, to the digit.

use tickerpulse_vader::{Analyzer, Mode};

#[test]
fn all_reference_sentences_score_exactly_as_vader_sentiment_3_3_2() {
    let text = tickerpulse_dataroot::require(tickerpulse_dataroot::VADER_REFERENCE);
    let analyzer = Analyzer::new(Mode::Vader);
    let mut total = 0;
    let mut mismatches = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.splitn(8, '\t').collect();
        assert_eq!(fields.len(), 8, "bad line {line:?}");
        let want: Vec<f64> = fields[3..7].iter().map(|f| f.parse().unwrap()).collect();
        let s = analyzer.polarity_scores(fields[7]);
        let got = [s.compound, s.pos, s.neu, s.neg];
        total += 1;
        if got[..] != want[..] {
            mismatches.push(format!(
                "{}:{} want {want:?} got {got:?}: {}",
                fields[0], fields[1], fields[7]
            ));
        }
    }
    assert_eq!(total, 14_805);
    assert!(
        mismatches.is_empty(),
        "{} of {total} differ, first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
