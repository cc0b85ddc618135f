// The words VADER's rules and finance notation compare tokens with, each with
// a small number of its own. Shared by build.rs, which writes each word's
// number into the word table, and the library, whose rules then compare a
// token's number with a constant instead of its text with a string.

pub const NO: u8 = 1;
pub const OR: u8 = 2;
pub const NOR: u8 = 3;
pub const NEVER: u8 = 4;
pub const SO: u8 = 5;
pub const THIS: u8 = 6;
pub const WITHOUT: u8 = 7;
pub const DOUBT: u8 = 8;
pub const LEAST: u8 = 9;
pub const AT: u8 = 10;
pub const VERY: u8 = 11;
pub const BUT: u8 = 12;
pub const KIND: u8 = 13;
pub const OF: u8 = 14;
pub const SORT: u8 = 15;
pub const JUST: u8 = 16;
pub const ENOUGH: u8 = 17;
pub const THE: u8 = 18;
pub const SHIT: u8 = 19;
pub const BOMB: u8 = 20;
pub const TO: u8 = 21;
pub const DIE: u8 = 22;
pub const FOR: u8 = 23;
pub const BAD: u8 = 24;
pub const ASS: u8 = 25;
pub const BUS: u8 = 26;
pub const STOP: u8 = 27;
pub const YEAH: u8 = 28;
pub const RIGHT: u8 = 29;
pub const KISS: u8 = 30;
pub const DEATH: u8 = 31;
pub const BEATING: u8 = 32;
pub const HEART: u8 = 33;
pub const UP: u8 = 34;
pub const DOWN: u8 = 35;
pub const LONG: u8 = 36;
pub const SHORT: u8 = 37;
pub const CALLS: u8 = 38;
pub const PUTS: u8 = 39;
pub const HOW: u8 = 40;

/// Each rule word and its number.
#[cfg_attr(not(test), allow(dead_code))]
pub const RULE_WORDS: [(&str, u8); 40] = [
    ("no", NO),
    ("or", OR),
    ("nor", NOR),
    ("never", NEVER),
    ("so", SO),
    ("this", THIS),
    ("without", WITHOUT),
    ("doubt", DOUBT),
    ("least", LEAST),
    ("at", AT),
    ("very", VERY),
    ("but", BUT),
    ("kind", KIND),
    ("of", OF),
    ("sort", SORT),
    ("just", JUST),
    ("enough", ENOUGH),
    ("the", THE),
    ("shit", SHIT),
    ("bomb", BOMB),
    ("to", TO),
    ("die", DIE),
    ("for", FOR),
    ("bad", BAD),
    ("ass", ASS),
    ("bus", BUS),
    ("stop", STOP),
    ("yeah", YEAH),
    ("right", RIGHT),
    ("kiss", KISS),
    ("death", DEATH),
    ("beating", BEATING),
    ("heart", HEART),
    ("up", UP),
    ("down", DOWN),
    ("long", LONG),
    ("short", SHORT),
    ("calls", CALLS),
    ("puts", PUTS),
    ("how", HOW),
];
