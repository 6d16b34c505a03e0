//! Build script: links this package's executables with packed relative
//! relocations (DT_RELR, `-z pack-relative-relocs`) where the linker and the
//! C library support them.
//!
//! Why: as a position-independent executable, the daemon carries ~80,000
//! relative relocations. In the classic format they are 1.9 MB that the
//! dynamic loader reads once at start and that then stay resident for the
//! process's life; packed, they are 30 KB (BENCHMARKS.md, session 40). The
//! executable stays position-independent, so address randomisation is kept.
//!
//! Hand-written: no crate probes a linker flag by linking and running a
//! program. The probe is needed because the format needs binutils 2.38 (or
//! lld 15) to write it and glibc 2.36 to load it; a toolchain that has the
//! first but not the second would link a daemon that cannot start, and gold
//! rejects the flag. The probe links with the build's own `-C link-arg`s
//! (another linker chosen there is the one asked).

use std::path::{Path, PathBuf};
use std::process::Command;

const PACK_RELATIVE_RELOCS: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo::rerun-if-changed=src/build.rs");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    // Tests check the executables only where the flag was used.
    println!("cargo::rustc-check-cfg=cfg(packed_relocations)");

    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let glibc_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    // The probe runs what it links: only possible when building for this machine.
    let native = var("TARGET") == var("HOST");
    if !(glibc_linux && native) {
        return;
    }
    let out_dir = PathBuf::from(var("OUT_DIR"));
    if links_and_runs(&out_dir) {
        println!("cargo::rustc-link-arg={PACK_RELATIVE_RELOCS}");
        println!("cargo::rustc-cfg=packed_relocations");
    } else {
        println!(
            "cargo::warning=the linker or C library cannot pack relative relocations; \
             the daemon is linked without them and holds about 2 MB more"
        );
    }
}

/// Whether a small C program linked with the flag, by the driver rustc
/// links with, starts: position-independent, with a relative relocation to
/// pack (a pointer to a global in initialised data).
fn links_and_runs(out_dir: &Path) -> bool {
    let source = out_dir.join("relr_probe.c");
    let program = out_dir.join("relr_probe");
    let probe = "static int answer = 42;\n\
                 static int *const pointer = &answer;\n\
                 int main(void) { return *pointer == 42 ? 0 : 1; }\n";
    if std::fs::write(&source, probe).is_err() {
        return false;
    }
    // A linker configured for the target, else rustc's default on Linux:
    // the C compiler driver `cc` (rustc does not read `CC`).
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_string());
    let linked = Command::new(&linker)
        .args(link_args_from_rustflags())
        .args(["-fPIE", "-pie", PACK_RELATIVE_RELOCS, "-o"])
        .arg(&program)
        .arg(&source)
        .output()
        .is_ok_and(|out| out.status.success() && out.stderr.is_empty());
    linked
        && Command::new(&program)
            .status()
            .is_ok_and(|status| status.success())
}

/// The linker arguments the build's own flags pass (`-C link-arg=…`, e.g.
/// `-fuse-ld=mold`), so that the probe links as the executables will.
fn link_args_from_rustflags() -> Vec<String> {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags: Vec<&str> = flags.split('\x1f').collect();
    let mut args = Vec::new();
    for (i, flag) in flags.iter().enumerate() {
        let codegen = match flag.strip_prefix("-C") {
            Some("") => flags.get(i + 1).copied().unwrap_or(""),
            Some(joined) => joined,
            None => continue,
        };
        if let Some(arg) = codegen.strip_prefix("link-arg=") {
            args.push(arg.to_string());
        } else if let Some(list) = codegen.strip_prefix("link-args=") {
            args.extend(list.split_whitespace().map(str::to_string));
        }
    }
    args
}
