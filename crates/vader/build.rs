//! Lays out the lexicons as static open-addressing hash tables, so building an
//! analyzer costs nothing at run time.

use std::fmt::Write as _;
use std::path::Path;

include!("src/hash.rs");
include!("src/words.rs");
include!("src/rule_words.rs");

/// Parses a lexicon exactly as vaderSentiment's `make_lex_dict` does: split the
/// file on '\n' after stripping trailing newlines, skip empty lines, strip each
/// line, take the first two tab-separated fields; later duplicates win.
fn parse_pairs(text: &str, skip_empty: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut index = std::collections::HashMap::<String, usize>::new();
    for line in text.trim_end_matches('\n').split('\n') {
        if skip_empty && line.is_empty() {
            continue;
        }
        let mut fields = line.trim().split('\t');
        let (Some(k), Some(v)) = (fields.next(), fields.next()) else {
            panic!("lexicon line without a tab: {line:?}");
        };
        match index.get(k) {
            Some(&pos) => out[pos].1 = v.to_string(),
            None => {
                index.insert(k.to_string(), out.len());
                out.push((k.to_string(), v.to_string()));
            }
        }
    }
    out
}

fn table<V: std::fmt::Debug>(name: &str, entries: &[(String, V)], out: &mut String) {
    let entries: Vec<(String, String)> = entries
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v:?}")))
        .collect();
    table_of(name, std::any::type_name::<V>(), &entries, out);
}

/// A table whose values are written as given (Rust expressions of `value_type`).
fn table_of(name: &str, value_type: &str, entries: &[(String, String)], out: &mut String) {
    let size = (entries.len() * 4).next_power_of_two().max(16);
    let mut slots = vec![u16::MAX; size];
    let mut filter = vec![0u64; FILTER_WORDS];
    for (i, (k, _)) in entries.iter().enumerate() {
        let bit = filter_bit(word_hash(k.as_bytes()));
        filter[bit / 64] |= 1 << (bit % 64);
        let mut pos = (word_hash(k.as_bytes()) as usize) & (size - 1);
        while slots[pos] != u16::MAX {
            pos = (pos + 1) & (size - 1);
        }
        slots[pos] = u16::try_from(i).expect("fewer than 65,535 entries");
    }
    writeln!(out, "pub static {name}_KEYS: [&str; {}] = [", entries.len()).unwrap();
    for (k, _) in entries {
        writeln!(out, "    {k:?},").unwrap();
    }
    writeln!(
        out,
        "];\npub static {name}_VALUES: [{value_type}; {}] = [",
        entries.len()
    )
    .unwrap();
    for (_, v) in entries {
        writeln!(out, "    {v},").unwrap();
    }
    writeln!(
        out,
        "];\npub static {name}_SLOTS: [u16; {size}] = {slots:?};"
    )
    .unwrap();
    writeln!(
        out,
        "pub static {name}_FILTER: [u64; {FILTER_WORDS}] = {filter:?};"
    )
    .unwrap();
}

