//! Hour partitions of the lake: `year=YYYY/month=MM/day=DD/hour=HH/`.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// One hour of tweets, by the tweets' own `created_at` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HourPartition {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PartitionError {
    #[error("not a partition path (want year=YYYY/month=MM/day=DD/hour=HH): {0:?}")]
    BadPath(String),
    #[error("not a valid date and hour: {0}")]
    BadDate(String),
    #[error("not an RFC 3339 timestamp: {0:?}")]
    BadTimestamp(String),
    #[error("time range is empty or reversed: {from} .. {to}")]
    EmptyRange { from: String, to: String },
    #[error("time range of {hours} hours is larger than the limit of {limit}")]
    RangeTooLarge { hours: i64, limit: i64 },
}

impl HourPartition {
    /// Builds a partition, checking that the date and hour exist.
    pub fn new(year: u16, month: u8, day: u8, hour: u8) -> Result<Self, PartitionError> {
        let p = Self {
            year,
            month,
            day,
            hour,
        };
        p.start()?;
        Ok(p)
    }

    /// The hour that contains this instant (UTC).
    pub fn containing(t: OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        Self {
            year: t.year().clamp(0, 9999) as u16,
            month: u8::from(t.month()),
            day: t.day(),
            hour: t.hour(),
        }
    }

    /// One partition in each of the last `days` days up to `now` (today
    /// first): what a day's prefix is taken from.
    pub fn last_days(now: OffsetDateTime, days: u32) -> Vec<Self> {
        (0..i64::from(days))
            .map(|d| Self::containing(now - time::Duration::days(d)))
            .collect()
    }

    /// The hour of an RFC 3339 timestamp such as `2020-04-15T01:03:46.000Z`.
    pub fn of_timestamp(ts: &str) -> Result<Self, PartitionError> {
        Ok(Self::containing(parse_rfc3339(ts)?))
    }

    /// First instant of the hour, UTC.
    pub fn start(&self) -> Result<OffsetDateTime, PartitionError> {
        let month =
            Month::try_from(self.month).map_err(|_| PartitionError::BadDate(self.label()))?;
        let date = Date::from_calendar_date(i32::from(self.year), month, self.day)
            .map_err(|_| PartitionError::BadDate(self.label()))?;
        let time =
            Time::from_hms(self.hour, 0, 0).map_err(|_| PartitionError::BadDate(self.label()))?;
        Ok(PrimitiveDateTime::new(date, time).assume_utc())
    }

    /// `year=2020/month=04/day=15/hour=01`
    pub fn path(&self) -> String {
        format!(
            "year={:04}/month={:02}/day={:02}/hour={:02}",
            self.year, self.month, self.day, self.hour
        )
    }

    /// `2020-04-15-01`, the hourly detail level of the serving tables.
    pub fn label(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}-{:02}",
            self.year, self.month, self.day, self.hour
        )
    }

    /// Parses the partition out of a key such as `raw/tweets/year=2020/month=04/day=15/hour=01/x.gz`.
    pub fn from_key(key: &str) -> Result<Self, PartitionError> {
        let bad = || PartitionError::BadPath(key.to_string());
        let mut fields = [None::<u32>; 4];
        let names = ["year=", "month=", "day=", "hour="];
        for segment in key.split('/') {
            for (i, name) in names.iter().enumerate() {
                if let Some(v) = segment.strip_prefix(name) {
                    fields[i] = Some(v.parse().map_err(|_| bad())?);
                }
            }
        }
        match fields {
            [Some(y), Some(m), Some(d), Some(h)] => {
                let conv = |v: u32| u8::try_from(v).map_err(|_| bad());
                Self::new(
                    u16::try_from(y).map_err(|_| bad())?,
                    conv(m)?,
                    conv(d)?,
                    conv(h)?,
                )
            }
            _ => Err(bad()),
        }
    }

    /// Every hour from the one containing `from` up to the one containing `to`, both included.
    pub fn range(from: &str, to: &str, limit_hours: i64) -> Result<Vec<Self>, PartitionError> {
        let (a, b) = (parse_rfc3339(from)?, parse_rfc3339(to)?);
        if b < a {
            return Err(PartitionError::EmptyRange {
                from: from.into(),
                to: to.into(),
            });
        }
        let first = Self::containing(a).start()?;
        let hours = (b - first).whole_hours() + 1;
        if hours > limit_hours {
            return Err(PartitionError::RangeTooLarge {
                hours,
                limit: limit_hours,
            });
        }
        Ok((0..hours)
            .map(|i| Self::containing(first + time::Duration::hours(i)))
            .collect())
    }
}

impl fmt::Display for HourPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Parses an RFC 3339 timestamp (the X API's `2020-04-15T01:03:46.000Z`).
pub fn parse_rfc3339(ts: &str) -> Result<OffsetDateTime, PartitionError> {
    OffsetDateTime::parse(ts.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| PartitionError::BadTimestamp(ts.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_of_x_api_timestamp() {
        let p = HourPartition::of_timestamp("2020-04-15T01:03:46.000Z").unwrap();
        assert_eq!(p.path(), "year=2020/month=04/day=15/hour=01");
        assert_eq!(p.label(), "2020-04-15-01");
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let p = HourPartition::of_timestamp("2020-04-15T01:03:46+02:00").unwrap();
        assert_eq!(p.label(), "2020-04-14-23");
    }

    #[test]
    fn key_round_trip_and_bad_keys() {
        let p = HourPartition::from_key("raw/tweets/year=2020/month=12/day=31/hour=23/f-1.json")
            .unwrap();
        assert_eq!(p, HourPartition::new(2020, 12, 31, 23).unwrap());
        assert!(HourPartition::from_key("raw/tweets/year=2020/month=13/day=01/hour=00/x").is_err());
        assert!(HourPartition::from_key("raw/tweets/year=2020/month=02/day=30/hour=00/x").is_err());
        assert!(HourPartition::from_key("raw/tweets/nothing").is_err());
        assert!(HourPartition::from_key("year=x/month=1/day=1/hour=1").is_err());
    }

    #[test]
    fn range_includes_both_ends_and_is_bounded() {
        let r = HourPartition::range("2020-04-15T22:10:00Z", "2020-04-16T01:00:00Z", 100).unwrap();
        let labels: Vec<_> = r.iter().map(|p| p.label()).collect();
        assert_eq!(
            labels,
            [
                "2020-04-15-22",
                "2020-04-15-23",
                "2020-04-16-00",
                "2020-04-16-01"
            ]
        );
        assert!(matches!(
            HourPartition::range("2020-04-16T00:00:00Z", "2020-04-15T00:00:00Z", 100),
            Err(PartitionError::EmptyRange { .. })
        ));
        assert!(matches!(
            HourPartition::range("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", 100),
            Err(PartitionError::RangeTooLarge { .. })
        ));
        assert!(HourPartition::range("yesterday", "2020-01-01T00:00:00Z", 10).is_err());
    }
}
