//! Readers for the scalar values a config is made of (durations, sizes,
//! counts in a range, schedules): each takes the spanned text, reports a
//! located error and falls back to the default so validation can go on.

use std::ops::RangeInclusive;
use std::time::Duration;

use toml::Spanned;

use super::Validator;
use crate::schedule::Schedule;

impl Validator<'_> {
    pub(super) fn duration(
        &mut self,
        raw: Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        self.duration_from(raw, key, default, false)
    }

    pub(super) fn duration_or_zero(
        &mut self,
        raw: Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        self.duration_from(raw, key, default, true)
    }

    fn duration_from(
        &mut self,
        raw: Option<Spanned<String>>,
        key: &str,
        default: Duration,
        zero_ok: bool,
    ) -> Duration {
        let Some(raw) = raw else { return default };
        if zero_ok && raw.get_ref().trim() == "0" {
            return Duration::ZERO;
        }
        match humantime::parse_duration(raw.get_ref()) {
            Ok(d) if zero_ok || !d.is_zero() => d,
            Ok(_) => {
                self.err(raw.span(), key, "must be longer than zero");
                default
            }
            Err(e) => {
                self.err(
                    raw.span(),
                    key,
                    format!(
                        "`{}` is not a duration such as \"30s\" or \"15m\": {e}",
                        raw.get_ref()
                    ),
                );
                default
            }
        }
    }

    pub(super) fn size(&mut self, raw: Option<Spanned<String>>, key: &str, default: u64) -> u64 {
        let Some(raw) = raw else { return default };
        match raw.get_ref().parse::<bytesize::ByteSize>() {
            Ok(s) if s.as_u64() >= 1024 => s.as_u64(),
            Ok(_) => {
                self.err(raw.span(), key, "must be at least 1 KiB");
                default
            }
            Err(e) => {
                self.err(
                    raw.span(),
                    key,
                    format!("`{}` is not a size such as \"10 MiB\": {e}", raw.get_ref()),
                );
                default
            }
        }
    }

    pub(super) fn count(
        &mut self,
        raw: Option<Spanned<i64>>,
        key: &str,
        range: RangeInclusive<i64>,
        default: usize,
    ) -> usize {
        let Some(raw) = raw else { return default };
        let n = *raw.get_ref();
        if range.contains(&n) {
            n as usize
        } else {
            self.err(
                raw.span(),
                key,
                format!("must be between {} and {}", range.start(), range.end()),
            );
            default
        }
    }

    pub(super) fn schedule(&mut self, raw: &Spanned<String>, key: &str) -> Option<Schedule> {
        match Schedule::parse(raw.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(raw.span(), key, e.to_string());
                None
            }
        }
    }
}
