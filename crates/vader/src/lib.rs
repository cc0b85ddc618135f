//! VADER sentiment analysis, exactly as vaderSentiment 3.3.2 (Hutto & Gilbert,
//! ICWSM 2014) computes it, plus a finance mode for market language.
//!
//! `Mode::Vader` reproduces the reference to the digit: its lexicons, its
//! tokenization (Python's `str.split()` and `strip(string.punctuation)`), every rule
//! and quirk (the "but" rule through `list.index()`, the operator precedence of the
//! three-words-back negation check, the "no" rule of 3.3), and Python's rounding.
//! The lexicons are static hash tables laid out at build time, so an [`Analyzer`]
//! costs nothing to build; scoring reuses per-thread buffers instead of allocating.
//!
//! `Mode::Finance` adds `data/finance_lexicon.tsv` (market slang, documented there),
//! phrases of several words, and treats cashtags (`$TSLA`) as names: no valence,
//! and not shouting.

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;

mod hash;
pub mod model;
pub mod py;
mod rule_words;
#[cfg(test)]
mod words;

/// What the scorer knows of a lower-cased word, from one lookup in the word
/// table that build.rs lays out: its valence in the reference lexicon and in
/// the finance extension, the finance phrases it starts (index * 256 + count
/// in `FINANCE_PHRASES`), its booster direction (1, -1 or 0), and whether it
/// is one of the reference's negations, and its number if it is one of the
/// words the rules look for (`rule_words`, 0 for any other word).
#[derive(Debug, Clone, Copy)]
struct WordInfo {
    lex: Option<f64>,
    finance: Option<f64>,
    phrases: Option<u32>,
    booster: i8,
    negated: bool,
    rule: u8,
}

impl WordInfo {
    const UNKNOWN: WordInfo = WordInfo {
        lex: None,
        finance: None,
        phrases: None,
        booster: 0,
        negated: false,
        rule: 0,
    };
}

#[allow(clippy::unreadable_literal, clippy::approx_constant)]
mod tables {
    include!(concat!(env!("OUT_DIR"), "/tables.rs"));
}

/// The scorer's version, stored with every score so that results can be traced.
pub const VERSION: &str = concat!(
    "vaderSentiment-3.3.2/tickerpulse-vader-",
    env!("CARGO_PKG_VERSION")
);

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;

/// Which lexicon to score with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// vaderSentiment 3.3.2, unchanged.
    Vader,
    /// VADER with the finance lexicon extension.
    #[default]
    Finance,
    /// The trained classifier (`model.rs`) over n-grams and finance mode's scores.
    Model,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Vader => "vader",
            Mode::Finance => "finance",
            Mode::Model => "model",
        }
    }

    /// The lexicon the VADER scores come from: finance for the model.
    fn lexicon(self) -> Mode {
        match self {
            Mode::Model => Mode::Finance,
            other => other,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sentiment mode {0:?} (want vader, finance or model)")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vader" => Ok(Mode::Vader),
            "finance" => Ok(Mode::Finance),
            "model" => Ok(Mode::Model),
            _ => Err(UnknownMode(s.to_string())),
        }
    }
}

/// `polarity_scores` of the reference: compound rounded to 4 decimals, the
/// proportions to 3.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    pub compound: f64,
    pub pos: f64,
    pub neu: f64,
    pub neg: f64,
}

/// What [`Analyzer::sentiment`] finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sentiment {
    pub scores: Scores,
    pub probabilities: Option<model::Probabilities>,
    pub label: Label,
}

/// The usual thresholds on the compound score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Positive,
    Neutral,
    Negative,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Neutral => "neutral",
            Label::Negative => "negative",
        }
    }
}

impl Scores {
    /// `positive` if compound >= 0.05, `negative` if <= -0.05, else `neutral`.
    pub fn label(&self) -> Label {
        if self.compound >= 0.05 {
            Label::Positive
        } else if self.compound <= -0.05 {
            Label::Negative
        } else {
            Label::Neutral
        }
    }
}

/// One of the open-addressing tables build.rs lays out: keys, their values,
/// the slots (an index into both, `u16::MAX` for empty) and the filter of the
/// keys' top hash bits.
struct Table<V: 'static> {
    keys: &'static [&'static str],
    values: &'static [V],
    slots: &'static [u16],
    filter: &'static [u64; hash::FILTER_WORDS],
}

