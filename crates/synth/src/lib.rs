//! Synthetic stock tweets: deterministic (a seed gives the same tweets on every
//! machine), realistic enough to load every stage the way real data does:
//! a few hundred tickers with Zipf-skewed popularity, authors with skewed
//! activity, months of timestamps in stream order, words that VADER scores
//! positive, negative and neutral, hashtags, links, and about 10% spam
//! (giveaways, cashtag stuffing, link-only posts, copy-paste campaigns).
//! [`taborda`] turns the real tweets of `data/taborda-2020/` into X API objects
//! the same way.

pub mod prices;
pub mod taborda;

use serde::Serialize;
use tickerpulse_core::watchlist::Watchlist;
use tickerpulse_enrich::enrich::Enricher;
use tickerpulse_vader::{Analyzer, Mode};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// How many watched tickers are talked about (taken from the S&P 500 list).
    pub tickers: usize,
    pub authors: usize,
    /// First tweet's time, seconds since the epoch.
    pub start_unix: i64,
    /// The tweets spread evenly (with jitter) over this many days.
    pub days: u32,
    /// Share of spam tweets, 0.0 to 1.0.
    pub spam_share: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 2020,
            tickers: 300,
            authors: 50_000,
            start_unix: 1_767_225_600, // 2026-01-01T00:00:00Z
            days: 120,
            spam_share: 0.10,
        }
    }
}

/// splitmix64: tiny, fast and good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n.max(1)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// `next_u64() % n` (0 for `n = 0`): the poll loops' property tests draw
    /// with it, and their soak figures name seeds of these draws.
    pub fn modulo(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.modulo(1000) < per_mille
    }
}

