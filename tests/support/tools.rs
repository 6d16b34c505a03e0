//! Outside programs the tests drive (Chromium, xmllint, Python feedparser):
//! found on this machine or installed once per test process — Debian packages
//! with apt-get (after `apt-get update`, so a fresh machine's empty package
//! lists do not fail the install), Python packages with pip. Installs are
//! serialised: two apt-gets at once would fight over dpkg's lock.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static INSTALLING: Mutex<()> = Mutex::new(());

/// The first of `candidates` that exists, else installs Debian `package` and
/// returns its first candidate; panics naming the package if that fails.
pub fn debian_program(candidates: &[&str], package: &str) -> PathBuf {
    try_debian_program(candidates, package).unwrap_or_else(|| {
        panic!(
            "these tests need {}; install Debian's `{package}` package (apt-get update && apt-get install {package})",
            candidates[0]
        )
    })
}

/// Like [`debian_program`], but `None` where the package can't be installed
/// (for tests that check what they can and say what they skipped).
pub fn try_debian_program(candidates: &[&str], package: &str) -> Option<PathBuf> {
    let found = || candidates.iter().map(PathBuf::from).find(|p| p.exists());
    if let Some(p) = found() {
        return Some(p);
    }
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = found() {
        return Some(p);
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let installed = apt(&["update", "-qq"])
        && apt(&["install", "-y", "-qq", "--no-install-recommends", package]);
    found().filter(|_| installed)
}

/// `xmllint` (Debian `libxml2-utils`).
pub fn xmllint() -> PathBuf {
    debian_program(&["/usr/bin/xmllint"], "libxml2-utils")
}

/// Headless Chromium (Debian `chromium`).
pub fn chromium() -> PathBuf {
    debian_program(
        &[
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome",
        ],
        "chromium",
    )
}

/// A Python 3 that can `import feedparser`, installing it with pip if needed.
pub fn python_with_feedparser() -> PathBuf {
    let python = PathBuf::from("python3");
    let has = |p: &Path| {
        Command::new(p)
            .args(["-c", "import feedparser"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has(&python) {
        return python;
    }
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if has(&python) {
        return python;
    }
    if !Path::new("/usr/bin/python3").exists() && which("python3").is_none() {
        debian_program(&["/usr/bin/python3"], "python3");
    }
    let pip = |extra: &[&str]| {
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "feedparser"])
            .args(extra)
            .status()
            .is_ok_and(|s| s.success())
    };
    // Debian's own python3 refuses pip installs into the system without the flag.
    if !pip(&[]) && !pip(&["--break-system-packages"]) {
        debian_program(
            &["/usr/lib/python3/dist-packages/feedparser"],
            "python3-feedparser",
        );
    }
    assert!(
        has(&python),
        "these tests need Python's feedparser (pip install feedparser, or Debian's python3-feedparser)"
    );
    python
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.exists())
}
