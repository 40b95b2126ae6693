//! Finds libvmm: VMM_LIB_DIR (the libvmm tree's build/, as `make rust-test`
//! sets it), else pkg-config's libvmm.pc, else the default linker path.
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=VMM_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    if let Ok(dir) = env::var("VMM_LIB_DIR") {
        println!("cargo:rustc-link-search=native={}", dir);
    } else if let Ok(out) = Command::new("pkg-config").args(["--libs-only-L", "libvmm"]).output() {
        if out.status.success() {
            for flag in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Some(dir) = flag.strip_prefix("-L") {
                    println!("cargo:rustc-link-search=native={}", dir);
                }
            }
        }
    }
    println!("cargo:rustc-link-lib=dylib=vmm");
}