/// Property-test scenarios per run: `TICKERPULSE_SOAK_CASES`, else `default`.
pub fn soak_cases(default: u32) -> u32 {
    std::env::var("TICKERPULSE_SOAK_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `make soak`: runs `scenario` over every seed of a named range
/// (`TICKERPULSE_SOAK_FROM`, default 0, and [`soak_cases`]), prints the figure,
/// and fails naming every seed that failed.
pub fn soak_seed_range(default_cases: u32, scenario: impl Fn(u64) -> Result<(), String>) {
    soak_seed_batch(default_cases, |seeds| {
        seeds
            .filter_map(|seed| scenario(seed).err().map(|e| format!("seed {seed}: {e}")))
            .collect()
    })
}

/// [`soak_seed_range`] for scenarios that share a setup (a local stack):
/// `run` gets the whole range and returns one line per failed seed.
pub fn soak_seed_batch(default_cases: u32, run: impl FnOnce(std::ops::Range<u64>) -> Vec<String>) {
    let from: u64 = std::env::var("TICKERPULSE_SOAK_FROM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let n = u64::from(soak_cases(default_cases));
    let started = std::time::Instant::now();
    let failed = run(from..from + n);
    println!(
        "soak: seeds {from}..{} ({n} scenarios) in {:.1} s, {} failed",
        from + n,
        started.elapsed().as_secs_f64(),
        failed.len()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Zipf-distributed ranks `0..n` with exponent `s`, by inverse CDF.
#[derive(Clone, Debug)]
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 1..=n.max(1) {
            total += 1.0 / (k as f64).powf(s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Self { cdf }
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// Ordinary tweets are composed from slots (an opener, a lead, when, an
/// aside and a tail) so that, as in real traffic, texts almost never repeat:
/// 13 x 12 x 10 x 10 x 12 = 187,200 distinct texts a sentiment, before cashtags,
/// hashtags, links and numbers. (A few dozen whole phrases repeat so often
/// at scale that clean's copy-campaign rule, the same text from three
/// accounts in an hour, rightly flags them.)
const OPENERS: &[&str] = &[
    "",
    "",
    "",
    "",
    "Update:",
    "Quick take:",
    "Note:",
    "Desk note:",
    "Midday:",
    "Premarket:",
    "After hours:",
    "Weekly recap:",
    "Just in:",
    "Reminder:",
    "Thoughts:",
    "Chart check:",
];
const WHEN: &[&str] = &[
    "today",
    "this week",
    "into earnings",
    "since the open",
    "after the call",
    "into Friday",
    "this month",
    "on the daily chart",
    "on heavy volume",
    "again",
];
const ASIDES: &[&str] = &[
    "",
    "",
    "",
    "imo",
    "fwiw",
    "as expected",
    "once more",
    "per my notes",
    "in this tape",
    "for now",
    "so far",
    "this time",
];
const POSITIVE_LEADS: &[&str] = &[
    "breaking out",
    "love this setup",
    "beat on revenue",
    "buying more on this dip",
    "upgraded to buy",
    "record sales",
    "strong support held",
    "excellent product launch",
    "great earnings",
    "raised the outlook",
    "momentum building",
    "higher highs all week",
];
const POSITIVE_TAILS: &[&str] = &[
    "strong guidance",
    "bullish into the close",
    "impressive quarter",
    "long term winner",
    "nice momentum",
    "happy shareholder here",
    "looking good for a rally",
    "the future is bright",
    "adding to my position",
    "best chart in the sector",
    "buyers stepping in",
    "great upside from here",
];
const NEGATIVE_LEADS: &[&str] = &[
    "missed estimates badly",
    "getting crushed",
    "downgraded to sell",
    "lawsuit news is bad",
    "lost the 200 day line",
    "disappointing quarter",
    "fraud allegations again",
    "recall and losses",
    "guidance cut",
    "ugly selloff",
    "weak demand",
    "falling margins",
];
const NEGATIVE_TAILS: &[&str] = &[
    "terrible",
    "I'm worried about this one",
    "this could crash hard",
    "sold my position",
    "stay away",
    "what a mess",
    "cutting my losses",
    "bearish into the close",
    "ugly chart",
    "painful to watch",
    "more pain ahead",
    "worst chart in the sector",
];
const NEUTRAL_LEADS: &[&str] = &[
    "reports earnings after the bell",
    "volume above average",
    "options expiring",
    "added to the watchlist",
    "trading sideways near the 50 day average",
    "float updated in the filing",
    "conference call scheduled",
    "sector rotation continues",
    "ex-dividend date coming up",
    "annual meeting scheduled",
    "index rebalance announced",
    "filed its quarterly report",
];
const NEUTRAL_TAILS: &[&str] = &[
    "levels posted below",
    "noting it for later",
    "chart attached",
    "details in the filing",
    "waiting for the numbers",
    "watching the tape",
    "will update after the close",
    "keeping notes",
    "data from the exchange",
    "checking the options chain",
    "via the company release",
    "see the calendar",
];
const HASHTAGS: &[&str] = &[
    "stocks",
    "investing",
    "trading",
    "stockmarket",
    "earnings",
    "wallstreet",
    "options",
    "daytrading",
    "finance",
    "money",
];
const SPAM: &[&str] = &[
    "🚀 GIVEAWAY 🚀 Retweet & follow to WIN $1,000! Join our free Discord for daily picks",
    "FREE signals! Join our Telegram group, 500% gains guaranteed, DM now",
    "Make $5,000 a week from home trading, click the link in bio",
];
const CAMPAIGN: &[&str] = &[
    "This stock is about to explode, our members are already in. Join free",
    "Next 10x play announced tonight, don't miss it",
];

/// One X API v2 tweet object with its author merged in, as ingest sends it.
#[derive(Debug, Serialize)]
pub struct XTweet {
    pub id: String,
    pub text: String,
    pub created_at: String,
    pub author_id: String,
    pub lang: &'static str,
    pub entities: Entities,
    pub public_metrics: Metrics,
    pub author: Author,
}

#[derive(Debug, Serialize)]
pub struct Entities {
    pub cashtags: Vec<Tag>,
    pub hashtags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
pub struct Tag {
    pub tag: String,
}

#[derive(Debug, Serialize)]
pub struct Metrics {
    pub retweet_count: u64,
    pub reply_count: u64,
    pub like_count: u64,
    pub quote_count: u64,
}

#[derive(Debug, Serialize)]
pub struct Author {
    pub id: String,
    pub username: String,
    pub verified: bool,
    pub created_at: String,
    pub public_metrics: Followers,
}

#[derive(Debug, Serialize)]
pub struct Followers {
    pub followers_count: u64,
}

/// What kind of tweet the generator meant to write (the ground truth for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Positive,
    Negative,
    Neutral,
    Spam,
}

/// New spam accounts a day (made three days before the day they post on).
const SPAM_ACCOUNTS_A_DAY: u64 = 20;

/// An author, the same on every tweet they post.
struct Account {
    id: u64,
    username: String,
    verified: bool,
    created_at: i64,
    followers: u64,
}

/// splitmix64's finalizer: a fixed pseudo-random value for an account.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator: an endless stream of tweets in time order.
pub struct Generator {
    config: Config,
    rng: Rng,
    symbols: Vec<String>,
    ticker_rank: Zipf,
    author_rank: Zipf,
    produced: u64,
    /// Seconds between consecutive tweets, chosen so `expected` tweets span `days`.
    step: f64,
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map(|s| s.replace('Z', ".000Z"))
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())
}

impl Generator {
    /// `expected` is how many tweets will be drawn, so they spread over `config.days`.
    pub fn new(config: Config, expected: u64) -> Self {
        let watchlist = Watchlist::bundled();
        let mut symbols: Vec<String> = watchlist.symbols().into_iter().map(String::from).collect();
        // A fixed shuffle, so popularity is not alphabetical.
        let mut rng = Rng::new(config.seed ^ 0x5EED);
        for i in (1..symbols.len()).rev() {
            symbols.swap(i, rng.below(i + 1));
        }
        symbols.truncate(config.tickers.clamp(1, symbols.len().max(1)));
        let step = f64::from(config.days) * 86_400.0 / expected.max(1) as f64;
        Self {
            ticker_rank: Zipf::new(symbols.len(), 1.1),
            author_rank: Zipf::new(config.authors.max(1), 0.9),
            rng: Rng::new(config.seed),
            symbols,
            config,
            produced: 0,
            step,
        }
    }

    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    fn ticker(&mut self) -> String {
        let rank = self.ticker_rank.sample(&mut self.rng);
        self.symbols[rank].clone()
    }

    /// The next tweet and what it was meant to be.
    pub fn next_tweet(&mut self) -> (XTweet, Kind) {
        let n = self.produced;
        self.produced += 1;
        let jitter = self.rng.unit() * self.step;
        let unix = self.config.start_unix + (n as f64 * self.step + jitter) as i64;
        let spam = self.rng.unit() < self.config.spam_share;
        // An account is the same on every tweet (the X API sends one user
        // object an id): ordinary authors are long-standing, with followers;
        // spam comes from its own accounts, a fresh batch every day.
        let author = if spam {
            let day = u64::try_from((unix - self.config.start_unix) / 86_400).unwrap_or(0);
            let account =
                day * SPAM_ACCOUNTS_A_DAY + self.rng.below(SPAM_ACCOUNTS_A_DAY as usize) as u64;
            let born = self.config.start_unix + (day as i64 - 3) * 86_400;
            Account {
                id: 10_000 + self.config.authors as u64 + account,
                username: format!("deals_{account}"),
                verified: false,
                created_at: born,
                followers: mix(account) % 20,
            }
        } else {
            let rank = self.author_rank.sample(&mut self.rng) as u64;
            let u = (mix(rank) >> 11) as f64 / (1u64 << 53) as f64;
            Account {
                id: 10_000 + rank,
                username: format!("trader_{rank}"),
                verified: rank % 97 == 0,
                created_at: 1_300_000_000 + rank as i64 * 1_000,
                // Someone follows every ordinary account (clean flags empty ones).
                followers: 1 + (u.powi(3) * 200_000.0) as u64,
            }
        };
        let mut tickers = vec![self.ticker()];
        let kind;
        let mut text;
        if spam {
            kind = Kind::Spam;
            match self.rng.below(4) {
                0 => {
                    for _ in 0..self.rng.below(6) + 6 {
                        let t = self.ticker();
                        if !tickers.contains(&t) {
                            tickers.push(t);
                        }
                    }
                    text = self.rng.pick(SPAM).to_string();
                }
                1 => text = self.rng.pick(SPAM).to_string(),
                2 => text = String::new(),
                _ => text = self.rng.pick(CAMPAIGN).to_string(),
            }
            let cashtags: Vec<String> = tickers.iter().map(|t| format!("${t}")).collect();
            text = format!(
                "{} {text} https://t.co/{:010x}",
                cashtags.join(" "),
                self.rng.next_u64() & 0xff_ffff_ffff
            )
            .trim()
            .to_string();
        } else {
            if self.rng.unit() < 0.2 {
                let t = self.ticker();
                if !tickers.contains(&t) {
                    tickers.push(t);
                }
            }
            let (k, leads, tails) = match self.rng.below(10) {
                0..=3 => (Kind::Positive, POSITIVE_LEADS, POSITIVE_TAILS),
                4..=6 => (Kind::Negative, NEGATIVE_LEADS, NEGATIVE_TAILS),
                _ => (Kind::Neutral, NEUTRAL_LEADS, NEUTRAL_TAILS),
            };
            kind = k;
            let cashtags: Vec<String> = tickers.iter().map(|t| format!("${t}")).collect();
            text = cashtags.join(" ");
            for part in [
                self.rng.pick(OPENERS),
                self.rng.pick(leads),
                self.rng.pick(WHEN),
            ] {
                if !part.is_empty() {
                    text.push(' ');
                    text.push_str(part);
                }
            }
            text.push(',');
            for part in [self.rng.pick(ASIDES), self.rng.pick(tails)] {
                if !part.is_empty() {
                    text.push(' ');
                    text.push_str(part);
                }
            }
            if self.rng.unit() < 0.3 {
                text.push_str(&format!(" #{}", self.rng.pick(HASHTAGS)));
            }
            if self.rng.unit() < 0.15 {
                text.push_str(&format!(
                    " https://t.co/{:010x}",
                    self.rng.next_u64() & 0xff_ffff_ffff
                ));
            }
            // Numbers make texts distinct, as real tweets are.
            text.push_str(&format!(
                " ({}.{:02})",
                10 + self.rng.below(990),
                self.rng.below(100)
            ));
        }
        let hashtags = text
            .split_whitespace()
            .filter_map(|w| w.strip_prefix('#'))
            .map(|t| Tag { tag: t.to_string() })
            .collect();
        let tweet = XTweet {
            id: format!(
                "{}",
                1_600_000_000_000_000_000u64 + n * 1_000 + self.rng.below(1_000) as u64
            ),
            text,
            created_at: rfc3339(unix),
            author_id: author.id.to_string(),
            lang: "en",
            entities: Entities {
                cashtags: tickers.into_iter().map(|tag| Tag { tag }).collect(),
                hashtags,
            },
            public_metrics: Metrics {
                retweet_count: self.rng.below(20) as u64,
                reply_count: self.rng.below(10) as u64,
                like_count: self.rng.below(100) as u64,
                quote_count: self.rng.below(3) as u64,
            },
            author: Author {
                id: author.id.to_string(),
                username: author.username,
                verified: author.verified,
                created_at: rfc3339(author.created_at),
                public_metrics: Followers {
                    followers_count: author.followers,
                },
            },
        };
        (tweet, kind)
    }
}

/// Enriched JSON lines, as transform writes them to the raw zone.
pub struct EnrichedLines {
    generator: Generator,
    enricher: Enricher,
    remaining: u64,
}

impl EnrichedLines {
    pub fn new(config: Config, count: u64) -> Self {
        Self {
            generator: Generator::new(config, count),
            enricher: Enricher::new(
                Analyzer::new(Mode::Vader),
                Watchlist::bundled(),
                vec!["en".into()],
            ),
            remaining: count,
        }
    }
}

impl Iterator for EnrichedLines {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        while self.remaining > 0 {
            self.remaining -= 1;
            let (tweet, _) = self.generator.next_tweet();
            let Ok(json) = serde_json::to_vec(&tweet) else {
                continue;
            };
            // It reaches Firehose a second after it is made.
            let arrival = tickerpulse_core::partition::parse_rfc3339(&tweet.created_at)
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64 + 1_000)
                .ok();
            if let Ok((enriched, _)) = self.enricher.enrich(&json, arrival) {
                if let Ok(line) = serde_json::to_string(&enriched) {
                    return Some(line);
                }
            }
        }
        None
    }
}

/// A fingerprint of what the default generator writes (its first 1,000
/// enriched lines), so that benchmarks that cache generated input can tell when
/// the generator or the enrichment has changed.
pub fn fingerprint() -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for line in EnrichedLines::new(Config::default(), 1_000) {
        for b in line.bytes().chain([b'\n']) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Where a benchmark caches input made with the default generator:
/// `dir/{stem}-{fingerprint}.{ext}`. Files of the same stem that an older
/// generator wrote are removed (they are large).
pub fn cached_input(dir: &std::path::Path, stem: &str, ext: &str) -> std::path::PathBuf {
    let keep = dir.join(format!("{stem}-{:016x}.{ext}", fingerprint()));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let stale = path != keep
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{stem}-")) && n.ends_with(ext));
        if stale {
            let _ = std::fs::remove_file(&path);
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_tweets_and_realistic_mix() {
        let a: Vec<String> = EnrichedLines::new(Config::default(), 2_000).collect();
        let b: Vec<String> = EnrichedLines::new(Config::default(), 2_000).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2_000);
        let mut generator = Generator::new(Config::default(), 10_000);
        let mut spam = 0;
        let mut top = std::collections::HashMap::<String, usize>::new();
        let mut last = String::new();
        for _ in 0..10_000 {
            let (t, kind) = generator.next_tweet();
            spam += usize::from(kind == Kind::Spam);
            *top.entry(t.entities.cashtags[0].tag.clone()).or_default() += 1;
            assert!(t.created_at >= last, "{} after {last}", t.created_at);
            last = t.created_at;
        }
        assert!((800..1_200).contains(&spam), "{spam} spam tweets");
        let mut counts: Vec<usize> = top.into_values().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        assert!(
            counts[0] > 10 * counts[counts.len() / 2],
            "skewed: {counts:?}"
        );
        assert!(last.starts_with("2026-04"), "spans 120 days: {last}");
    }

    #[test]
    fn an_account_is_the_same_on_every_tweet_and_spam_has_its_own() {
        let mut generator = Generator::new(Config::default(), 20_000);
        let mut accounts = std::collections::HashMap::new();
        for _ in 0..20_000 {
            let (t, kind) = generator.next_tweet();
            assert_eq!(t.author_id, t.author.id);
            let a = &t.author;
            let seen = (
                a.username.clone(),
                a.verified,
                a.created_at.clone(),
                a.public_metrics.followers_count,
                kind == Kind::Spam,
            );
            let first = accounts.entry(t.author_id.clone()).or_insert(seen.clone());
            assert_eq!(*first, seen, "author {}", t.author_id);
            if kind != Kind::Spam {
                assert!(a.public_metrics.followers_count > 0);
            }
        }
        let spam_accounts = accounts.values().filter(|a| a.4).count();
        assert!((100..3_000).contains(&spam_accounts), "{spam_accounts}");
    }
}
