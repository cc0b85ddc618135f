//! Thousands of generated sentences built to hit every rule of VADER (lexicon
//! words, boosters, negations, "but", idioms, "least", "no", emoji glued to words,
//! ALL CAPS, `!`/`?` runs, odd Unicode whitespace and case), scored here and by
//! Python vaderSentiment 3.3.2 from the project's .venv: every score must match.

mod common;

use common::{python, Rng};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use tickerpulse_vader::{emoji_chars, lexicon_words, Analyzer, Mode};

const MODIFIERS: &[&str] = &[
    "very",
    "extremely",
    "kind",
    "of",
    "kinda",
    "sort",
    "sort of",
    "just enough",
    "slightly",
    "so",
    "really",
    "not",
    "never",
    "isn't",
    "don't",
    "aint",
    "without",
    "doubt",
    "nor",
    "or",
    "no",
    "least",
    "at least",
    "very least",
    "but",
    "BUT",
    "But",
    "this",
    "the shit",
    "the bomb",
    "bad ass",
    "badass",
    "bus stop",
    "yeah right",
    "kiss of death",
    "to die for",
    "beating heart",
    "cut the mustard",
    "never so",
    "never this",
    "without doubt",
    "MOST",
    "Hardly",
    "uber",
    "n't",
    "nope",
    "despite",
    "rarely",
];
const FILLER: &[&str] = &[
    "the",
    "a",
    "market",
    "stock",
    "$TSLA",
    "$AAPL",
    "today",
    "it",
    "is",
    "was",
    "I",
    "we",
    "they",
    "book",
    "movie",
    "phone",
    "and",
    "to",
    "for",
    "of",
    "2020",
    "x",
    "ÉTÉ",
    "straße",
    "ΣΟΦΙΑ",
    "İstanbul",
    "ǅemal",
    "😀x",
    "@user",
    "#stocks",
    "http://t.co/abc",
    "&amp;",
    "...",
    "-",
    "'",
    "\"hi\"",
    "(",
    ")",
    ":-)",
    ":(",
];
const SPACES: &[&str] = &[
    " ", " ", " ", " ", "  ", "\t", "\n", "\u{a0}", "\u{2003}", "\u{3000}", "\u{1c}", "\u{1f}",
    "\u{85}", "\u{2028}", "\u{200b}", "\u{202f}", "\u{1680}",
];
const PUNCT: &[&str] = &[
    "", "", "", "", "!", "!!", "!!!!!", "?", "??", "???", "????", ".", ",", "?!", "...", "!?!?",
];

fn sentence(rng: &mut Rng, lexicon: &[&str], emoji: &[String]) -> String {
    let words = 1 + rng.below(14);
    let mut s = String::new();
    for w in 0..words {
        if w > 0 {
            s.push_str(rng.pick(SPACES));
        }
        let mut word = match rng.below(10) {
            0..=3 => rng.pick(lexicon).to_string(),
            4..=5 => rng.pick(MODIFIERS).to_string(),
            6..=7 => rng.pick(FILLER).to_string(),
            8 => emoji[rng.below(emoji.len())].clone(),
            _ => format!("{}{}", rng.pick(lexicon), emoji[rng.below(emoji.len())]),
        };
        match rng.below(8) {
            0 => word = word.to_uppercase(),
            1 => {
                let mut c = word.chars();
                word = c
                    .next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default();
            }
            _ => {}
        }
        if rng.below(4) == 0 {
            word.push_str(rng.pick(PUNCT));
        }
        if rng.below(12) == 0 {
            word.insert_str(0, rng.pick(&["\"", "(", "'", "*", "#", "$"]));
        }
        s.push_str(&word);
    }
    if rng.below(3) == 0 {
        s.push_str(rng.pick(PUNCT));
    }
    if rng.below(10) == 0 {
        s.insert_str(0, rng.pick(SPACES));
    }
    s
}

#[test]
fn generated_sentences_match_python_vader_sentiment() {
    let lexicon = lexicon_words();
    let emoji: Vec<String> = emoji_chars().map(String::from).collect();
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let texts: Vec<String> = (0..6000)
        .map(|_| sentence(&mut rng, lexicon, &emoji))
        .collect();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference_vader.py");
    let mut child = Command::new(python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running python");
    let input = serde_json::to_vec(&texts).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "python failed");
    let want: Vec<[f64; 4]> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(want.len(), texts.len());

    let analyzer = Analyzer::new(Mode::Vader);
    let mut mismatches = Vec::new();
    let mut nonzero = 0;
    for (text, want) in texts.iter().zip(&want) {
        let s = analyzer.polarity_scores(text);
        let got = [s.compound, s.pos, s.neu, s.neg];
        nonzero += usize::from(got[0] != 0.0);
        if got != *want {
            mismatches.push(format!("want {want:?} got {got:?}: {text:?}"));
        }
    }
    assert!(
        nonzero > texts.len() / 2,
        "the generator should produce mostly non-neutral sentences"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        texts.len(),
        mismatches
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
