//! Installing a Debian package a test needs (Chromium, systemd-analyze):
//! `apt-get update` first, because a fresh machine's package lists are empty
//! and `apt-get install` alone fails there.

use std::process::Command;

/// Installs `package` with apt-get (as root, non-interactive); whether it worked.
pub fn install(package: &str) -> bool {
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    apt(&["update"]) && apt(&["install", "-y", "--no-install-recommends", package])
}
