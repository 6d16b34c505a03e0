//! One term's postings in the candidate index: the items carrying it,
//! ordered by day, so that a date window is one range.

use super::PROBE_BUDGET;

/// One term's items by day. Most terms are rare: a sorted Vec is compact and
/// fast. A long list moves to sorted chunks ([`Chunks`]), so that inserting
/// an item dated in the middle (a partner's backlog) shifts one chunk, not
/// the whole list. A term in more than [`PROBE_BUDGET`] items is never
/// looked up (it cannot be specific in a store of fewer than PROBE_BUDGET² ≈
/// 16 million items), so only its count is kept.
///
/// A posting (day, item) is packed into 8 bytes, ordered by day then item:
/// the index holds every stored item's terms, and 16-byte tuples were most
/// of its memory. Items are SQLite row ids, which stay below 2³² here.
#[derive(Debug)]
pub(super) enum Postings {
    Short(Vec<u64>),
    Long(Chunks),
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
            Postings::Long(c) => c.len + c.pending.iter().filter(|p| !c.contains(**p)).count(),
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
                let mut c = Chunks::from_sorted(std::mem::take(v));
                c.insert(p);
                *self = Postings::Long(c);
            }
            Postings::Long(c) => {
                if c.len + c.pending.len() >= PROBE_BUDGET {
                    // Exact counts before the list may turn into a count.
                    c.flush();
                }
                if c.len < PROBE_BUDGET {
                    c.insert(p);
                } else {
                    *self = Postings::Count(c.len + usize::from(!c.contains(p)));
                }
            }
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
            Postings::Long(c) => c.remove(p),
            Postings::Count(n) => *n = n.saturating_sub(1),
        }
    }

    /// Calls `f` with every item dated `from..=to`.
    pub(super) fn in_window(&self, from: i32, to: i32, mut f: impl FnMut(i64)) {
        let first = day_start(from);
        // The first posting past the window; none past the last day there is.
        let after = to.checked_add(1).map(day_start);
        let before_end = |x: &&u64| after.is_none_or(|a| **x < a);
        match self {
            Postings::Short(v) => {
                let start = v.partition_point(|x| *x < first);
                v[start..]
                    .iter()
                    .take_while(before_end)
                    .for_each(|x| f(unpack_item(*x)));
            }
            Postings::Long(c) => {
                // The pending postings of the window, merged in order.
                let from = c.pending.partition_point(|x| *x < first);
                let mut pending = c.pending[from..].iter().take_while(before_end).peekable();
                // The first chunk that may hold `first`, then on in order.
                let at = c
                    .chunks
                    .partition_point(|k| k.last().is_some_and(|l| *l < first));
                let mut rest = c.chunks[at.min(c.chunks.len())..].iter();
                if let Some(k) = rest.next() {
                    let start = k.partition_point(|x| *x < first);
                    k[start..]
                        .iter()
                        .chain(rest.flatten())
                        .take_while(before_end)
                        .for_each(|x| {
                            while let Some(q) = pending.next_if(|q| **q < *x) {
                                f(unpack_item(*q));
                            }
                            // One inserted twice: once.
                            pending.next_if(|q| **q == *x);
                            f(unpack_item(*x));
                        });
                }
                pending.for_each(|q| f(unpack_item(*q)));
            }
            Postings::Count(_) => {}
        }
    }

    pub(super) fn shrink_to_fit(&mut self) {
        match self {
            Postings::Short(v) => v.shrink_to_fit(),
            Postings::Long(c) => {
                c.flush();
                c.pending.shrink_to_fit();
                c.chunks.iter_mut().for_each(Vec::shrink_to_fit);
            }
            Postings::Count(_) => {}
        }
    }
}

