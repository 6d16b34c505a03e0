//! The Debian package (`.ci/package/build-deb`). Fast checks run always: the
//! systemd unit passes `systemd-analyze verify` without a warning and keeps its
//! sandbox, the generated assets (man pages, completions, the packaged config)
//! come out of the binary and match every asset `[package.metadata.deb]` names,
//! the maintainer scripts create the system user, the executable packs its
//! relocations (`src/build.rs`). Building the real `.deb` needs
//! a release build, so that test runs only with `REVIERFEED_PACKAGE_TEST=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use revierfeed::config::Config;

use crate::support;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn package_dir() -> PathBuf {
    repo().join(".ci/package")
}

/// `[package.metadata.deb]` of Cargo.toml.
fn deb_metadata() -> toml::Table {
    let manifest: toml::Table = std::fs::read_to_string(repo().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .unwrap()
        .clone()
}

/// (source, destination) of every asset.
fn assets(meta: &toml::Table) -> Vec<(String, String)> {
    meta["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_array().unwrap();
            (
                a[0].as_str().unwrap().to_string(),
                a[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `systemd-analyze`, installed (after `apt-get update`) when missing and possible.
fn systemd_analyze() -> Option<PathBuf> {
    support::tools::try_debian_program(
        &["/usr/bin/systemd-analyze", "/bin/systemd-analyze"],
        "systemd",
    )
}

#[test]
fn the_unit_is_sandboxed_and_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(package_dir().join("revierfeed.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    for wanted in [
        "User=revierfeed",
        "StateDirectory=revierfeed",
        "ConfigurationDirectory=revierfeed",
        "ExecStart=/usr/bin/revierfeed --config /etc/revierfeed/config.toml run",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ProtectSystem=strict",
        "ProtectHome=true",
        "NoNewPrivileges=true",
        "PrivateTmp=true",
        "PrivateDevices=true",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=",
        "WantedBy=multi-user.target",
    ] {
        assert!(lines.contains(&wanted), "the unit lacks `{wanted}`");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("RestrictAddressFamilies=") && !l.contains("AF_PACKET")),
        "the unit must restrict address families"
    );
    // The packaged config keeps its database where StateDirectory= lets it write.
    let config = packaged_config();
    assert!(config.database_path().starts_with("/var/lib/revierfeed"));

    let Some(analyze) = systemd_analyze() else {
        eprintln!("systemd-analyze is missing and could not be installed: verify skipped");
        return;
    };
    // The binary is not installed here: the unit is verified with the test's
    // binary in its place (verify checks that the command exists).
    let dir = tempfile::tempdir().unwrap();
    let verify = |text: &str| {
        let path = dir.path().join("revierfeed.service");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(&analyze)
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let testable = unit.replace("/usr/bin/revierfeed", env!("CARGO_BIN_EXE_revierfeed"));
    let (ok, warnings) = verify(&testable);
    assert!(
        ok && warnings.trim().is_empty(),
        "systemd-analyze verify:\n{warnings}"
    );
    // The check sees mistakes: a misspelt directive is reported.
    let (_, warnings) = verify(&testable.replace("ProtectHome=", "ProtectHomes="));
    assert!(warnings.contains("ProtectHomes"), "{warnings}");
}

/// The config the package installs, as `packaged-config` derives it.
fn packaged_config() -> Config {
    let out = Command::new(package_dir().join("packaged-config"))
        .arg(repo().join("config.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    Config::parse(&text, Path::new("/etc/revierfeed/config.toml")).unwrap()
}

#[test]
fn the_packaged_config_is_the_shipped_one_with_its_database_in_var_lib() {
    let shipped = Config::load(&repo().join("config.toml")).unwrap();
    let packaged = packaged_config();
    assert_eq!(
        packaged.database_path(),
        Path::new("/var/lib/revierfeed/revierfeed.db")
    );
    assert_eq!(packaged.server.listen.to_string(), "127.0.0.1:8080");
    // Everything else is the shipped config.
    let ids = |c: &Config| c.sources.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&packaged), ids(&shipped));
    assert_eq!(packaged.feed, shipped.feed);
    assert_eq!(packaged.fetch, shipped.fetch);
    assert_eq!(
        packaged.storage.keep_days, shipped.storage.keep_days,
        "only the database path differs"
    );
}

#[test]
fn the_generated_assets_are_every_asset_the_package_names() {
    let meta = deb_metadata();
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("package-assets");
    let status = Command::new(package_dir().join("assets"))
        .arg(env!("CARGO_BIN_EXE_revierfeed"))
        .arg(&generated)
        .status()
        .unwrap();
    assert!(status.success());

    let assets = assets(&meta);
    let destinations: Vec<&str> = assets.iter().map(|(_, d)| d.as_str()).collect();
    for wanted in [
        "usr/bin/",
        "etc/revierfeed/config.toml",
        "usr/share/man/man1/",
        "usr/share/bash-completion/completions/revierfeed",
        "usr/share/zsh/vendor-completions/_revierfeed",
        "usr/share/fish/vendor_completions.d/revierfeed.fish",
    ] {
        assert!(destinations.contains(&wanted), "no asset goes to {wanted}");
    }
    for (source, _) in &assets {
        if source == "target/release/revierfeed" {
            continue;
        }
        // Generated assets are looked for where `assets` wrote them, the rest in the repository.
        let path = match source.strip_prefix("target/release/package-assets/") {
            Some(rel) => generated.join(rel),
            None => repo().join(source),
        };
        let found = match path.file_name().and_then(|n| n.to_str()) {
            Some(pattern) if pattern.starts_with('*') => {
                let suffix = &pattern[1..];
                std::fs::read_dir(path.parent().unwrap())
                    .unwrap()
                    .filter(|e| {
                        e.as_ref()
                            .unwrap()
                            .file_name()
                            .to_string_lossy()
                            .ends_with(suffix)
                    })
                    .count()
            }
            _ => usize::from(path.is_file()),
        };
        assert!(found > 0, "asset {source} is not produced");
    }
    // A man page per command, besides revierfeed(1).
    let pages = std::fs::read_dir(generated.join("man")).unwrap().count();
    assert!(pages >= 10, "{pages} man pages");

    let units = meta["systemd-units"].as_table().unwrap();
    let unit_dir = repo().join(units["unit-scripts"].as_str().unwrap());
    assert!(unit_dir.join("revierfeed.service").is_file());
    assert_eq!(
        meta["conf-files"].as_array().unwrap()[0].as_str(),
        Some("/etc/revierfeed/config.toml")
    );
    assert!(meta["depends"].as_str().unwrap().contains("adduser"));
}

#[test]
fn the_maintainer_scripts_create_the_system_user() {
    let meta = deb_metadata();
    let scripts = repo().join(meta["maintainer-scripts"].as_str().unwrap());
    let postinst = std::fs::read_to_string(scripts.join("postinst")).unwrap();
    assert!(
        postinst.contains("adduser --system") && postinst.contains("revierfeed"),
        "{postinst}"
    );
    for script in [
        scripts.join("postinst"),
        scripts.join("postrm"),
        package_dir().join("build-deb"),
        package_dir().join("assets"),
        package_dir().join("packaged-config"),
    ] {
        let text = std::fs::read_to_string(&script).unwrap();
        if script.parent() == Some(&scripts) {
            // cargo-deb puts the unit's enable/start/stop snippets here.
            // Exactly once: a second token (in a comment, say) would be replaced as well.
            assert_eq!(
                text.matches("#DEBHELPER#").count(),
                1,
                "{}",
                script.display()
            );
        }
        let syntax = Command::new("sh").arg("-n").arg(&script).status().unwrap();
        assert!(syntax.success(), "{} is not valid sh", script.display());
    }
}

/// `src/build.rs` links the executables with packed relative relocations
/// (DT_RELR) where the toolchain can: the daemon's ~80,000 relocations are
/// then about 30 KB instead of 1.9 MB kept resident for its whole life.
/// Read from the daemon's own ELF section headers (by hand: four fields of
/// a fixed layout, not worth a parsing crate): a RELR section, and no
/// large RELA one left.
#[cfg(packed_relocations)]
#[test]
fn the_daemon_packs_its_relative_relocations() {
    const SHT_RELA: u32 = 4;
    const SHT_RELR: u32 = 19;
    let elf = std::fs::read(env!("CARGO_BIN_EXE_revierfeed")).unwrap();
    assert_eq!(
        &elf[..6],
        b"\x7fELF\x02\x01",
        "a 64-bit little-endian ELF file"
    );
    let bytes = |at: usize, n: usize| -> u64 {
        elf[at..at + n]
            .iter()
            .rev()
            .fold(0, |v, &b| v << 8 | u64::from(b))
    };
    let (table, entry_size, entries) = (bytes(0x28, 8), bytes(0x3a, 2), bytes(0x3c, 2));
    let sections: Vec<(u64, u64)> = (0..entries)
        .map(|i| (table + i * entry_size) as usize)
        .map(|header| (bytes(header + 4, 4), bytes(header + 0x20, 8)))
        .collect();
    let size_of = |kind: u32| -> u64 {
        sections
            .iter()
            .filter(|s| s.0 == u64::from(kind))
            .map(|s| s.1)
            .sum()
    };
    assert!(size_of(SHT_RELR) > 0, "no packed relocations in the daemon");
    assert!(
        size_of(SHT_RELA) < 64 * 1024,
        "{} bytes of unpacked relocations in the daemon",
        size_of(SHT_RELA)
    );
}

/// Builds the real package (a release build: minutes) and looks inside.
#[test]
fn the_deb_builds_and_holds_everything() {
    if std::env::var_os("REVIERFEED_PACKAGE_TEST").is_none_or(|v| v != "1") {
        eprintln!("set REVIERFEED_PACKAGE_TEST=1 to build the .deb (release build)");
        return;
    }
    let status = Command::new(package_dir().join("build-deb"))
        .status()
        .unwrap();
    assert!(status.success(), "build-deb failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let deb = std::fs::read_dir(target.join("debian"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .max_by_key(|p| p.metadata().unwrap().modified().unwrap())
        .expect("a .deb in target/debian");
    let run = |args: &[&str]| {
        let out = Command::new("dpkg-deb")
            .args(args)
            .arg(&deb)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let contents = run(&["-c"]);
    for path in [
        "./usr/bin/revierfeed",
        "./etc/revierfeed/config.toml",
        "./usr/share/man/man1/revierfeed.1.gz",
        "./usr/share/man/man1/revierfeed-run.1.gz",
        "./usr/share/bash-completion/completions/revierfeed",
        "./usr/share/zsh/vendor-completions/_revierfeed",
        "./usr/share/fish/vendor_completions.d/revierfeed.fish",
        "revierfeed.service",
    ] {
        assert!(contents.contains(path), "{path} missing:\n{contents}");
    }
    let control = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(control.path())
        .status()
        .unwrap();
    assert!(out.success());
    let conffiles = std::fs::read_to_string(control.path().join("conffiles")).unwrap();
    assert!(conffiles.contains("/etc/revierfeed/config.toml"));
    let postinst = std::fs::read_to_string(control.path().join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system") && postinst.contains("deb-systemd-helper"));
    assert!(run(&["-f"]).contains("adduser"));
}
