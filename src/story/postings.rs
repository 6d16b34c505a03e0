//! One term's postings in the candidate index: the items carrying it,
//! ordered by day, so that a date window is one range.

use super::PROBE_BUDGET;

/// One term's items by day. Most terms are rare: a sorted Vec is compact and
/// fast. A long list moves to a B-tree, so that inserting an item dated in
/// the middle (a partner's backlog) costs O(log n), not a shift of the list.
/// A term in more than [`PROBE_BUDGET`] items is never looked up (it cannot
/// be specific in a store of fewer than PROBE_BUDGET² ≈ 16 million items),
/// so only its count is kept.
///
/// A posting (day, item) is packed into 8 bytes, ordered by day then item:
/// the index holds every stored item's terms, and 16-byte tuples were most
/// of its memory. Items are SQLite row ids, which stay below 2³² here.
#[derive(Debug)]
pub(super) enum Postings {
    Short(Vec<u64>),
    Long(std::collections::BTreeSet<u64>),
    Count(usize),
}

/// Packs (day, item) so that integer order is (day, item) order; `None` for
/// an item id that does not fit (never indexed).
fn pack(day: i32, item: i64) -> Option<u64> {
    let item = u32::try_from(item).ok()?;
    // Flipping the sign bit maps i32 order onto u32 order.
    Some((u64::from(day as u32 ^ 0x8000_0000) << 32) | u64::from(item))
}

fn unpack_item(p: u64) -> i64 {
    i64::from(p as u32)
}

fn day_start(day: i32) -> u64 {
    u64::from(day as u32 ^ 0x8000_0000) << 32
}

impl Default for Postings {
    fn default() -> Self {
        Postings::Short(Vec::new())
    }
}

const SHORT_POSTINGS: usize = 256;

impl Postings {
    /// The items held (the index counts document frequencies itself, over history).
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Postings::Short(v) => v.len(),
            Postings::Long(b) => b.len(),
            Postings::Count(n) => *n,
        }
    }

    pub(super) fn insert(&mut self, (day, item): (i32, i64)) {
        let Some(p) = pack(day, item) else { return };
        match self {
            Postings::Short(v) if v.len() < SHORT_POSTINGS => {
                let at = v.partition_point(|x| *x < p);
                if v.get(at) != Some(&p) {
                    v.insert(at, p);
                }
            }
            Postings::Short(v) => {
                let mut b: std::collections::BTreeSet<_> = v.drain(..).collect();
                b.insert(p);
                *self = Postings::Long(b);
            }
            Postings::Long(b) if b.len() < PROBE_BUDGET => {
                b.insert(p);
            }
            Postings::Long(b) => *self = Postings::Count(b.len() + usize::from(!b.contains(&p))),
            Postings::Count(n) => *n += 1,
        }
    }

    pub(super) fn remove(&mut self, (day, item): (i32, i64)) {
        let Some(p) = pack(day, item) else { return };
        match self {
            Postings::Short(v) => {
                if let Ok(at) = v.binary_search(&p) {
                    v.remove(at);
                }
            }
            Postings::Long(b) => {
                b.remove(&p);
            }
            Postings::Count(n) => *n = n.saturating_sub(1),
        }
    }

    /// Calls `f` with every item dated `from..=to`.
    pub(super) fn in_window(&self, from: i32, to: i32, mut f: impl FnMut(i64)) {
        let first = day_start(from);
        // The first posting past the window; none past the last day there is.
        let after = to.checked_add(1).map(day_start);
        match self {
            Postings::Short(v) => {
                let start = v.partition_point(|x| *x < first);
                v[start..]
                    .iter()
                    .take_while(|x| after.is_none_or(|a| **x < a))
                    .for_each(|x| f(unpack_item(*x)));
            }
            Postings::Long(b) => match after {
                Some(a) => b.range(first..a).for_each(|x| f(unpack_item(*x))),
                None => b.range(first..).for_each(|x| f(unpack_item(*x))),
            },
            Postings::Count(_) => {}
        }
    }

    pub(super) fn shrink_to_fit(&mut self) {
        if let Postings::Short(v) = self {
            v.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_answer_windows_before_and_after_growing_long() {
        let mut p = Postings::default();
        // A backlog arrives newest first, then in the middle.
        for i in (0..300i64).rev() {
            p.insert(((i % 50) as i32, i));
        }
        p.insert((7, 7));
        assert!(matches!(p, Postings::Long(_)));
        assert_eq!(p.len(), 300);
        let mut seen = Vec::new();
        p.in_window(10, 11, |i| seen.push(i));
        seen.sort_unstable();
        assert_eq!(
            seen,
            vec![10, 11, 60, 61, 110, 111, 160, 161, 210, 211, 260, 261]
        );
        p.remove((10, 60));
        let mut again = Vec::new();
        p.in_window(10, 10, |i| again.push(i));
        assert_eq!(again.len(), 5);
        let mut huge = Postings::default();
        for i in 0..=PROBE_BUDGET as i64 {
            huge.insert((0, i));
        }
        assert!(matches!(huge, Postings::Count(_)));
        assert_eq!(huge.len(), PROBE_BUDGET + 1);
        huge.remove((0, 3));
        assert_eq!(huge.len(), PROBE_BUDGET);
        let mut short = Postings::default();
        short.insert((5, 1));
        short.insert((3, 2));
        short.insert((5, 1));
        let mut s = Vec::new();
        short.in_window(0, 4, |i| s.push(i));
        assert_eq!((short.len(), s), (2, vec![2]));
    }

    #[test]
    fn packed_postings_keep_day_order_across_zero_and_skip_ids_beyond_u32() {
        let mut p = Postings::default();
        for (day, item) in [
            (3, 1),
            (-2, 9),
            (0, 4),
            (-2, 2),
            (i32::MAX, 5),
            (i32::MIN, 6),
        ] {
            p.insert((day, item));
        }
        p.insert((1, i64::from(u32::MAX) + 1));
        p.insert((1, -1));
        assert_eq!(p.len(), 6, "ids that do not fit are not indexed");
        let mut seen = Vec::new();
        p.in_window(-2, 0, |i| seen.push(i));
        assert_eq!(seen, vec![2, 9, 4]);
        let mut edges = Vec::new();
        p.in_window(i32::MIN, i32::MIN, |i| edges.push(i));
        p.in_window(4, i32::MAX, |i| edges.push(i));
        assert_eq!(edges, vec![6, 5]);
    }
}