impl<V: Copy> Table<V> {
    /// A word's value.
    #[inline]
    fn get(&self, word: &str) -> Option<V> {
        let hash = hash::word_hash(word.as_bytes());
        let bit = hash::filter_bit(hash);
        if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut pos = (hash as usize) & mask;
        loop {
            let slot = self.slots[pos];
            if slot == u16::MAX {
                return None;
            }
            if self.keys[slot as usize] == word {
                return Some(self.values[slot as usize]);
            }
            pos = (pos + 1) & mask;
        }
    }
}

/// Every word the scorer asks about, with all it needs to know of it.
static WORDS: Table<WordInfo> = Table {
    keys: &tables::WORDS_KEYS,
    values: &tables::WORDS_VALUES,
    slots: &tables::WORDS_SLOTS,
    filter: &tables::WORDS_FILTER,
};

/// The reference lexicon, and the finance extension's single words: the
/// word table holds the same, and a test checks it against these.
static LEXICON: Table<f64> = Table {
    keys: &tables::LEXICON_KEYS,
    values: &tables::LEXICON_VALUES,
    slots: &tables::LEXICON_SLOTS,
    filter: &tables::LEXICON_FILTER,
};
static FINANCE: Table<f64> = Table {
    keys: &tables::FINANCE_KEYS,
    values: &tables::FINANCE_VALUES,
    slots: &tables::FINANCE_SLOTS,
    filter: &tables::FINANCE_FILTER,
};

/// Everything the scorer knows of a lower-cased word, in one lookup.
#[inline]
fn word_info(word: &str) -> Option<WordInfo> {
    WORDS.get(word)
}

/// Appends an ASCII token lower-cased to `lower`.
#[inline]
fn lower_ascii(lower: &mut String, token: &str) {
    let start = lower.len();
    lower.push_str(token);
    lower[start..].make_ascii_lowercase();
}

/// The reference lexicon's valence of a lower-cased word.
pub fn lexicon_valence(word: &str) -> Option<f64> {
    LEXICON.get(word)
}

/// The finance extension's valence of a lower-cased word (phrases excluded).
pub fn finance_valence(word: &str) -> Option<f64> {
    FINANCE.get(word)
}

/// The reference lexicon's words (for generators and tests).
pub fn lexicon_words() -> &'static [&'static str] {
    &tables::LEXICON_KEYS
}

/// The characters the emoji lexicon replaces with a description.
pub fn emoji_chars() -> impl Iterator<Item = char> {
    tables::EMOJI_CHARS
        .iter()
        .filter_map(|c| char::from_u32(*c))
}

/// Number of entries: (reference lexicon, finance words, finance phrases).
pub fn lexicon_sizes() -> (usize, usize, usize) {
    (
        tables::LEXICON_KEYS.len(),
        tables::FINANCE_KEYS.len(),
        tables::FINANCE_PHRASES.len(),
    )
}

fn emoji_description(c: char) -> Option<&'static str> {
    if (c as u32) < 0xa9 {
        return None;
    }
    tables::EMOJI_CHARS
        .binary_search(&(c as u32))
        .ok()
        .map(|i| tables::EMOJI_DESCRIPTIONS[i])
}

/// Emoji to their descriptions as the reference does it, character by
/// character (a space before a description unless the character before was a
/// space), into `buf`; false, and `buf` untouched, when `text` has none. Only
/// characters of two bytes or more are decoded and looked up (no emoji is
/// ASCII), and the text between emoji is copied in runs.
fn replace_emoji(text: &str, buf: &mut String) -> bool {
    let bytes = text.as_bytes();
    let (mut i, mut run, mut any) = (0, 0, false);
    // Only characters of two bytes or more are looked at; the scan for the
    // next one is a tight loop. A description gets a space before it unless
    // the character before was a space (or there was none).
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|b| !b.is_ascii()))
    {
        i += offset;
        let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        let end = i + c.len_utf8();
        if let Some(description) = emoji_description(c) {
            if !any {
                buf.clear();
                any = true;
            }
            buf.push_str(text.get(run..i).unwrap_or_default());
            if i > 0 && bytes[i - 1] != b' ' {
                buf.push(' ');
            }
            buf.push_str(description);
            run = end;
        }
        i = end;
    }
    if any {
        buf.push_str(text.get(run..).unwrap_or_default());
    }
    any
}