fn main() {
    let data = Path::new("data");
    for f in [
        "vader_lexicon.txt",
        "emoji_utf8_lexicon.txt",
        "finance_lexicon.tsv",
    ] {
        println!("cargo:rerun-if-changed=data/{f}");
    }
    println!("cargo:rerun-if-changed=src/hash.rs");
    println!("cargo:rerun-if-changed=src/words.rs");
    println!("cargo:rerun-if-changed=src/rule_words.rs");
    // The lexicons are the vaderSentiment wheel's files byte for byte, CRLF line
    // ends included; Python reads them in text mode, which makes them LF.
    let read = |f: &str| {
        std::fs::read_to_string(data.join(f))
            .unwrap_or_else(|e| panic!("reading data/{f}: {e}"))
            .replace("\r\n", "\n")
    };
    let mut out = String::new();

    let lexicon: Vec<(String, f64)> = parse_pairs(&read("vader_lexicon.txt"), true)
        .into_iter()
        .map(|(k, v)| {
            let value = v
                .trim()
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("{k}: {v:?}: {e}"));
            (k, value)
        })
        .collect();
    table("LEXICON", &lexicon, &mut out);

    // Finance mode: `term<TAB>valence<TAB>source` lines; '#' starts a comment.
    // Terms of one word go into a table; phrases of several words into a list.
    let mut words = Vec::new();
    let mut phrases = Vec::new();
    for (n, line) in read("finance_lexicon.tsv").lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert!(
            fields.len() >= 3,
            "finance_lexicon.tsv:{}: want term, valence, source",
            n + 1
        );
        let value: f64 = fields[1]
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("finance_lexicon.tsv:{}: {e}", n + 1));
        assert!(
            (-4.0..=4.0).contains(&value),
            "finance_lexicon.tsv:{}: valence out of -4..4",
            n + 1
        );
        let term = fields[0].trim().to_lowercase();
        if term.contains(' ') {
            phrases.push((term, value));
        } else {
            words.push((term, value));
        }
    }
    table("FINANCE", &words, &mut out);
    // Sorted by first word, so a token finds its phrases through PHRASE_STARTS.
    phrases.sort_by(|a, b| {
        a.0.split(' ')
            .next()
            .cmp(&b.0.split(' ').next())
            .then(a.0.cmp(&b.0))
    });
    // First word -> start * 256 + count of its phrases in the sorted list.
    let mut starts: Vec<(String, u32)> = Vec::new();
    for (i, (p, _)) in phrases.iter().enumerate() {
        let first = p.split(' ').next().unwrap_or_default().to_string();
        match starts.last_mut() {
            Some((w, v)) if *w == first => *v += 1,
            _ => starts.push((first, (i as u32) * 256 + 1)),
        }
    }

    // Every word the scorer asks about, with all it needs to know of it, so a
    // token costs one lookup: its valences, the finance phrases it starts, and
    // whether it is a booster or a negation.
    let mut info = std::collections::BTreeMap::<String, [String; 6]>::new();
    let none = || ["None", "None", "None", "0", "false", "0"].map(String::from);
    for (k, v) in &lexicon {
        info.entry(k.clone()).or_insert_with(none)[0] = format!("Some({v:?})");
    }
    for (k, v) in &words {
        info.entry(k.clone()).or_insert_with(none)[1] = format!("Some({v:?})");
    }
    for (k, v) in &starts {
        info.entry(k.clone()).or_insert_with(none)[2] = format!("Some({v:?})");
    }
    for (list, value) in [(BOOSTER_INCR, "1"), (BOOSTER_DECR, "-1")] {
        for k in list {
            info.entry(k.to_string()).or_insert_with(none)[3] = value.to_string();
        }
    }
    for k in NEGATE {
        info.entry(k.to_string()).or_insert_with(none)[4] = "true".to_string();
    }
    for (k, id) in RULE_WORDS {
        info.entry(k.to_string()).or_insert_with(none)[5] = id.to_string();
    }
    let entries: Vec<(String, String)> = info
        .into_iter()
        .map(|(k, [lex, finance, phrases, booster, negated, rule])| {
            let value = format!(
                "super::WordInfo {{ lex: {lex}, finance: {finance}, phrases: {phrases}, booster: {booster}, negated: {negated}, rule: {rule} }}"
            );
            (k, value)
        })
        .collect();
    table_of("WORDS", "super::WordInfo", &entries, &mut out);
    writeln!(
        out,
        "pub static FINANCE_PHRASES: [(&[&str], f64); {}] = [",
        phrases.len()
    )
    .unwrap();
    for (p, v) in &phrases {
        let parts: Vec<&str> = p.split(' ').collect();
        writeln!(out, "    (&{parts:?}, {v:?}),").unwrap();
    }
    writeln!(out, "];").unwrap();

    // Emoji: vaderSentiment replaces emoji character by character, so only keys
    // of one code point can ever match.
    let mut emoji: Vec<(u32, String)> = parse_pairs(&read("emoji_utf8_lexicon.txt"), false)
        .into_iter()
        .filter_map(|(k, v)| {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some((c as u32, v)),
                _ => None,
            }
        })
        .collect();
    emoji.sort();
    writeln!(
        out,
        "pub static EMOJI_CHARS: [u32; {}] = {:?};",
        emoji.len(),
        emoji.iter().map(|e| e.0).collect::<Vec<_>>()
    )
    .unwrap();
    writeln!(
        out,
        "pub static EMOJI_DESCRIPTIONS: [&str; {}] = [",
        emoji.len()
    )
    .unwrap();
    for (_, d) in &emoji {
        writeln!(out, "    {d:?},").unwrap();
    }
    writeln!(out, "];").unwrap();

    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("tables.rs");
    std::fs::write(dest, out).expect("writing tables.rs");
}
