//! Which calendar days a bounded story index holds every item of: all days
//! from a first one on (the days new items can reach, kept as the clock
//! moves), and older ranges loaded on demand for backdated items until the
//! next eviction; and sets of day ranges ([`DayRanges`]) for both.

/// A set of days as sorted, disjoint, not adjacent `(first, last)` ranges:
/// loaded or reached days come in runs, so a handful of ranges covers them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct DayRanges(Vec<(i32, i32)>);

impl DayRanges {
    /// The ranges of `first..=last` not in the set, in order.
    fn gaps(&self, first: i32, last: i32) -> Vec<(i32, i32)> {
        let mut gaps = Vec::new();
        if first > last {
            return gaps;
        }
        let mut at = first;
        for &(a, b) in &self.0 {
            if b < at {
                continue;
            }
            if a > last {
                break;
            }
            if a > at {
                gaps.push((at, a - 1));
            }
            if b >= last {
                return gaps;
            }
            at = b + 1;
        }
        gaps.push((at, last));
        gaps
    }

    /// Adds `first..=last`.
    pub(super) fn add(&mut self, first: i32, last: i32) {
        if first > last {
            return;
        }
        // The usual case (the same days reached poll after poll): already there.
        if self.0.iter().any(|&(a, b)| a <= first && last <= b) {
            return;
        }
        self.0.push((first, last));
        self.0.sort_unstable();
        let mut merged: Vec<(i32, i32)> = Vec::with_capacity(self.0.len());
        for &(a, b) in &self.0 {
            match merged.last_mut() {
                Some(m) if a <= m.1.saturating_add(1) => m.1 = m.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.0 = merged;
    }

    pub(super) fn contains(&self, day: i32) -> bool {
        let at = self.0.partition_point(|&(_, b)| b < day);
        self.0.get(at).is_some_and(|&(a, _)| a <= day)
    }

    /// Keeps the days from `day` on.
    fn drop_before(&mut self, day: i32) {
        self.0.retain_mut(|r| {
            r.0 = r.0.max(day);
            r.0 <= r.1
        });
    }

    /// Keeps the days before `day`.
    fn drop_from(&mut self, day: i32) {
        self.0.retain_mut(|r| {
            r.1 = r.1.min(day.saturating_sub(1));
            r.0 <= r.1 && r.0 < day
        });
    }

    /// Keeps the days also in `other`.
    fn intersect(&mut self, other: &DayRanges) {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            for &(c, d) in &other.0 {
                let (lo, hi) = (a.max(c), b.min(d));
                if lo <= hi {
                    out.push((lo, hi));
                }
            }
        }
        self.0 = out;
    }
}

/// A set of story days, as `from..` and ranges below it.
#[derive(Debug, Clone)]
pub(super) struct LoadedDays {
    /// Every day from this one on is loaded; `i32::MIN`: every day (an unbounded index).
    from: i32,
    /// Days before `from` loaded on demand.
    older: DayRanges,
}

impl Default for LoadedDays {
    fn default() -> Self {
        LoadedDays {
            from: i32::MIN,
            older: DayRanges::default(),
        }
    }
}

impl LoadedDays {
    pub(super) fn from_day(from: i32) -> Self {
        LoadedDays {
            from,
            older: DayRanges::default(),
        }
    }

    pub(super) fn first(&self) -> i32 {
        self.from
    }

    /// The ranges of `first..=last` that are not loaded, in order.
    pub(super) fn missing(&self, first: i32, last: i32) -> Vec<(i32, i32)> {
        if self.from == i32::MIN {
            return Vec::new();
        }
        self.older.gaps(first, last.min(self.from - 1))
    }

    /// `first..=last` is loaded now.
    pub(super) fn add(&mut self, first: i32, last: i32) {
        if self.from == i32::MIN {
            return;
        }
        self.older.add(first, last.min(self.from - 1));
    }

    /// Days before `day` are no longer loaded; from `day` on they are, if
    /// they were (a clock set back loads nothing by itself).
    pub(super) fn drop_before(&mut self, day: i32) {
        self.older.drop_before(day);
        self.from = self.from.max(day);
        self.older.drop_from(self.from);
    }

    /// Of the days before the first, only those in `kept` stay loaded.
    pub(super) fn keep_older(&mut self, kept: &DayRanges) {
        self.older.intersect(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_days_are_the_gaps_below_the_first_day() {
        let mut d = LoadedDays::from_day(100);
        assert_eq!(d.missing(96, 104), vec![(96, 99)]);
        assert!(d.missing(100, 120).is_empty());
        d.add(90, 92);
        d.add(95, 96);
        assert_eq!(d.missing(88, 104), vec![(88, 89), (93, 94), (97, 99)]);
        // Adjacent and overlapping ranges merge; nothing at or past the first day is recorded.
        d.add(93, 94);
        d.add(97, 130);
        assert_eq!(d.older, DayRanges(vec![(90, 99)]));
        assert!(d.missing(90, 140).is_empty());
        assert_eq!(d.missing(80, 91), vec![(80, 89)]);
        d.drop_before(95);
        assert_eq!((d.from, d.older.clone()), (100, DayRanges(vec![(95, 99)])));
        d.drop_before(102);
        assert_eq!((d.from, d.older.0.is_empty()), (102, true));
        assert_eq!(d.missing(99, 103), vec![(99, 101)]);
        // Unbounded: every day is there.
        let all = LoadedDays::default();
        assert!(all.missing(i32::MIN, i32::MAX).is_empty());
        let mut edge = LoadedDays::from_day(i32::MAX);
        edge.add(i32::MIN, i32::MAX);
        assert!(edge.missing(i32::MIN, i32::MAX).is_empty());
    }
}
