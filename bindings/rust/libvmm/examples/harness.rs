//! harness: run a directory of test guests in parallel VMs and report TAP,
//! the Rust counterpart of examples/harness (same rules, same options).
//!
//! A test `NAME.elf` passes when the guest writes 0 to the debug exit port
//! and, if `NAME.expected` exists next to it, its serial output is exactly
//! that. Each test gets a fresh VM and a time limit; a failure shows the
//! reason and the guest's output as TAP diagnostics.
//!
//!     cargo run --example harness -- [-b emu|kvm] [-j JOBS] [-t TIMEOUT_MS] DIR
use libvmm::{Config, End, Vm};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

struct Opts {
    backend: String,
    jobs: usize,
    timeout: Duration,
    dir: PathBuf,
}

/// Ok(()) or the reason and the output.
type Outcome = Result<(), (String, Vec<u8>)>;

fn run_test(o: &Opts, elf: &Path) -> Outcome {
    let fail = |e: libvmm::Error| (e.to_string(), Vec::new());
    let mut vm = Vm::new(&Config::new().backend(&o.backend)).map_err(fail)?;
    let out = vm.capture_serial().map_err(fail)?;
    vm.load_elf(elf, None).map_err(fail)?;
    let res = vm.run(Some(o.timeout)).map_err(fail)?;
    let text = out.lock().unwrap().clone();
    if (res.end, res.code) != (End::DebugExit, 0) {
        return Err((res.message, text));
    }
    let exp = elf.with_extension("expected");
    match std::fs::read(&exp) {
        Ok(want) if want != text => Err((format!("serial output differs from {}", exp.display()), text)),
        _ => Ok(()),
    }
}

fn parse() -> Result<Opts, String> {
    let mut o =
        Opts { backend: "emu".into(), jobs: 4, timeout: Duration::from_secs(10), dir: PathBuf::new() };
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{} needs a value", a));
        match a.as_str() {
            "-b" => o.backend = val()?,
            "-j" => o.jobs = val()?.parse::<usize>().map_err(|e| e.to_string())?.clamp(1, 64),
            "-t" => {
                o.timeout =
                    Duration::from_millis(val()?.parse().map_err(|e: std::num::ParseIntError| e.to_string())?)
            }
            _ if dir.is_none() && !a.starts_with('-') => dir = Some(PathBuf::from(a)),
            _ => return Err(format!("unknown argument {}", a)),
        }
    }
    o.dir = dir.ok_or("no directory given")?;
    Ok(o)
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("harness: {}\nusage: harness [-b emu|kvm] [-j JOBS] [-t TIMEOUT_MS] DIR", e);
            std::process::exit(2);
        }
    };
    let mut tests: Vec<PathBuf> = match std::fs::read_dir(&o.dir) {
        Ok(d) => d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().map_or(false, |x| x == "elf"))
            .collect(),
        Err(e) => {
            eprintln!("harness: {}: {}", o.dir.display(), e);
            std::process::exit(2);
        }
    };
    tests.sort();
    println!("TAP version 13\n1..{}", tests.len());
    // Results are printed in order, each once every earlier test is done.
    let results: Mutex<(usize, Vec<Option<Outcome>>)> = Mutex::new((0, tests.iter().map(|_| None).collect()));
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..o.jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= tests.len() {
                    return;
                }
                let r = run_test(&o, &tests[i]);
                let mut g = results.lock().unwrap();
                g.1[i] = Some(r);
                while g.0 < tests.len() && g.1[g.0].is_some() {
                    let n = g.0;
                    let name = tests[n].file_stem().unwrap().to_string_lossy().into_owned();
                    match g.1[n].take().unwrap() {
                        Ok(()) => println!("ok {} - {}", n + 1, name),
                        Err((why, out)) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            println!("not ok {} - {}\n# {}", n + 1, name, why);
                            for line in String::from_utf8_lossy(&out).lines() {
                                println!("#   | {}", line);
                            }
                        }
                    }
                    g.1[n] = Some(Ok(()));
                    g.0 += 1;
                }
            });
        }
    });
    let failed = failed.load(Ordering::SeqCst);
    println!("# {} tests, {} failed", tests.len(), failed);
    std::process::exit(if failed > 0 { 1 } else { 0 });
}