/// Postings of a long list: sorted chunks of at most [`CHUNK`], each
/// non-empty, every posting of a chunk below every posting of the next.
/// Items mostly arrive in day order, so an insert is mostly a push onto the
/// last chunk; a window is found by one binary search over the chunks' last
/// postings and read as slices. (A `BTreeSet` took a node walk per insert
/// and 11 keys per node: the index's inserts spent more there than on
/// anything else for long texts, BENCHMARKS.md "fourth session".)
///
/// The newest posting of an earlier day (a poll's items of yesterday, with
/// the highest item id yet) is pushed onto the chunk that ends with that day
/// when there is one, and a flush makes one: it splits a chunk after each day
/// it merged a posting into (the daemon's inserts cost about as much as
/// appends then, BENCHMARKS.md "session 32").
///
/// Other postings dated before the newest (a backlog, a partner whose items all
/// lie in the past, an older day loaded on demand) wait in a short sorted
/// buffer and are merged into their chunks [`PENDING`] at a time: one pass
/// over each chunk they fall in, rather than a binary search and a shift of
/// half a chunk each (`Chunks::insert` and memmove were a sixth of the
/// long-text ingest whose items lie in the past, BENCHMARKS.md "fifth
/// session").
#[derive(Debug, Default)]
pub(super) struct Chunks {
    chunks: Vec<Vec<u64>>,
    /// Postings in `chunks`.
    len: usize,
    /// Postings not merged yet: sorted, fewer than [`PENDING`]; one may
    /// repeat a posting of `chunks` (inserted twice: the index never does),
    /// and counts once.
    pending: Vec<u64>,
}

/// Postings per chunk at most: 4 KiB, a shift of at most that much per insert in the middle.
const CHUNK: usize = 512;

/// Postings that wait before they are merged into their chunks.
const PENDING: usize = 64;

fn day_of(p: u64) -> u64 {
    p >> 32
}

/// Where `merged` (sorted) passes from one day to the next right after one
/// of the postings in `mine` (sorted): the ends of the segments to split it in.
fn day_ends_after<'a>(merged: &'a [u64], mine: &'a [u64]) -> impl Iterator<Item = usize> + 'a {
    merged
        .windows(2)
        .enumerate()
        .filter(move |(_, w)| day_of(w[0]) != day_of(w[1]) && mine.binary_search(&w[0]).is_ok())
        .map(|(at, _)| at + 1)
}

/// Appends `sorted` (non-empty) as one chunk, or as even pieces of at most
/// half a chunk when it is longer than one, so that the next inserts have room.
fn split_into(sorted: &[u64], chunks: &mut Vec<Vec<u64>>) {
    if sorted.len() <= CHUNK {
        chunks.push(sorted.to_vec());
    } else {
        let pieces = sorted.len().div_ceil(CHUNK / 2);
        let size = sorted.len().div_ceil(pieces);
        chunks.extend(sorted.chunks(size).map(<[u64]>::to_vec));
    }
}

impl Chunks {
    fn from_sorted(v: Vec<u64>) -> Chunks {
        let len = v.len();
        let chunks = if v.is_empty() { Vec::new() } else { vec![v] };
        Chunks {
            chunks,
            len,
            pending: Vec::new(),
        }
    }

    /// The chunk where `p` belongs: the first whose last posting is not below it, else the last.
    fn chunk_for(&self, p: u64) -> usize {
        self.chunks
            .partition_point(|k| k.last().is_some_and(|l| *l < p))
            .min(self.chunks.len().saturating_sub(1))
    }

    fn contains(&self, p: u64) -> bool {
        self.chunks
            .get(self.chunk_for(p))
            .is_some_and(|k| k.binary_search(&p).is_ok())
    }

    fn insert(&mut self, p: u64) {
        let newest = self.pending.last().is_none_or(|q| *q < p);
        match self.chunks.last_mut() {
            // The usual case: the newest posting of all.
            Some(last) if newest && last.last().is_some_and(|l| *l < p) => {
                if last.len() < CHUNK {
                    last.push(p);
                } else {
                    let mut next = Vec::with_capacity(CHUNK);
                    next.push(p);
                    self.chunks.push(next);
                }
                self.len += 1;
                return;
            }
            None if self.pending.is_empty() => {
                self.chunks.push(vec![p]);
                self.len += 1;
                return;
            }
            _ => {}
        }
        let Err(i) = self.pending.binary_search(&p) else {
            return;
        };
        // The next usual case: the newest posting of an earlier day, which
        // falls between two chunks when a chunk ends with that day (`flush`
        // splits chunks so), is pushed onto the chunk before.
        let next = self.chunk_for(p);
        if next > 0 && self.chunks[next].first().is_some_and(|f| p < *f) {
            if self.chunks[next - 1].len() < CHUNK {
                self.chunks[next - 1].push(p);
            } else {
                self.chunks.insert(next, vec![p]);
            }
            self.len += 1;
            return;
        }
        // Room for all at once: a list with none waiting keeps no buffer.
        if self.pending.capacity() == 0 {
            self.pending.reserve_exact(PENDING);
        }
        self.pending.insert(i, p);
        if self.pending.len() >= PENDING {
            self.flush();
        }
    }

