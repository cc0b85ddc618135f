//! Detail levels and their keys: `2022`, `2022-11`, `2022-11-04`,
//! `2022-11-04-05` and the 15-minute `2022-11-04-05:15`.

use serde::{Deserialize, Serialize};
use tickerpulse_core::civil::{civil_from_days, days_from_civil};

pub const MICROS_PER_QUARTER: i64 = 900_000_000;
pub const MICROS_PER_HOUR: i64 = 3_600_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Year,
    Month,
    Day,
    Hour,
    #[serde(rename = "15min")]
    Quarter,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Year,
        Level::Month,
        Level::Day,
        Level::Hour,
        Level::Quarter,
    ];

    /// The suffix of the time-series index key, `TSLA_HOURLY`.
    pub fn series_suffix(self) -> &'static str {
        match self {
            Level::Year => "YEARLY",
            Level::Month => "MONTHLY",
            Level::Day => "DAILY",
            Level::Hour => "HOURLY",
            Level::Quarter => "15MIN",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Year => "year",
            Level::Month => "month",
            Level::Day => "day",
            Level::Hour => "hour",
            Level::Quarter => "15min",
        }
    }

    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The level whose items are sums of this level's.
    pub fn parent(self) -> Option<Level> {
        match self {
            Level::Year => None,
            Level::Month => Some(Level::Year),
            Level::Day => Some(Level::Month),
            Level::Hour => Some(Level::Day),
            Level::Quarter => Some(Level::Hour),
        }
    }
}

/// One bucket of one level: its key and when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bucket {
    pub level: Level,
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
}

impl Bucket {
    /// The quarter hour that contains a time (microseconds since the epoch).
    pub fn quarter_of(micros: i64) -> Bucket {
        let quarter = micros.div_euclid(MICROS_PER_QUARTER);
        let minutes = quarter * 15;
        let days = minutes.div_euclid(1_440);
        let in_day = minutes.rem_euclid(1_440);
        let (year, month, day) = civil_from_days(days);
        Bucket {
            level: Level::Quarter,
            year,
            month,
            day,
            hour: (in_day / 60) as u8,
            minute: (in_day % 60) as u8,
        }
    }

    /// The bucket of a coarser (or the same) level that contains this one.
    pub fn at(self, level: Level) -> Bucket {
        let mut b = self;
        b.level = level;
        if level < Level::Quarter {
            b.minute = 0;
        }
        if level < Level::Hour {
            b.hour = 0;
        }
        if level < Level::Day {
            b.day = 1;
        }
        if level < Level::Month {
            b.month = 1;
        }
        b
    }

    pub fn parent(self) -> Option<Bucket> {
        self.level.parent().map(|l| self.at(l))
    }

    /// When the bucket starts, in microseconds since the epoch.
    pub fn start_micros(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        ((days * 24 + i64::from(self.hour)) * 60 + i64::from(self.minute)) * 60_000_000
    }

    /// The `DetailLevel` key.
    pub fn key(&self) -> String {
        match self.level {
            Level::Year => format!("{:04}", self.year),
            Level::Month => format!("{:04}-{:02}", self.year, self.month),
            Level::Day => format!("{:04}-{:02}-{:02}", self.year, self.month, self.day),
            Level::Hour => format!(
                "{:04}-{:02}-{:02}-{:02}",
                self.year, self.month, self.day, self.hour
            ),
            Level::Quarter => format!(
                "{:04}-{:02}-{:02}-{:02}:{:02}",
                self.year, self.month, self.day, self.hour, self.minute
            ),
        }
    }

    /// When the bucket starts, RFC 3339 (the time-series sort key).
    pub fn timestamp(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:00Z",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }

    /// Parses a `DetailLevel` key; the level follows from its shape.
    pub fn parse(key: &str) -> Option<Bucket> {
        let num = |s: &str, len: usize| -> Option<u32> {
            (s.len() == len && s.bytes().all(|c| c.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (date, minute) = match key.split_once(':') {
            Some((d, m)) => (d, Some(num(m, 2)?)),
            None => (key, None),
        };
        let parts: Vec<&str> = date.split('-').collect();
        let year = num(parts.first()?, 4)? as i32;
        let mut b = Bucket {
            level: Level::Year,
            year,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
        };
        if let Some(m) = parts.get(1) {
            b.month = num(m, 2)? as u8;
            b.level = Level::Month;
            if !(1..=12).contains(&b.month) {
                return None;
            }
        }
        if let Some(d) = parts.get(2) {
            b.day = num(d, 2)? as u8;
            b.level = Level::Day;
            let days_in_month = match b.month {
                2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            if b.day == 0 || b.day > days_in_month {
                return None;
            }
        }
        if let Some(h) = parts.get(3) {
            b.hour = num(h, 2)? as u8;
            b.level = Level::Hour;
            if b.hour > 23 {
                return None;
            }
        }
        if parts.len() > 4 {
            return None;
        }
        if let Some(m) = minute {
            if b.level != Level::Hour || !matches!(m, 0 | 15 | 30 | 45) {
                return None;
            }
            b.minute = m as u8;
            b.level = Level::Quarter;
        }
        Some(b)
    }

    /// The buckets one level down (hours of a day, quarters of an hour...).
    pub fn children(&self) -> Vec<Bucket> {
        let child = |f: &dyn Fn(&mut Bucket)| {
            let mut b = *self;
            f(&mut b);
            b
        };
        match self.level {
            Level::Year => (1..=12)
                .map(|m| {
                    child(&|b| {
                        b.level = Level::Month;
                        b.month = m;
                    })
                })
                .collect(),
            Level::Month => (1..=31)
                .map(|d| {
                    child(&|b| {
                        b.level = Level::Day;
                        b.day = d;
                    })
                })
                .filter(|b| Bucket::parse(&b.key()).is_some())
                .collect(),
            Level::Day => (0..24)
                .map(|h| {
                    child(&|b| {
                        b.level = Level::Hour;
                        b.hour = h;
                    })
                })
                .collect(),
            Level::Hour => [0, 15, 30, 45]
                .into_iter()
                .map(|m| {
                    child(&|b| {
                        b.level = Level::Quarter;
                        b.minute = m;
                    })
                })
                .collect(),
            Level::Quarter => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_nest() {
        // 2022-11-04T05:20:00Z
        let q = Bucket::quarter_of(1_667_539_200_000_000);
        assert_eq!(q.key(), "2022-11-04-05:15");
        assert_eq!(q.at(Level::Hour).key(), "2022-11-04-05");
        assert_eq!(q.at(Level::Day).key(), "2022-11-04");
        assert_eq!(q.at(Level::Month).key(), "2022-11");
        assert_eq!(q.at(Level::Year).key(), "2022");
        assert_eq!(q.at(Level::Day).timestamp(), "2022-11-04T00:00:00Z");
        for b in [
            q,
            q.at(Level::Hour),
            q.at(Level::Day),
            q.at(Level::Month),
            q.at(Level::Year),
        ] {
            assert_eq!(Bucket::parse(&b.key()), Some(b));
        }
        for bad in [
            "",
            "22",
            "2022-13",
            "2022-02-30",
            "2022-11-04-24",
            "2022-11-04-05:10",
            "2022-11-04:15",
            "2022-11-04-05-06",
            "2022-1-04",
        ] {
            assert_eq!(Bucket::parse(bad), None, "{bad}");
        }
        assert_eq!(Bucket::parse("2024-02").unwrap().children().len(), 29);
        assert_eq!(Bucket::quarter_of(-1).key(), "1969-12-31-23:45");
    }
}
