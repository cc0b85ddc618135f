//! The generator's tweets through the real compaction and cleaning, hour by
//! hour, at the density of the 1,000,000-tweet scale run (about 350 tweets an
//! hour): ordinary tweets stay in stage 2, and exactly the generated spam
//! (about 10%) is flagged. A generator whose ordinary texts repeat within an hour
//! would be flagged as a copy campaign here (the scale run found that once).

use std::collections::BTreeMap;

use bytes::Bytes;
use tickerpulse_lake::clean::{clean, SpamRules};
use tickerpulse_lake::compact::Compactor;
use tickerpulse_synth::{Config, EnrichedLines, Generator, Kind};

#[test]
fn generated_hours_keep_ordinary_tweets_and_flag_the_spam() {
    // One day of 8,400 tweets: the hourly density of 1,000,000 over 120 days.
    let config = Config {
        days: 1,
        ..Config::default()
    };
    let generator_config = config.clone();
    let mut hours: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for line in EnrichedLines::new(config, 8_400) {
        let value: serde_json::Value = serde_json::from_str(&line).expect("generated JSON");
        let created = value["created_at"].as_str().expect("created_at");
        let hour = hours.entry(created[..13].to_string()).or_default();
        hour.extend_from_slice(line.as_bytes());
        hour.push(b'\n');
    }
    assert!(hours.len() >= 24, "{} hours", hours.len());
    let (mut rows, mut kept, mut spam) = (0u64, 0u64, 0u64);
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    for (hour, lines) in &hours {
        let mut compactor = Compactor::new(Vec::new()).expect("writer");
        compactor
            .push_object(hour, lines.as_slice())
            .expect("compact");
        let (parquet, stats) = compactor.finish().expect("finish");
        assert_eq!(stats.rejected, 0, "{hour}: {:?}", stats.rejects);
        let (_, _, cleaned) = clean(
            Bytes::from(parquet),
            Vec::new(),
            Vec::new(),
            &SpamRules::default(),
            None,
        )
        .expect("clean");
        rows += cleaned.rows_in;
        kept += cleaned.cleaned;
        spam += cleaned.spam;
        for (rule, n) in cleaned.spam_by_rule {
            *by_rule.entry(rule).or_default() += n;
        }
    }
    // What the generator meant as spam: the same seed gives the same tweets.
    let mut generator = Generator::new(generator_config, 8_400);
    let generated_spam = (0..8_400)
        .filter(|_| generator.next_tweet().1 == Kind::Spam)
        .count() as u64;
    println!(
        "{rows} rows, {kept} kept, {spam} spam (generated {generated_spam}), by rule {by_rule:?}"
    );
    assert_eq!(rows, 8_400);
    assert_eq!(
        kept + spam,
        rows,
        "every generated tweet names a watched ticker"
    );
    // Every spam tweet is flagged and no ordinary one is (a generator whose
    // texts repeat within an hour fails here as copies).
    assert_eq!(spam, generated_spam);
    let campaigns = by_rule.get("copy_campaign").copied().unwrap_or(0);
    assert!(campaigns > 50, "copy campaigns flagged: {campaigns}");
}

/// The class probabilities of the model mode go through compaction and
/// cleaning; a stage 1 file written before they existed cleans with them null.
#[test]
fn probabilities_reach_stage_2_and_older_files_read_with_them_null() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use arrow_array::{Array, RecordBatch};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let lines: Vec<String> = EnrichedLines::new(Config::default(), 40).collect();
    let hour = {
        let v: serde_json::Value = serde_json::from_str(&lines[0]).expect("json");
        v["created_at"].as_str().expect("created_at")[..13].to_string()
    };
    // Every line as the model mode writes it (the same hour for all).
    let mut raw = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut v: serde_json::Value = serde_json::from_str(line).expect("json");
        v["created_at"] = lines[0].split("\"created_at\":\"").nth(1).unwrap()[..24].into();
        let p = (i as f64 + 1.0) / 100.0;
        v["sentiment"]["probabilities"] =
            serde_json::json!({"positive": p, "neutral": 1.0 - 2.0 * p, "negative": p});
        raw.extend_from_slice(v.to_string().as_bytes());
        raw.push(b'\n');
    }
    let mut compactor = Compactor::new(Vec::new()).expect("writer");
    compactor
        .push_object(&hour, raw.as_slice())
        .expect("compact");
    let (stage1, stats) = compactor.finish().expect("finish");
    assert_eq!(stats.rejected, 0, "{:?}", stats.rejects);

    let read = |bytes: Vec<u8>| -> Vec<RecordBatch> {
        ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes))
            .expect("parquet")
            .build()
            .expect("reader")
            .collect::<Result<_, _>>()
            .expect("batches")
    };
    let cleaned_of = |stage1: Vec<u8>| {
        let (cleaned, _, _) = clean(
            Bytes::from(stage1),
            Vec::new(),
            Vec::new(),
            &SpamRules::default(),
            None,
        )
        .expect("clean");
        read(cleaned)
    };
    let positives = |batches: &[RecordBatch]| -> Vec<Option<f64>> {
        batches
            .iter()
            .flat_map(|b| {
                let c = b
                    .column_by_name("sentiment_p_positive")
                    .expect("column")
                    .as_primitive::<Float64Type>()
                    .clone();
                (0..c.len())
                    .map(move |i| (!c.is_null(i)).then(|| c.value(i)))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let now = cleaned_of(stage1.clone());
    let got = positives(&now);
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|p| p.is_some_and(|p| p > 0.0 && p < 0.5)),
        "{got:?}"
    );

    // The same stage 1 file as written before the probabilities existed.
    let old: Vec<RecordBatch> = read(stage1)
        .into_iter()
        .map(|b| {
            let keep: Vec<usize> = (0..b.num_columns())
                .filter(|&i| !b.schema().field(i).name().starts_with("sentiment_p_"))
                .collect();
            b.project(&keep).expect("project")
        })
        .collect();
    let mut old_file = Vec::new();
    {
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut old_file, old[0].schema(), None)
            .expect("writer");
        for b in &old {
            w.write(b).expect("write");
        }
        w.close().expect("close");
    }
    let then = cleaned_of(old_file);
    let got = positives(&then);
    assert_eq!(got.len(), positives(&now).len());
    assert!(got.iter().all(Option::is_none), "{got:?}");
}
