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