/// The boosters of two words ("just enough", "kind of", "sort of").
fn booster_bigram(a: u8, b: u8) -> Option<f64> {
    use rule_words::{ENOUGH, JUST, KIND, OF, SORT};
    match (a, b) {
        (JUST, ENOUGH) | (KIND, OF) | (SORT, OF) => Some(B_DECR),
        _ => None,
    }
}

/// SPECIAL_CASES of the reference, as sequences of rule words ("badass", a
/// single word, can never match a sequence and is left out).
fn special_case(words: &[u8]) -> Option<f64> {
    use rule_words::{
        ASS, BAD, BEATING, BOMB, BUS, DEATH, DIE, FOR, HEART, KISS, OF, RIGHT, SHIT, STOP, THE, TO,
        YEAH,
    };
    match words {
        [THE, SHIT] | [THE, BOMB] | [TO, DIE, FOR] => Some(3.0),
        [BAD, ASS] => Some(1.5),
        [BUS, STOP] => Some(0.0),
        [YEAH, RIGHT] => Some(-2.0),
        [KISS, OF, DEATH] => Some(-1.5),
        [BEATING, HEART] => Some(3.5),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
struct Token {
    /// Byte range of its lower-cased form: in `Scratch::lower` when
    /// `in_lower`, else in the text (a token that is lower-case already).
    word_start: u32,
    word_end: u32,
    in_lower: bool,
    /// Lexicon valence of the lower-cased form.
    lex: Option<f64>,
    /// `str.isupper()` of the token.
    upper: bool,
    /// A cashtag such as `$TSLA` (finance mode only).
    cashtag: bool,
    /// `BOOSTER_DICT` value (0 for none) and `negated()` of the lower-cased
    /// word, looked up once.
    booster: f64,
    negated: bool,
    /// Its number among the words the rules look for (`rule_words`), or 0.
    rule: u8,
    /// Finance mode: the phrases that start with this word (see
    /// [`WordInfo`]; 0 for none, as no word starts 0 phrases).
    phrases: u32,
    /// Finance mode: the valence of the raw token as market notation (a signed
    /// percentage or an option strike; 0 for none), and whether it is a percentage.
    notation: f64,
    percent: bool,
}

/// Buffers reused from call to call.
#[derive(Default)]
struct Scratch {
    text: String,
    lower: String,
    tokens: Vec<Token>,
    sentiments: Vec<f64>,
    model: model::ModelScratch,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A sentiment analyzer. Building one is free: the lexicons are static.
#[derive(Debug, Clone, Copy, Default)]
pub struct Analyzer {
    mode: Mode,
}

struct Words<'a> {
    tokens: &'a [Token],
}

impl Words<'_> {
    /// The token's number among the rule words, 0 for other words.
    #[inline]
    fn r(&self, i: usize) -> u8 {
        self.tokens[i].rule
    }
    #[inline]
    fn len(&self) -> usize {
        self.tokens.len()
    }
    #[inline]
    fn in_lexicon(&self, i: usize) -> bool {
        self.tokens[i].lex.is_some()
    }
}

impl Analyzer {
    pub fn new(mode: Mode) -> Self {
        Self { mode }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The text's sentiment: VADER's scores (finance mode's for the model),
    /// and in model mode the class probabilities, whose likeliest class is
    /// the label (elsewhere the label comes from the compound score).
    pub fn sentiment(&self, text: &str) -> Sentiment {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.sentiment_with(text, &mut scratch),
            Err(_) => self.sentiment_with(text, &mut Scratch::default()),
        })
    }

    fn sentiment_with(&self, text: &str, scratch: &mut Scratch) -> Sentiment {
        let scores = self.score(text, scratch);
        if self.mode != Mode::Model {
            return Sentiment {
                scores,
                probabilities: None,
                label: scores.label(),
            };
        }
        let p = model::probabilities(text, &scores, &mut scratch.model);
        // The first likeliest in the order (negative, neutral, positive), as numpy's argmax.
        let label = if p.negative >= p.neutral && p.negative >= p.positive {
            Label::Negative
        } else if p.neutral >= p.positive {
            Label::Neutral
        } else {
            Label::Positive
        };
        Sentiment {
            scores,
            probabilities: Some(p),
            label,
        }
    }

    /// Scores a text as `SentimentIntensityAnalyzer().polarity_scores(text)` does.
    pub fn polarity_scores(&self, text: &str) -> Scores {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.score(text, &mut scratch),
            Err(_) => self.score(text, &mut Scratch::default()),
        })
    }

    fn score(&self, text: &str, scratch: &mut Scratch) -> Scores {
        let mode = self.mode.lexicon();
        let Scratch {
            text: buf,
            lower,
            tokens,
            sentiments,
            ..
        } = scratch;

        let text: &str = if replace_emoji(text, buf) {
            buf.as_str()
        } else {
            text
        };
        let text = py::strip(text);

        // Tokens: str.split(), punctuation stripped unless that leaves 2 chars or fewer.
        tokens.clear();
        lower.clear();
        let mut words = py::split(text);
        while let Some((raw, classes)) = words.next_classified() {
            use py::class::{APOSTROPHE, DIGIT_OR_PERCENT, LOWER, NOT_ASCII, PUNCTUATION, UPPER};
            let ascii = classes & NOT_ASCII == 0;
            let stripped = if classes & PUNCTUATION != 0 {
                py::strip_punctuation(raw)
            } else {
                raw
            };
            let short = if ascii {
                stripped.len() <= 2
            } else {
                stripped.chars().nth(2).is_none()
            };
            let token = if short { raw } else { stripped };
            // A token without capitals is its own lower-cased form: it is
            // looked up where it is in the text, not copied.
            let in_lower = !ascii || classes & UPPER != 0;
            let lower_start = lower.len();
            if !ascii {
                if token.contains('\u{3a3}') {
                    // Final sigma depends on context: let the standard library decide, as Python does.
                    lower.push_str(&token.to_lowercase());
                } else {
                    for c in token.chars() {
                        lower.extend(c.to_lowercase());
                    }
                }
            } else if in_lower {
                lower_ascii(lower, token);
            }
            let (word, word_start) = if in_lower {
                (&lower[lower_start..], lower_start)
            } else {
                // The token is a slice of the text.
                (token, token.as_ptr() as usize - text.as_ptr() as usize)
            };
            let info = word_info(word).unwrap_or(WordInfo::UNKNOWN);
            // Stripping takes only punctuation off: an ASCII token's letters
            // are the raw word's, and it has an apostrophe only if the raw word does.
            let upper = if ascii {
                classes & (UPPER | LOWER) == UPPER
            } else {
                py::is_upper(token)
            };
            let apostrophe =
                (!ascii || classes & APOSTROPHE != 0) && word.as_bytes().contains(&b'\'');
            let cashtag = mode == Mode::Finance
                && raw.starts_with('$')
                && stripped.chars().next().is_some_and(char::is_alphabetic);
            // Finance mode: the raw token as market notation, without brackets
            // (every notation has a digit or a '%').
            let notation = if mode == Mode::Finance && classes & DIGIT_OR_PERCENT != 0 {
                notation_core(raw)
            } else {
                None
            };
            let lex = match (cashtag, mode) {
                (true, _) => None,
                (false, Mode::Vader) => info.lex,
                // A finance valence of 0 takes the word out of the lexicon.
                (false, Mode::Finance | Mode::Model) => match info.finance {
                    Some(0.0) => None,
                    Some(v) => Some(v),
                    None => info.lex,
                },
            };
            tokens.push(Token {
                word_start: word_start as u32,
                word_end: (word_start + word.len()) as u32,
                in_lower,
                lex,
                upper: !cashtag && upper,
                cashtag,
                booster: match info.booster {
                    1 => B_INCR,
                    -1 => B_DECR,
                    _ => 0.0,
                },
                // Most words have no apostrophe: a byte scan rules "n't" out
                // cheaper than a substring search.
                negated: info.negated || (apostrophe && word.contains("n't")),
                rule: info.rule,
                phrases: match (mode, info.phrases) {
                    (Mode::Finance, Some(p)) => p,
                    _ => 0,
                },
                notation: notation
                    .and_then(|c| signed_percent(c).or_else(|| option_strike(c)))
                    .unwrap_or(0.0),
                percent: notation.is_some_and(is_percent),
            });
        }
        if mode == Mode::Finance {
            apply_phrases(text, lower, tokens);
            apply_market_notation(tokens);
        }

        let words = Words { tokens };
        let n = words.len();
        let caps = tokens.iter().filter(|t| t.upper).count();
        let is_cap_diff = caps > 0 && caps < n;

        sentiments.clear();
        for (i, token) in tokens.iter().enumerate() {
            if token.booster != 0.0
                || (i + 1 < n && token.rule == rule_words::KIND && words.r(i + 1) == rule_words::OF)
            {
                sentiments.push(0.0);
                continue;
            }
            sentiments.push(sentiment_valence(&words, i, is_cap_diff));
        }
        but_check(&words, sentiments);
        score_valence(sentiments, text)
    }
}