    /// Merges the pending postings into their chunks, each chunk they fall
    /// in rewritten once (and split when it grows past [`CHUNK`]).
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let old = std::mem::take(&mut self.chunks);
        let count = old.len();
        let mut chunks = Vec::with_capacity(count + 2);
        let mut rest = &pending[..];
        let place = |k: Vec<u64>, mine: &[u64], chunks: &mut Vec<Vec<u64>>, len: &mut usize| {
            if mine.is_empty() {
                chunks.push(k);
                return;
            }
            let mut merged = Vec::with_capacity(k.len() + mine.len());
            let (mut i, mut j) = (0, 0);
            while i < k.len() && j < mine.len() {
                match k[i].cmp(&mine[j]) {
                    std::cmp::Ordering::Less => {
                        merged.push(k[i]);
                        i += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        merged.push(mine[j]);
                        j += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        // Already there (inserted twice): kept once.
                        merged.push(k[i]);
                        i += 1;
                        j += 1;
                    }
                }
            }
            merged.extend_from_slice(&k[i..]);
            merged.extend_from_slice(&mine[j..]);
            *len += merged.len() - k.len();
            // Split after each day a merged posting ended: the later postings
            // of that day (higher item ids) then fall between two chunks and
            // are pushed there (`insert`), not merged in again.
            let mut start = 0;
            for end in day_ends_after(&merged, mine) {
                split_into(&merged[start..end], chunks);
                start = end;
            }
            if start == 0 && merged.len() <= CHUNK {
                chunks.push(merged);
            } else {
                split_into(&merged[start..], chunks);
            }
        };
        for (at, k) in old.into_iter().enumerate() {
            // Where `chunk_for` puts a posting: the first chunk whose last is not below it, else the last.
            let n = if at + 1 == count {
                rest.len()
            } else {
                rest.partition_point(|x| k.last().is_some_and(|l| x <= l))
            };
            let (mine, later) = rest.split_at(n);
            rest = later;
            place(k, mine, &mut chunks, &mut self.len);
        }
        if count == 0 {
            place(Vec::new(), rest, &mut chunks, &mut self.len);
        }
        self.chunks = chunks;
    }

    fn remove(&mut self, p: u64) {
        if let Ok(i) = self.pending.binary_search(&p) {
            self.pending.remove(i);
        }
        let at = self.chunk_for(p);
        let Some(k) = self.chunks.get_mut(at) else {
            return;
        };
        if let Ok(i) = k.binary_search(&p) {
            k.remove(i);
            self.len -= 1;
            if k.is_empty() {
                self.chunks.remove(at);
            }
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
    fn long_postings_agree_with_a_sorted_set_whatever_the_order_of_inserts() {
        // Appends, a backlog in the middle (chunks split), repeats and removals
        // (chunks emptied), checked against a BTreeSet after every step.
        let mut p = Postings::default();
        let mut model = std::collections::BTreeSet::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for step in 0..3_900i64 {
            let (day, item) = match step % 4 {
                // Newest last, as a poll brings them.
                0 | 1 => (500 + (step / 10) as i32, 10_000 + step),
                // A backlog dated anywhere before.
                2 => (rnd(600) as i32, rnd(9_000) as i64),
                // Again an item already there, or one removed.
                _ => match model.iter().nth(rnd(model.len() as u64 + 1) as usize) {
                    Some(&(d, i)) if step % 8 == 3 => (d, i),
                    Some(&(d, i)) => {
                        p.remove((d, i));
                        model.remove(&(d, i));
                        continue;
                    }
                    None => continue,
                },
            };
            p.insert((day, item));
            model.insert((day, item));
            if step % 97 == 0 || step > 3_880 {
                assert_eq!(p.len(), model.len(), "step {step}");
                let (from, to) = (rnd(700) as i32, rnd(700) as i32);
                let mut seen = Vec::new();
                p.in_window(from, to, |i| seen.push(i));
                let want: Vec<i64> = model
                    .iter()
                    .filter(|(d, _)| (from..=to).contains(d))
                    .map(|(_, i)| *i)
                    .collect();
                assert_eq!(seen, want, "step {step}, days {from}..={to}");
            }
        }
        assert!(matches!(p, Postings::Long(_)), "grew long");
        let Postings::Long(c) = &p else {
            unreachable!()
        };
        assert!(c.chunks.len() > 2 && c.chunks.iter().all(|k| !k.is_empty() && k.len() <= CHUNK));
        let mut all = Vec::new();
        p.in_window(i32::MIN, i32::MAX, |i| all.push(i));
        assert_eq!(all.len(), model.len());
    }

    #[test]
    fn postings_of_past_days_wait_and_merge_in_order() {
        // Source after source, each with items on the same 100 past days:
        // every insert after the first source's lands in the middle.
        let mut p = Postings::default();
        let mut model = std::collections::BTreeSet::new();
        for source in 0..30i64 {
            for day in 0..100 {
                let item = source * 1000 + i64::from(day);
                p.insert((day, item));
                model.insert((day, item));
                if item % 37 == 0 {
                    let want: Vec<i64> = model
                        .iter()
                        .filter(|(d, _)| (day - 3..=day + 3).contains(d))
                        .map(|(_, i)| *i)
                        .collect();
                    let mut seen = Vec::new();
                    p.in_window(day - 3, day + 3, |i| seen.push(i));
                    assert_eq!(seen, want, "item {item}");
                }
            }
            if source % 7 == 3 {
                // Removed while some wait, some are merged.
                let gone = (50, source * 1000 + 50);
                p.remove(gone);
                model.remove(&gone);
            }
        }
        assert_eq!(p.len(), model.len());
        let Postings::Long(c) = &p else {
            panic!("grew long")
        };
        assert!(c.pending.len() < PENDING);
        assert!(c.chunks.iter().all(|k| !k.is_empty() && k.len() <= CHUNK));
        let mut all = Vec::new();
        p.in_window(i32::MIN, i32::MAX, |i| all.push(i));
        assert_eq!(all, model.iter().map(|(_, i)| *i).collect::<Vec<_>>());
    }

    #[test]
    fn the_newest_postings_of_earlier_days_are_pushed_once_their_days_end_a_chunk() {
        // The daemon's usual order: source after source, each poll's items
        // newest first over the same few recent days, item ids rising.
        let mut p = Postings::default();
        let mut model = std::collections::BTreeSet::new();
        let mut item = 0i64;
        let mut poll = |p: &mut Postings, model: &mut std::collections::BTreeSet<(i32, i64)>| {
            for day in (100..105).rev() {
                for _ in 0..8 {
                    item += 1;
                    p.insert((day, item));
                    model.insert((day, item));
                }
            }
        };
        // Enough polls to grow long and to merge what waited once.
        for _ in 0..10 {
            poll(&mut p, &mut model);
        }
        let Postings::Long(c) = &p else {
            panic!("grew long")
        };
        let merged_so_far = c.len;
        for _ in 0..40 {
            poll(&mut p, &mut model);
            let Postings::Long(c) = &p else {
                panic!("stays long")
            };
            assert!(c.pending.is_empty(), "nothing waits: {:?}", c.pending);
        }
        let Postings::Long(c) = &p else {
            unreachable!()
        };
        assert_eq!(
            c.len,
            merged_so_far + 40 * 40,
            "every posting went straight into a chunk"
        );
        assert!(c.chunks.iter().all(|k| !k.is_empty() && k.len() <= CHUNK));
        assert!(
            c.chunks.windows(2).all(|w| w[0].last() < w[1].first()),
            "chunks in order"
        );
        let mut all = Vec::new();
        p.in_window(i32::MIN, i32::MAX, |i| all.push(i));
        assert_eq!(all, model.iter().map(|(_, i)| *i).collect::<Vec<_>>());
        let mut day = Vec::new();
        p.in_window(102, 102, |i| day.push(i));
        assert_eq!(day.len(), 50 * 8);
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
