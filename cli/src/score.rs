//! `tickerpulse score`: one text per line in, one JSON object per line out.

use std::io::{BufRead, Write};
use tickerpulse_vader::{Analyzer, Mode};

/// Scores every line of `input`. A line that is not UTF-8 gets an error object;
/// the others go on. A closed output (`| head`) ends the run quietly.
pub fn score_lines(mode: Mode, mut input: impl BufRead, output: impl Write) -> std::io::Result<()> {
    let analyzer = Analyzer::new(mode);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, output);
    let mut line = Vec::with_capacity(1024);
    let mut number = 0u64;
    let result = (|| -> std::io::Result<()> {
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            number += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            match std::str::from_utf8(&line) {
                Ok(text) => {
                    let sentiment = analyzer.sentiment(text);
                    let s = sentiment.scores;
                    write!(
                        out,
                        "{{\"compound\":{},\"pos\":{},\"neu\":{},\"neg\":{},\"label\":\"{}\"",
                        fmt(s.compound),
                        fmt(s.pos),
                        fmt(s.neu),
                        fmt(s.neg),
                        sentiment.label.as_str()
                    )?;
                    if let Some(p) = sentiment.probabilities {
                        write!(
                            out,
                            ",\"p\":{{\"positive\":{},\"neutral\":{},\"negative\":{}}}",
                            fmt(p.positive),
                            fmt(p.neutral),
                            fmt(p.negative)
                        )?;
                    }
                    writeln!(out, "}}")?;
                }
                Err(e) => writeln!(
                    out,
                    "{{\"line\":{number},\"error\":\"invalid UTF-8 at byte {}\"}}",
                    e.valid_up_to()
                )?,
            }
        }
        out.flush()
    })();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Shortest round-trip form, as Python's `repr(float)` and JSON writers print it.
fn fmt(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| "null".into(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_json_lines_out_and_bad_utf8_is_an_error_line() {
        let input: &[u8] =
            b"The book was good.\n\xff\xfe bad bytes\r\nI hate it!!\n\nthe last line has a table";
        let mut out = Vec::new();
        score_lines(Mode::Vader, input, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0]["compound"], 0.4404);
        assert_eq!(lines[0]["label"], "positive");
        assert_eq!(
            lines[1],
            serde_json::json!({"line": 2, "error": "invalid UTF-8 at byte 0"})
        );
        assert_eq!(lines[2]["label"], "negative");
        assert_eq!(
            lines[3],
            serde_json::json!({"compound": 0.0, "pos": 0.0, "neu": 0.0, "neg": 0.0, "label": "neutral"})
        );
        assert_eq!(lines[4]["label"], "neutral");
        assert!(lines[0].get("p").is_none());
    }

    #[test]
    fn model_mode_adds_the_class_probabilities_and_their_label() {
        let mut out = Vec::new();
        score_lines(
            Mode::Model,
            &b"$AAPL beats and raises, shares jump 8%\n"[..],
            &mut out,
        )
        .unwrap();
        let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let p = &line["p"];
        let sum: f64 = ["positive", "neutral", "negative"]
            .iter()
            .map(|k| p[k].as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-12, "{line}");
        assert_eq!(line["label"], "positive", "{line}");
        // VADER's compound (finance mode's) stays beside them.
        assert!(line["compound"].as_f64().unwrap() > 0.0, "{line}");
    }
}