/// Finance phrases ("short squeeze"): the first word carries the phrase's
/// valence, the others none.
fn apply_phrases(text: &str, lower: &str, tokens: &mut [Token]) {
    let word = |t: &Token| {
        let range = t.word_start as usize..t.word_end as usize;
        if t.in_lower {
            &lower[range]
        } else {
            &text[range]
        }
    };
    let phrases = &tables::FINANCE_PHRASES;
    for i in 0..tokens.len() {
        let packed = tokens[i].phrases;
        if packed == 0 {
            continue;
        }
        let (from, count) = ((packed / 256) as usize, (packed % 256) as usize);
        for (parts, valence) in &phrases[from..from + count] {
            let end = i + parts.len();
            if end <= tokens.len()
                && tokens[i..end]
                    .iter()
                    .zip(parts.iter())
                    .all(|(t, p)| word(t) == *p)
            {
                tokens[i].lex = Some(*valence);
                for t in &mut tokens[i + 1..end] {
                    t.lex = None;
                }
            }
        }
    }
}

/// Valence of a price move or a trader's stance written in market notation.
const MOVE_VALENCE: f64 = 1.5;
const STANCE_VALENCE: f64 = 1.8;

/// `+5.2%` / `-3%`: the sign of a price move.
fn signed_percent(word: &str) -> Option<f64> {
    let sign = match word.as_bytes().first()? {
        b'+' => 1.0,
        b'-' => -1.0,
        _ => return None,
    };
    let number = word[1..].strip_suffix('%')?;
    (!number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().any(|b| b.is_ascii_digit()))
    .then_some(sign * MOVE_VALENCE)
}

