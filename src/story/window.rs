//! Which calendar days a bounded story index holds every item of: all days
//! from a first one on (the days new items can reach, kept as the clock
//! moves), and older ranges loaded on demand for backdated items until the
//! next eviction.

/// A set of story days, as `from..` and ranges below it.
#[derive(Debug, Clone)]
pub(super) struct LoadedDays {
    /// Every day from this one on is loaded; `i32::MIN`: every day (an unbounded index).
    from: i32,
    /// Days before `from` loaded on demand: sorted, disjoint, not adjacent `(first, last)` ranges.
    older: Vec<(i32, i32)>,
}

impl Default for LoadedDays {
    fn default() -> Self {
        LoadedDays {
            from: i32::MIN,
            older: Vec::new(),
        }
    }
}

impl LoadedDays {
    pub(super) fn from_day(from: i32) -> Self {
        LoadedDays {
            from,
            older: Vec::new(),
        }
    }

    pub(super) fn first(&self) -> i32 {
        self.from
    }

    /// The ranges of `first..=last` that are not loaded, in order.
    pub(super) fn missing(&self, first: i32, last: i32) -> Vec<(i32, i32)> {
        let mut gaps = Vec::new();
        let last = last.min(self.from.saturating_sub(1));
        if first > last || self.from == i32::MIN {
            return gaps;
        }
        let mut at = first;
        for &(a, b) in &self.older {
            if b < at {
                continue;
            }
            if a > last {
                break;
            }
            if a > at {
                gaps.push((at, a - 1));
            }
            at = b.saturating_add(1);
            if at > last || b == i32::MAX {
                return gaps;
            }
        }
        if at <= last {
            gaps.push((at, last));
        }
        gaps
    }

    /// `first..=last` is loaded now.
    pub(super) fn add(&mut self, first: i32, last: i32) {
        let last = last.min(self.from.saturating_sub(1));
        if first > last || self.from == i32::MIN {
            return;
        }
        self.older.push((first, last));
        self.older.sort_unstable();
        let mut merged: Vec<(i32, i32)> = Vec::with_capacity(self.older.len());
        for &(a, b) in &self.older {
            match merged.last_mut() {
                Some(m) if a <= m.1.saturating_add(1) => m.1 = m.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.older = merged;
    }

    /// Days before `day` are no longer loaded; from `day` on they are, if
    /// they were (a clock set back loads nothing by itself).
    pub(super) fn drop_before(&mut self, day: i32) {
        let below = self.from;
        self.older.retain_mut(|r| {
            r.0 = r.0.max(day);
            r.0 <= r.1
        });
        self.from = below.max(day);
        let from = self.from;
        self.older.retain(|r| r.1 < from);
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
        assert_eq!(d.older, vec![(90, 99)]);
        assert!(d.missing(90, 140).is_empty());
        assert_eq!(d.missing(80, 91), vec![(80, 89)]);
        d.drop_before(95);
        assert_eq!((d.from, d.older.clone()), (100, vec![(95, 99)]));
        d.drop_before(102);
        assert_eq!((d.from, d.older.is_empty()), (102, true));
        assert_eq!(d.missing(99, 103), vec![(99, 101)]);
        // Unbounded: every day is there.
        let all = LoadedDays::default();
        assert!(all.missing(i32::MIN, i32::MAX).is_empty());
        let mut edge = LoadedDays::from_day(i32::MAX);
        edge.add(i32::MIN, i32::MAX);
        assert!(edge.missing(i32::MIN, i32::MAX).is_empty());
    }
}
