//! The typed literals of `$filter`: dates and datetime-offsets (read as instants) and GUIDs.

use std::fmt;

/// A point in time, UTC: seconds since 1970-01-01T00:00:00Z and nanoseconds. A date
/// literal (`2026-11-01`) is midnight UTC of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `n` ASCII digits at the start of `s`, as a number, and the rest.
fn digits(s: &str, n: usize) -> Option<(i64, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

impl Instant {
    /// Reads `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.f…]]` followed by `Z` or `±HH:MM`
    /// (ISO 8601 / RFC 3339, `T` and `Z` in either case). `Err` says what is wrong.
    pub fn parse(s: &str) -> Result<Instant, &'static str> {
        let bad = "not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)";
        let (y, r) = digits(s, 4).ok_or(bad)?;
        let r = r.strip_prefix('-').ok_or(bad)?;
        let (m, r) = digits(r, 2).ok_or(bad)?;
        let r = r.strip_prefix('-').ok_or(bad)?;
        let (d, r) = digits(r, 2).ok_or(bad)?;
        if !(1..=12).contains(&m) {
            return Err("the month is not 01 to 12");
        }
        if d < 1 || d > days_in_month(y, m) {
            return Err("the day is not in that month");
        }
        let day = days_from_civil(y, m, d) * 86400;
        if r.is_empty() {
            return Ok(Instant {
                secs: day,
                nanos: 0,
            });
        }
        let r = r
            .strip_prefix('T')
            .or_else(|| r.strip_prefix('t'))
            .ok_or(bad)?;
        let (hh, r) = digits(r, 2).ok_or(bad)?;
        let r = r.strip_prefix(':').ok_or(bad)?;
        let (mm, mut r) = digits(r, 2).ok_or(bad)?;
        let (mut ss, mut nanos) = (0, 0u32);
        if let Some(rest) = r.strip_prefix(':') {
            let (s2, rest) = digits(rest, 2).ok_or(bad)?;
            ss = s2;
            r = rest;
            if let Some(frac) = r.strip_prefix('.') {
                let n = frac.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 || n > 9 {
                    return Err("fractional seconds need 1 to 9 digits");
                }
                let text = format!("{:0<9}", &frac[..n]);
                nanos = text.parse().map_err(|_| bad)?;
                r = &frac[n..];
            }
        }
        if hh > 23 || mm > 59 || ss > 59 {
            return Err("the time is not 00:00:00 to 23:59:59");
        }
        let offset = match r {
            "Z" | "z" => 0,
            _ => {
                let sign = match r.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err("the time needs Z or an offset like +02:00"),
                };
                let (oh, rest) = digits(&r[1..], 2).ok_or(bad)?;
                let rest = rest.strip_prefix(':').ok_or(bad)?;
                let (om, rest) = digits(rest, 2).ok_or(bad)?;
                if !rest.is_empty() || oh > 23 || om > 59 {
                    return Err("the offset is not ±HH:MM");
                }
                sign * (oh * 3600 + om * 60)
            }
        };
        Ok(Instant {
            secs: day + hh * 3600 + mm * 60 + ss - offset,
            nanos,
        })
    }
}

/// The canonical form: `YYYY-MM-DDTHH:MM:SSZ`, with `.f…` (trailing zeros dropped) when
/// the seconds have a fraction.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, rem) = (self.secs.div_euclid(86400), self.secs.rem_euclid(86400));
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

/// `YYYY-MM-DD` (or a wrong number in that shape: `2026-13-01`) starts a date.
pub(super) fn is_date_start(b: &[u8]) -> bool {
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// True for `8-4-4-4-12` hexadecimal digits (a GUID, any case).
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_and_print_canonically() {
        let p = |s: &str| Instant::parse(s).unwrap().to_string();
        assert_eq!(p("2026-11-01"), "2026-11-01T00:00:00Z");
        assert_eq!(p("2026-11-01T02:00:00+02:00"), "2026-11-01T00:00:00Z");
        assert_eq!(p("2026-11-01T00:30-01:00"), "2026-11-01T01:30:00Z");
        assert_eq!(p("2026-11-01T00:00:00.120Z"), "2026-11-01T00:00:00.12Z");
        assert_eq!(p("1969-12-31T23:59:59Z"), "1969-12-31T23:59:59Z");
        assert_eq!(p("2024-02-29"), "2024-02-29T00:00:00Z");
        for bad in [
            "2026-13-01",
            "2026-02-29",
            "2026-11-01T24:00:00Z",
            "2026-11-01T10:00:00",
            "2026-11-01T10:00:00.Z",
            "2026-1-01",
            "2026-11-01T10:00:00+2:00",
        ] {
            assert!(Instant::parse(bad).is_err(), "{bad}");
        }
        assert!(is_guid("01234567-89ab-CDEF-0123-456789abcdef"));
        assert!(!is_guid("01234567-89ab-cdef-0123-456789abcdeg"));
    }
}