/// A raw token without the brackets and sentence punctuation around it.
fn notation_core(raw: &str) -> Option<&str> {
    let core = raw
        .trim_start_matches(['(', '['])
        .trim_end_matches([')', ']', '.', ',', '!', '?', ';', ':']);
    (!core.is_empty()).then_some(core)
}

/// `5%` / `5.2%`
fn is_percent(word: &str) -> bool {
    word.strip_suffix('%')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// Option strikes: `250p` (a put), `300c` / `300.5c` (a call).
fn option_strike(word: &str) -> Option<f64> {
    let side = *word.as_bytes().last()?;
    if side != b'c' && side != b'p' {
        return None;
    }
    let number = &word[..word.len() - 1];
    if number.is_empty()
        || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || !number.as_bytes()[0].is_ascii_digit()
    {
        return None;
    }
    Some(if side == b'c' {
        STANCE_VALENCE
    } else {
        -STANCE_VALENCE
    })
}

/// Finance mode's reading of market notation, which VADER's lexicon cannot see:
/// signed percentages and "up/down N%" (the direction of a move); a position or
/// an option side next to a cashtag ("long $AAPL", "short $TSLA", "$SPY puts");
/// option strikes ("250p", "300c").
fn apply_market_notation(tokens: &mut [Token]) {
    use rule_words::{CALLS, DOWN, HOW, LONG, PUTS, SHORT, UP};
    let n = tokens.len();
    for i in 0..n {
        let rule = tokens[i].rule;
        let valence = if tokens[i].notation != 0.0 {
            Some(tokens[i].notation)
        } else if rule == 0 {
            None
        } else {
            let next_is_percent = tokens.get(i + 1).is_some_and(|t| t.percent);
            let near_cashtag =
                tokens.get(i + 1).is_some_and(|t| t.cashtag) || (i > 0 && tokens[i - 1].cashtag);
            let after_how = i > 0 && tokens[i - 1].rule == HOW;
            match rule {
                UP if next_is_percent => Some(MOVE_VALENCE),
                DOWN if next_is_percent => Some(-MOVE_VALENCE),
                LONG if near_cashtag && !after_how => Some(STANCE_VALENCE),
                SHORT if near_cashtag => Some(-STANCE_VALENCE),
                CALLS if near_cashtag => Some(STANCE_VALENCE),
                PUTS if near_cashtag => Some(-STANCE_VALENCE),
                _ => None,
            }
        };
        if valence.is_some() {
            tokens[i].lex = valence;
        }
    }
}

fn scalar_inc_dec(words: &Words, j: usize, valence: f64, is_cap_diff: bool) -> f64 {
    let mut scalar = words.tokens[j].booster;
    if scalar == 0.0 {
        return 0.0;
    }
    if valence < 0.0 {
        scalar *= -1.0;
    }
    if words.tokens[j].upper && is_cap_diff {
        if valence > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

fn sentiment_valence(words: &Words, i: usize, is_cap_diff: bool) -> f64 {
    let Some(lexicon) = words.tokens[i].lex else {
        return 0.0;
    };
    use rule_words::{NO, NOR, OR};
    let n = words.len();
    let r = |k: usize| words.r(k);
    let mut valence = lexicon;
    if r(i) == NO && i != n - 1 && words.in_lexicon(i + 1) {
        valence = 0.0;
    }
    if (i > 0 && r(i - 1) == NO)
        || (i > 1 && r(i - 2) == NO)
        || (i > 2 && r(i - 3) == NO && matches!(r(i - 1), OR | NOR))
    {
        valence = lexicon * N_SCALAR;
    }
    if words.tokens[i].upper && is_cap_diff {
        if valence > 0.0 {
            valence += C_INCR;
        } else {
            valence -= C_INCR;
        }
    }
    for start_i in 0..3 {
        if i > start_i && !words.in_lexicon(i - (start_i + 1)) {
            let mut s = scalar_inc_dec(words, i - (start_i + 1), valence, is_cap_diff);
            if start_i == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start_i == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            valence = negation_check(words, valence, start_i, i);
            if start_i == 2 {
                valence = special_idioms_check(words, valence, i);
            }
        }
    }
    least_check(words, valence, i)
}

fn negation_check(words: &Words, valence: f64, start_i: usize, i: usize) -> f64 {
    use rule_words::{DOUBT, NEVER, SO, THIS, WITHOUT};
    let r = |k: usize| words.r(k);
    match start_i {
        0 if words.tokens[i - 1].negated => valence * N_SCALAR,
        1 => {
            if r(i - 2) == NEVER && matches!(r(i - 1), SO | THIS) {
                valence * 1.25
            } else if r(i - 2) == WITHOUT && r(i - 1) == DOUBT {
                valence
            } else if words.tokens[i - 2].negated {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        2 => {
            // `a and b or c` in the reference: (a and b) or c.
            if (r(i - 3) == NEVER && matches!(r(i - 2), SO | THIS)) || matches!(r(i - 1), SO | THIS)
            {
                valence * 1.25
            } else if r(i - 3) == WITHOUT && (r(i - 2) == DOUBT || r(i - 1) == DOUBT) {
                valence
            } else if words.tokens[i - 3].negated {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        _ => valence,
    }
}

fn special_idioms_check(words: &Words, mut valence: f64, i: usize) -> f64 {
    let r = |k: usize| words.r(k);
    let n = words.len();
    let sequences: [&[u8]; 5] = [
        &[r(i - 1), r(i)],
        &[r(i - 2), r(i - 1), r(i)],
        &[r(i - 2), r(i - 1)],
        &[r(i - 3), r(i - 2), r(i - 1)],
        &[r(i - 3), r(i - 2)],
    ];
    if let Some(v) = sequences.iter().find_map(|s| special_case(s)) {
        valence = v;
    }
    if n - 1 > i {
        if let Some(v) = special_case(&[r(i), r(i + 1)]) {
            valence = v;
        }
    }
    if n - 1 > i + 1 {
        if let Some(v) = special_case(&[r(i), r(i + 1), r(i + 2)]) {
            valence = v;
        }
    }
    // Two-word boosters ("kind of"); three-word n-grams never match one.
    for (a, b) in [(r(i - 3), r(i - 2)), (r(i - 2), r(i - 1))] {
        if let Some(v) = booster_bigram(a, b) {
            valence += v;
        }
    }
    valence
}

fn least_check(words: &Words, valence: f64, i: usize) -> f64 {
    use rule_words::{AT, LEAST, VERY};
    let r = |k: usize| words.r(k);
    if i > 1 && !words.in_lexicon(i - 1) && r(i - 1) == LEAST {
        if r(i - 2) != AT && r(i - 2) != VERY {
            return valence * N_SCALAR;
        }
        valence
    } else if i > 0 && !words.in_lexicon(i - 1) && r(i - 1) == LEAST {
        valence * N_SCALAR
    } else {
        valence
    }
}

/// The reference scales by the position of the *first* equal value
/// (`sentiments.index(sentiment)`) while it rewrites the list in place; this
/// reproduces that exactly.
fn but_check(words: &Words, sentiments: &mut [f64]) {
    let Some(bi) = words.tokens.iter().position(|t| t.rule == rule_words::BUT) else {
        return;
    };
    for k in 0..sentiments.len() {
        let value = sentiments[k];
        let Some(si) = sentiments.iter().position(|s| *s == value) else {
            continue;
        };
        if si < bi {
            sentiments[si] = value * 0.5;
        } else if si > bi {
            sentiments[si] = value * 1.5;
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let (mut ep, mut qm) = (0usize, 0usize);
    for b in text.bytes() {
        ep += usize::from(b == b'!');
        qm += usize::from(b == b'?');
    }
    let ep_amplifier = ep.min(4) as f64 * 0.292;
    let qm_amplifier = if qm > 1 {
        if qm <= 3 {
            qm as f64 * 0.18
        } else {
            0.96
        }
    } else {
        0.0
    };
    ep_amplifier + qm_amplifier
}

fn normalize(score: f64) -> f64 {
    let norm = score / (score * score + 15.0).sqrt();
    norm.clamp(-1.0, 1.0)
}

fn score_valence(sentiments: &[f64], text: &str) -> Scores {
    if sentiments.is_empty() {
        return Scores::default();
    }
    let mut sum_s = 0.0;
    for s in sentiments {
        sum_s += *s;
    }
    // Punctuation only amplifies sentiment: a text without any (the sums
    // below all 0) needs no scan for it.
    let any_sentiment = sentiments.iter().any(|s| *s != 0.0);
    let punct = if any_sentiment {
        punctuation_emphasis(text)
    } else {
        0.0
    };
    if sum_s > 0.0 {
        sum_s += punct;
    } else if sum_s < 0.0 {
        sum_s -= punct;
    }
    let compound = normalize(sum_s);
    let (mut pos_sum, mut neg_sum, mut neu_count) = (0.0f64, 0.0f64, 0usize);
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0;
        }
        if s < 0.0 {
            neg_sum += s - 1.0;
        }
        if s == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += punct;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= punct;
    }
    let total = pos_sum + neg_sum.abs() + neu_count as f64;
    Scores {
        compound: py::round(compound, 4),
        pos: py::round((pos_sum / total).abs(), 3),
        neu: py::round((neu_count as f64 / total).abs(), 3),
        neg: py::round((neg_sum / total).abs(), 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vader(text: &str) -> (f64, f64, f64, f64) {
        let s = Analyzer::new(Mode::Vader).polarity_scores(text);
        (s.compound, s.pos, s.neu, s.neg)
    }

    #[test]
    fn reference_examples() {
        // The examples of vaderSentiment.py's __main__, with the reference's output.
        assert_eq!(
            vader("VADER is smart, handsome, and funny."),
            (0.8316, 0.746, 0.254, 0.0)
        );
        assert_eq!(
            vader("VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!"),
            (0.9469, 0.706, 0.294, 0.0)
        );
        assert_eq!(
            vader("VADER is not smart, handsome, nor funny."),
            (-0.7424, 0.0, 0.354, 0.646)
        );
        assert_eq!(
            vader("At least it isn't a horrible book."),
            (0.431, 0.322, 0.678, 0.0)
        );
        assert_eq!(
            vader("Make sure you :) or :D today!"),
            (0.8633, 0.706, 0.294, 0.0)
        );
        assert_eq!(
            vader("Catch utf-8 emoji such as 💘 and 💋 and 😁"),
            (0.875, 0.417, 0.583, 0.0)
        );
        assert_eq!(vader("Not bad at all"), (0.431, 0.487, 0.513, 0.0));
        assert_eq!(vader(""), (0.0, 0.0, 0.0, 0.0));
        assert_eq!(vader("   \u{3000} "), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn finance_notation_never_slices_inside_a_character() {
        let a = Analyzer::new(Mode::Finance);
        for t in [
            "video…",
            "…p",
            "é%",
            "+…%",
            "-%",
            "+.%",
            "$é calls",
            "long $",
            "short $ü",
            "up é%",
        ] {
            let _ = a.polarity_scores(t);
        }
        assert!(a.polarity_scores("$SPY 250p").compound < 0.0);
        assert!(a.polarity_scores("long $AAPL").compound > 0.0);
        assert!(a.polarity_scores("$TSLA +12.5% today").compound > 0.0);
        assert!(a.polarity_scores("$NFLX down 7% after hours").compound < 0.0);
        assert_eq!(a.polarity_scores("how long $AAPL").compound, 0.0);
    }

    /// The word table knows each booster and negation of the reference's
    /// lists, and the valences of both lexicons, for every word.
    #[test]
    fn the_word_table_holds_the_lists_and_lexicons() {
        let info = word_info;
        for w in words::BOOSTER_INCR {
            assert_eq!(info(w).map(|i| i.booster), Some(1), "{w}");
        }
        for w in words::BOOSTER_DECR {
            assert_eq!(info(w).map(|i| i.booster), Some(-1), "{w}");
        }
        for w in words::NEGATE {
            assert!(info(w).is_some_and(|i| i.negated), "{w}");
        }
        for w in lexicon_words() {
            assert_eq!(info(w).and_then(|i| i.lex), lexicon_valence(w), "{w}");
            assert_eq!(info(w).and_then(|i| i.finance), finance_valence(w), "{w}");
        }
        for w in &tables::FINANCE_KEYS {
            assert_eq!(info(w).and_then(|i| i.finance), finance_valence(w), "{w}");
        }
        let plain = info("the").map(|i| (i.booster, i.negated));
        assert!(plain.is_none() || plain == Some((0, false)));
        // Every rule word has its own number; no other word has one.
        let mut numbers: Vec<u8> = rule_words::RULE_WORDS.iter().map(|(_, id)| *id).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), rule_words::RULE_WORDS.len());
        assert!(!numbers.contains(&0));
        for (w, id) in rule_words::RULE_WORDS {
            assert_eq!(info(w).map(|i| i.rule), Some(id), "{w}");
        }
        for w in lexicon_words().iter().chain(&tables::FINANCE_KEYS) {
            let rule = info(w).map_or(0, |i| i.rule);
            assert_eq!(
                rule != 0,
                rule_words::RULE_WORDS.iter().any(|(r, _)| r == w),
                "{w}"
            );
        }
        assert!(info("zzqx").is_none());
        // Negation by "n't" needs no table entry.
        let a = Analyzer::new(Mode::Vader);
        assert_eq!(
            a.polarity_scores("it isn't good"),
            a.polarity_scores("it zzqxn't good")
        );
    }

    /// The one-pass emoji replacement writes what the reference's loop
    /// writes, on every string of up to 4 characters over plain, space,
    /// multi-byte and emoji characters.
    #[test]
    fn emoji_replacement_is_the_references_loop() {
        let reference = |text: &str| -> String {
            let mut out = String::new();
            let mut prev_space = true;
            for c in text.chars() {
                match emoji_description(c) {
                    Some(d) => {
                        if !prev_space {
                            out.push(' ');
                        }
                        out.push_str(d);
                        prev_space = false;
                    }
                    None => {
                        out.push(c);
                        prev_space = c == ' ';
                    }
                }
            }
            out
        };
        let alphabet = ['a', ' ', 'é', '\u{a0}', '\u{a9}', '🚀', '😀', '€'];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for text in &frontier {
                let mut buf = String::from("stale");
                let replaced = replace_emoji(text, &mut buf);
                let expected = reference(text);
                assert_eq!(replaced, expected != *text, "{text:?}");
                if replaced {
                    assert_eq!(buf, expected, "{text:?}");
                }
            }
        }
        assert!(emoji_description('🚀').is_some() && emoji_description('€').is_none());
    }

    #[test]
    fn labels_and_modes() {
        assert_eq!(
            Scores {
                compound: 0.05,
                ..Default::default()
            }
            .label(),
            Label::Positive
        );
        assert_eq!(
            Scores {
                compound: -0.05,
                ..Default::default()
            }
            .label(),
            Label::Negative
        );
        assert_eq!(
            Scores {
                compound: 0.0499,
                ..Default::default()
            }
            .label(),
            Label::Neutral
        );
        assert_eq!("Finance".parse::<Mode>(), Ok(Mode::Finance));
        assert!("bullish".parse::<Mode>().is_err());
    }
}
