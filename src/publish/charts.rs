//! The small pictures on /status, as inline SVG (no JavaScript, no external
//! files): a source's items per week over the last weeks, and its last polls
//! (bar height: time taken; colour: how the poll ended). Each picture names
//! its figures in `aria-label`, and each bar in a `<title>` tooltip, so the
//! numbers are there for screen readers and on hover. Drawn by hand: two
//! bar charts don't justify a plotting crate.

use std::fmt::Write;

use super::html::{attr, esc, local};
use crate::store::{PollPoint, PollResult};

const HEIGHT: u32 = 32;
/// Bars never shrink below this, so an empty week or a fast poll still shows.
const MIN_BAR: u32 = 1;

/// Items per week, oldest first (the last is the current week).
pub(crate) fn weekly_items(weeks: &[u32]) -> String {
    let (bar, gap) = (10u32, 3u32);
    let max = weeks.iter().copied().max().unwrap_or(0).max(1);
    let total: u32 = weeks.iter().sum();
    let label = format!(
        "Einträge je Woche, letzte {} Wochen (älteste zuerst): {} – zusammen {total}",
        weeks.len(),
        weeks
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let width = (weeks.len() as u32 * (bar + gap)).max(1);
    let mut svg = open(width, &label);
    for (i, n) in weeks.iter().enumerate() {
        let h = scaled(u64::from(*n), u64::from(max));
        let ago = weeks.len() - 1 - i;
        let when = match ago {
            0 => "diese Woche".to_string(),
            1 => "vor 1 Woche".to_string(),
            k => format!("vor {k} Wochen"),
        };
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{bar}\" height=\"{h}\" fill=\"{}\"><title>{}: {n} Einträge</title></rect>",
            i as u32 * (bar + gap),
            HEIGHT - h,
            if *n == 0 { "#9e9e9e" } else { "#0b5394" },
            esc(&when)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The last polls, oldest first.
pub(crate) fn recent_polls(polls: &[PollPoint]) -> String {
    let (bar, gap) = (5u32, 1u32);
    let max = polls
        .iter()
        .map(|p| p.duration_ms.max(0) as u64)
        .max()
        .unwrap_or(0)
        .max(1);
    let count = |r: PollResult| polls.iter().filter(|p| p.result == r).count();
    let label = format!(
        "Letzte {} Abrufe: {} gelesen, {} unverändert, {} mit Warnung, {} fehlgeschlagen; längster {} ms",
        polls.len(),
        count(PollResult::Ok),
        count(PollResult::Unchanged),
        count(PollResult::Warning),
        count(PollResult::Failed),
        polls.iter().map(|p| p.duration_ms).max().unwrap_or(0)
    );
    let width = (polls.len() as u32 * (bar + gap)).max(1);
    let mut svg = open(width, &label);
    for (i, p) in polls.iter().enumerate() {
        // A failed poll is drawn full height: colour alone must not carry the meaning.
        let h = if p.result == PollResult::Failed {
            HEIGHT
        } else {
            scaled(p.duration_ms.max(0) as u64, max)
        };
        let (fill, word) = match p.result {
            PollResult::Ok => ("#1a6b1a", "gelesen"),
            PollResult::Unchanged => ("#78909c", "unverändert"),
            PollResult::Warning => ("#b26a00", "mit Warnung"),
            PollResult::Failed => ("#c62828", "fehlgeschlagen"),
        };
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{bar}\" height=\"{h}\" fill=\"{fill}\"><title>{}: {word}, {} ms</title></rect>",
            i as u32 * (bar + gap),
            HEIGHT - h,
            esc(&local(p.at)),
            p.duration_ms
        );
    }
    svg.push_str("</svg>");
    svg
}

fn open(width: u32, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{HEIGHT}\" viewBox=\"0 0 {width} {HEIGHT}\">",
        attr(label)
    )
}

/// `n` of `max` as a bar height, at least [`MIN_BAR`].
fn scaled(n: u64, max: u64) -> u32 {
    ((n * u64::from(HEIGHT)).div_ceil(max) as u32).clamp(MIN_BAR, HEIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(svg: &str) -> Vec<(u32, String)> {
        svg.split("<rect ")
            .skip(1)
            .map(|r| {
                let get = |k: &str| {
                    let start = r.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
                    r[start..].split('"').next().unwrap().to_string()
                };
                (get("height").parse().unwrap(), get("fill"))
            })
            .collect()
    }

    #[test]
    fn weekly_bars_scale_to_the_busiest_week() {
        let svg = weekly_items(&[0, 2, 4, 0, 0, 0, 0, 0, 0, 0, 1, 4]);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script"));
        let b = bars(&svg);
        assert_eq!(b.len(), 12);
        assert_eq!(b[2].0, HEIGHT);
        assert_eq!(b[1].0, HEIGHT / 2);
        assert_eq!(b[0].0, MIN_BAR, "an empty week still shows");
        assert_ne!(b[0].1, b[1].1, "empty weeks are drawn differently");
        assert!(svg.contains("aria-label=\"Einträge je Woche, letzte 12 Wochen (älteste zuerst): 0, 2, 4, 0, 0, 0, 0, 0, 0, 0, 1, 4 – zusammen 11\""));
        assert!(svg.contains("<title>diese Woche: 4 Einträge</title>"));
    }

    #[test]
    fn poll_bars_show_time_and_result() {
        let t: chrono::DateTime<chrono::Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        let p = |ms, result| PollPoint {
            at: t,
            duration_ms: ms,
            result,
        };
        let svg = recent_polls(&[
            p(100, PollResult::Ok),
            p(400, PollResult::Unchanged),
            p(50, PollResult::Failed),
            p(200, PollResult::Warning),
        ]);
        let b = bars(&svg);
        assert_eq!(
            b.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![8, 32, 32, 16]
        );
        let fills: std::collections::HashSet<_> = b.iter().map(|x| x.1.clone()).collect();
        assert_eq!(fills.len(), 4, "each result has its colour");
        assert!(svg.contains("1 fehlgeschlagen; längster 400 ms"));
        assert!(svg.contains("<title>02.03.2026, 11:00: fehlgeschlagen, 50 ms</title>"));
        // No polls yet: an empty picture, still valid markup.
        assert!(recent_polls(&[]).ends_with("</svg>"));
    }
}
