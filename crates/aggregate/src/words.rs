//! Words for the word cloud: lower case, letters only, three letters or more,
//! no stop words, no cashtags, hashtags, mentions or links.

/// English stop words, plus the filler of stock tweets ("stock", "today").
const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "amp",
    "and",
    "any",
    "are",
    "aren't",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "cannot",
    "could",
    "couldn't",
    "day",
    "did",
    "didn't",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "get",
    "going",
    "got",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "into",
    "isn't",
    "it's",
    "its",
    "itself",
    "just",
    "know",
    "let's",
    "like",
    "make",
    "more",
    "most",
    "much",
    "must",
    "mustn't",
    "myself",
    "new",
    "next",
    "nor",
    "not",
    "now",
    "off",
    "once",
    "one",
    "only",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "rt",
    "same",
    "see",
    "shan't",
    "she",
    "should",
    "shouldn't",
    "some",
    "still",
    "stock",
    "stocks",
    "such",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they're",
    "think",
    "this",
    "those",
    "through",
    "time",
    "today",
    "too",
    "under",
    "until",
    "very",
    "via",
    "want",
    "was",
    "wasn't",
    "way",
    "we're",
    "week",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won't",
    "would",
    "wouldn't",
    "you",
    "you're",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// Calls `f` with each word of a cleaned text that belongs in a word cloud.
pub fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    for token in text.split_whitespace() {
        if token.starts_with(['$', '#', '@']) || token.starts_with("http") {
            continue;
        }
        buf.clear();
        for c in token.chars() {
            if c.is_alphabetic() || c == '\'' {
                buf.extend(c.to_lowercase());
            } else if !buf.is_empty() {
                break;
            }
        }
        let w = buf.trim_matches('\'');
        if w.chars().count() >= 3 && !is_stop_word(w) {
            f(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_and_words_are_what_a_cloud_wants() {
        assert!(
            STOP_WORDS.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
        let mut words = Vec::new();
        for_each_word(
            "$TSLA Breaking OUT, great earnings! #stocks the stock is up 5% https://x.co @bob Tesla's",
            |w| words.push(w.to_string()),
        );
        assert_eq!(words, ["breaking", "great", "earnings", "tesla's"]);
    }
}
