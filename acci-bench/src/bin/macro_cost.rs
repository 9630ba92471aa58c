//! What the macros cost at compile time.
//!
//! ```text
//! cargo run --release -p acci-bench --bin macro-cost [-- --runs N]
//! ```
//!
//! Writes two crates under `target/macro-cost/` of the workspace (or of
//! `CARGO_TARGET_DIR`), each with its own `[workspace]` table so that neither joins this
//! workspace, both with the same dependencies (acci-core by path, serde, serde_json,
//! thiserror) and the workspace's `Cargo.lock`:
//!
//! - `fixture`: 200 `#[event]`s, 20 `#[derive(Aggregate)]`s of 10 events each with their
//!   `Apply` impls, and 20 `#[projection]`s, each reading the 10 events of one aggregate,
//!   with their `Project` impls;
//! - `baseline`: the same domain written without the macros: plain structs with serde
//!   derives, and per aggregate and read model a hand-written event enum with `From`
//!   impls, a decoding `match` on the stored name and version, and a dispatching `match`
//!   onto the same method bodies; the decoding and dispatching functions are `#[inline]`
//!   where the generated ones are, so both crates leave the same code (serde's
//!   deserializers among it) to be compiled where it is called.
//!
//! The two share a target directory (`target/macro-cost/target`), so their dependencies
//! compile once, in a first build that is not timed. Then, `--runs` times (3 unless told),
//! each crate's own artifacts are removed (`cargo clean -p`) and a debug `cargo build` of
//! the crate is timed, in wall-clock time and in the CPU time of cargo and the compilers
//! it ran (Linux; steadier on a busy machine); the table gives every run, the medians,
//! the medians per item (240 items: 200 events, 20 aggregates, 20 read models) and the
//! difference of the two crates, which is the cost of the macros: expanding them and
//! compiling what they generate beyond the hand-written equivalent (trait impls, the
//! table's SQL, finders, compile-time checks). A no-op `cargo build` is timed too, to show cargo's own share of each figure.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use std::{env, fs};

/// Aggregates in each crate.
const AGGREGATES: usize = 20;
/// Events of each aggregate (and read model).
const EVENTS_PER_AGGREGATE: usize = 10;
/// Read models in each crate, one per aggregate.
const PROJECTIONS: usize = AGGREGATES;
/// Events in each crate.
const EVENTS: usize = AGGREGATES * EVENTS_PER_AGGREGATE;
/// Items the per-item figures divide by.
const ITEMS: usize = EVENTS + AGGREGATES + PROJECTIONS;

/// Why the measurement stopped.
#[derive(Debug, thiserror::Error)]
enum CostError {
    /// The command line was not understood.
    #[error("{0}\nusage: macro-cost [--runs N]")]
    Usage(String),
    /// Writing a generated crate failed.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Cargo could not be started.
    #[error("cannot run `{cargo} {args}`: {source}")]
    Spawn {
        /// The cargo binary.
        cargo: String,
        /// Its arguments.
        args: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A cargo command failed; its standard error is kept.
    #[error("`cargo {args}` in `{dir}` failed ({status}):\n{stderr}")]
    Cargo {
        /// Its arguments.
        args: String,
        /// Where it ran.
        dir: PathBuf,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed on standard error.
        stderr: String,
    },
}

/// One generated crate: its package name and folder.
struct Crate {
    /// The package name, as `cargo clean -p` takes it.
    name: &'static str,
    /// Its folder, with `Cargo.toml` and `src/lib.rs`.
    dir: PathBuf,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("macro-cost: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses `--runs N`, writes the crates, builds their dependencies, times the crates and
/// prints the table.
fn run() -> Result<(), CostError> {
    let runs = parse_runs(env::args().skip(1))?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("acci-bench lives in the workspace")
        .to_path_buf();
    let root = target_dir(&workspace).join("macro-cost");
    let target = root.join("target");
    let lock = workspace.join("Cargo.lock");

    let fixture = Crate {
        name: "macro-cost-fixture",
        dir: root.join("fixture"),
    };
    let baseline = Crate {
        name: "macro-cost-baseline",
        dir: root.join("baseline"),
    };
    let core = workspace.join("acci-core");
    write_crate(&fixture, &core, &lock, &fixture_source())?;
    write_crate(&baseline, &core, &lock, &baseline_source())?;

    println!(
        "macro-cost: {EVENTS} events, {AGGREGATES} aggregates, {PROJECTIONS} read models \
         ({ITEMS} items) per crate, in {}",
        root.display()
    );
    println!("building the dependencies (not timed)…");
    for krate in [&fixture, &baseline] {
        cargo(krate, &target, &["build", "--quiet"])?;
    }
    let noop = time_build(&fixture, &target)?;

    let mut fixture_times = Vec::with_capacity(runs);
    let mut baseline_times = Vec::with_capacity(runs);
    for run in 1..=runs {
        // Alternate which crate goes first, so drift in the machine's load falls on both.
        let order: [(&Crate, &mut Vec<Timing>); 2] = if run % 2 == 1 {
            [
                (&fixture, &mut fixture_times),
                (&baseline, &mut baseline_times),
            ]
        } else {
            [
                (&baseline, &mut baseline_times),
                (&fixture, &mut fixture_times),
            ]
        };
        for (krate, times) in order {
            cargo(krate, &target, &["clean", "--quiet", "-p", krate.name])?;
            let took = time_build(krate, &target)?;
            println!(
                "  run {run}: {:<20} {:>7.2} s wall, {} s CPU",
                krate.name,
                took.wall.as_secs_f64(),
                took.cpu
                    .map_or_else(|| "?".into(), |cpu| format!("{:.2}", cpu.as_secs_f64()))
            );
            times.push(took);
        }
    }
    print!("{}", table(&fixture_times, &baseline_times, noop));
    Ok(())
}

/// The number of timed runs: `--runs N`, 3 by default.
fn parse_runs(mut args: impl Iterator<Item = String>) -> Result<usize, CostError> {
    let mut runs = 3;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let value = args
                    .next()
                    .ok_or_else(|| CostError::Usage("`--runs` needs a number".into()))?;
                runs = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    CostError::Usage(format!("`--runs {value}`: expected a number from 1"))
                })?;
            }
            other => return Err(CostError::Usage(format!("unknown argument `{other}`"))),
        }
    }
    Ok(runs)
}

/// The workspace's target directory: `CARGO_TARGET_DIR` (relative to the workspace when
/// it is relative), else `target/` of the workspace.
fn target_dir(workspace: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    }
}

/// Writes `Cargo.toml`, `Cargo.lock` (the workspace's, so both crates resolve the same
/// versions) and `src/lib.rs` of one crate; files whose text is unchanged are left alone.
fn write_crate(krate: &Crate, core: &Path, lock: &Path, source: &str) -> Result<(), CostError> {
    let manifest = format!(
        r#"# Generated by `cargo run -p acci-bench --bin macro-cost`; rewritten on every run.
[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
acci-core = {{ path = {core:?} }}
serde = {{ version = "1", features = ["derive", "rc"] }}
serde_json = {{ version = "1", features = ["float_roundtrip"] }}
thiserror = "2"

# Not a member of the ACCI workspace.
[workspace]
"#,
        name = krate.name,
        core = core.display().to_string(),
    );
    let lock_text = fs::read_to_string(lock).map_err(|source| CostError::Write {
        path: lock.to_path_buf(),
        source,
    })?;
    let src = krate.dir.join("src");
    fs::create_dir_all(&src).map_err(|source| CostError::Write {
        path: src.clone(),
        source,
    })?;
    write_if_changed(&krate.dir.join("Cargo.toml"), &manifest)?;
    // Cargo prunes the entries this crate does not use when it builds; copying the whole
    // lock again each run changes no artifact.
    write_if_changed(&krate.dir.join("Cargo.lock"), &lock_text)?;
    write_if_changed(&src.join("lib.rs"), source)
}

/// Writes `text` to `path` unless the file already holds it.
fn write_if_changed(path: &Path, text: &str) -> Result<(), CostError> {
    if fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    fs::write(path, text).map_err(|source| CostError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Runs `cargo <args>` in the crate's folder with the shared target directory; on failure
/// the error carries cargo's standard error.
fn cargo(krate: &Crate, target: &Path, args: &[&str]) -> Result<(), CostError> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(&cargo)
        .args(args)
        .current_dir(&krate.dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .map_err(|source| CostError::Spawn {
            cargo: cargo.clone(),
            args: args.join(" "),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(CostError::Cargo {
        args: args.join(" "),
        dir: krate.dir.clone(),
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// What one build took.
#[derive(Clone, Copy)]
struct Timing {
    /// Wall-clock time.
    wall: Duration,
    /// CPU time (user and system) of cargo and the compilers it ran, where the system
    /// says (Linux); less disturbed than `wall` by other work on the machine.
    cpu: Option<Duration>,
}

/// Times one debug `cargo build` of the crate.
fn time_build(krate: &Crate, target: &Path) -> Result<Timing, CostError> {
    let cpu_before = children_cpu();
    let start = Instant::now();
    cargo(krate, target, &["build", "--quiet"])?;
    let wall = start.elapsed();
    let cpu = children_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(Timing { wall, cpu })
}

/// The CPU time of this process's finished children and their descendants: fields
/// `cutime` and `cstime` of `/proc/self/stat`, in clock ticks of 1/100 s (Linux's
/// `USER_HZ`). `None` where there is no `/proc`.
fn children_cpu() -> Option<Duration> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces:
    // the state is field 3 of the whole line, `cutime` and `cstime` fields 16 and 17.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let ticks = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Duration::from_millis((ticks(16)? + ticks(17)?) * 10))
}

/// The median of `times`, which is not empty.
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2
    }
}

/// The medians of a crate's wall and CPU times; the CPU median only if every run has one.
fn medians(times: &[Timing]) -> (Duration, Option<Duration>) {
    let wall: Vec<Duration> = times.iter().map(|t| t.wall).collect();
    let cpu: Option<Vec<Duration>> = times.iter().map(|t| t.cpu).collect();
    (median(&wall), cpu.map(|cpu| median(&cpu)))
}

/// The result table, in Markdown.
fn table(fixture: &[Timing], baseline: &[Timing], noop: Timing) -> String {
    let secs = |d: Duration| d.as_secs_f64();
    let per_item = |s: f64| s * 1000.0 / ITEMS as f64;
    let runs = |times: &[Timing]| {
        times
            .iter()
            .map(|t| format!("{:.2}", secs(t.wall)))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let cells = |wall: f64, cpu: Option<f64>| {
        let cpu = cpu.map_or_else(
            || "? | ?".to_owned(),
            |cpu| format!("{cpu:.2} | {:.2}", per_item(cpu)),
        );
        format!("{wall:.2} | {:.2} | {cpu}", per_item(wall))
    };
    let ((fw, fc), (bw, bc)) = (medians(fixture), medians(baseline));
    let (fw, bw) = (secs(fw), secs(bw));
    let (fc, bc) = (fc.map(secs), bc.map(secs));
    let diff_cpu = fc.zip(bc).map(|(f, b)| f - b);
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| crate ({ITEMS} items) | wall, each run (s) | wall median (s) | wall per item (ms) | CPU median (s) | CPU per item (ms) |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| with the macros (`fixture`) | {} | {} |",
        runs(fixture),
        cells(fw, fc)
    );
    let _ = writeln!(
        out,
        "| hand-written (`baseline`) | {} | {} |",
        runs(baseline),
        cells(bw, bc)
    );
    let _ = writeln!(
        out,
        "| macro cost (difference) | | {} |",
        cells(fw - bw, diff_cpu)
    );
    let _ = writeln!(out);
    let relative = |f: f64, b: f64| (f - b) / b * 100.0;
    let _ = writeln!(
        out,
        "Debug `cargo build` of each crate alone, its dependencies built. The macros add {:+.0} % \
         wall{}; a no-op `cargo build` takes {:.2} s of each figure.",
        relative(fw, bw),
        fc.zip(bc).map_or_else(String::new, |(f, b)| format!(
            ", {:+.0} % CPU",
            relative(f, b)
        )),
        secs(noop.wall)
    );
    out
}

/// The name of event `k`, `0 <= k < EVENTS`.
fn event_name(k: usize) -> String {
    format!("Event{k:03}")
}

/// The events of aggregate (and read model) `a`.
fn events_of(a: usize) -> impl Iterator<Item = usize> {
    a * EVENTS_PER_AGGREGATE..(a + 1) * EVENTS_PER_AGGREGATE
}

/// The fields of event `k`: three, of types that vary with `k`.
fn event_fields(k: usize) -> String {
    let extra = match k % 3 {
        0 => "pub note: Option<String>,",
        1 => "pub flag: bool,",
        _ => "pub tags: Vec<String>,",
    };
    format!("pub id: String, pub amount: i64, {extra}")
}

/// The body that applies or projects event `k` to `state` (an aggregate or a row).
fn event_effect(k: usize, state: &str, event: &str) -> String {
    let op = if k.is_multiple_of(2) { "+=" } else { "-=" };
    format!("{state}.total {op} {event}.amount; {state}.count += 1;")
}

/// The crate written with the macros.
fn fixture_source() -> String {
    let mut s = String::from(
        "//! Generated by `macro-cost`: the domain written with ACCI's macros.\n\n\
         use acci_core::prelude::*;\n\n",
    );
    for k in 0..EVENTS {
        let _ = writeln!(
            s,
            "#[event]\npub struct {} {{ {} }}\n",
            event_name(k),
            event_fields(k)
        );
    }
    for a in 0..AGGREGATES {
        let events: Vec<String> = events_of(a).map(event_name).collect();
        let _ = writeln!(
            s,
            "#[derive(Aggregate, Default)]\n#[aggregate(events({}))]\n\
             pub struct Aggregate{a:02} {{ pub total: i64, pub count: u64, pub last: String }}\n",
            events.join(", ")
        );
        for k in events_of(a) {
            let _ = writeln!(
                s,
                "impl Apply<{e}> for Aggregate{a:02} {{\n    fn apply(&mut self, event: &{e}) {{ {} self.last.clone_from(&event.id); }}\n}}\n",
                event_effect(k, "self", "event"),
                e = event_name(k),
            );
        }
    }
    for p in 0..PROJECTIONS {
        let events: Vec<String> = events_of(p).map(event_name).collect();
        let _ = writeln!(
            s,
            "#[projection(events({}))]\n\
             pub struct View{p:02} {{ #[projection(key)] pub id: String, pub total: i64, pub count: i64 }}\n",
            events.join(", ")
        );
        for k in events_of(p) {
            let _ = writeln!(
                s,
                "impl Project<{e}> for View{p:02} {{\n    fn project(row: &mut Option<Self>, event: &Recorded<{e}>) {{\n        \
                 let row = row.get_or_insert_with(|| View{p:02} {{ id: event.stream.aggregate_id.to_string(), total: 0, count: 0 }});\n        \
                 {}\n    }}\n}}\n",
                event_effect(k, "row", "event.data"),
                e = event_name(k),
            );
        }
    }
    s
}

/// The same domain written by hand: no macros, no framework traits.
fn baseline_source() -> String {
    let mut s = String::from(
        "//! Generated by `macro-cost`: the domain written by hand, without ACCI's macros.\n\n\
         use serde::{Deserialize, Serialize};\nuse serde_json::Value;\n\n\
         /// Why a stored event could not be read.\n\
         #[derive(Debug, thiserror::Error)]\npub enum DecodeError {\n    \
         #[error(\"bad payload: {0}\")]\n    Payload(#[from] serde_json::Error),\n    \
         #[error(\"no event `{0}` at version {1}\")]\n    Unknown(String, u32),\n}\n\n",
    );
    for k in 0..EVENTS {
        let _ = writeln!(
            s,
            "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\npub struct {} {{ {} }}\n",
            event_name(k),
            event_fields(k)
        );
    }
    for a in 0..AGGREGATES {
        let name = format!("Aggregate{a:02}");
        let en = format!("{name}Event");
        let _ = writeln!(
            s,
            "#[derive(Default)]\npub struct {name} {{ pub total: i64, pub count: u64, pub last: String }}\n"
        );
        let variants: String = events_of(a)
            .map(|k| format!("    {e}({e}),\n", e = event_name(k)))
            .collect();
        let _ = writeln!(
            s,
            "#[derive(Debug, Clone, PartialEq)]\npub enum {en} {{\n{variants}}}\n"
        );
        for k in events_of(a) {
            let _ = writeln!(
                s,
                "impl From<{e}> for {en} {{\n    fn from(event: {e}) -> Self {{ Self::{e}(event) }}\n}}\n",
                e = event_name(k)
            );
        }
        let names: String = events_of(a)
            .map(|k| format!("            Self::{e}(_) => \"{e}\",\n", e = event_name(k)))
            .collect();
        let payloads: String = events_of(a)
            .map(|k| {
                format!(
                    "            Self::{e}(e) => serde_json::to_value(e),\n",
                    e = event_name(k)
                )
            })
            .collect();
        let decodes: String = events_of(a)
            .map(|k| {
                format!(
                    "            (\"{e}\", 1) => Ok(Self::{e}(serde_json::from_value(payload)?)),\n",
                    e = event_name(k)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "impl {en} {{\n    \
             pub fn event_type(&self) -> &'static str {{\n        match self {{\n{names}        }}\n    }}\n\n    \
             pub fn to_payload(&self) -> Result<Value, serde_json::Error> {{\n        match self {{\n{payloads}        }}\n    }}\n\n    \
             #[inline]\n    pub fn decode(event_type: &str, version: u32, payload: Value) -> Result<Self, DecodeError> {{\n        \
             match (event_type, version) {{\n{decodes}            \
             (other, version) => Err(DecodeError::Unknown(other.to_owned(), version)),\n        }}\n    }}\n}}\n"
        );
        let arms: String = events_of(a)
            .map(|k| {
                format!(
                    "            {en}::{e}(e) => self.apply_{k:03}(e),\n",
                    e = event_name(k)
                )
            })
            .collect();
        let methods: String = events_of(a)
            .map(|k| {
                format!(
                    "    fn apply_{k:03}(&mut self, event: &{e}) {{ {} self.last.clone_from(&event.id); }}\n",
                    event_effect(k, "self", "event"),
                    e = event_name(k)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "impl {name} {{\n    #[inline]\n    pub fn apply(&mut self, event: &{en}) {{\n        match event {{\n{arms}        }}\n    }}\n\n{methods}}}\n"
        );
    }
    for p in 0..PROJECTIONS {
        let name = format!("View{p:02}");
        let _ = writeln!(
            s,
            "#[derive(Clone, Serialize, Deserialize)]\npub struct {name} {{ pub id: String, pub total: i64, pub count: i64 }}\n"
        );
        let arms: String = events_of(p)
            .map(|k| {
                format!(
                    "            (\"{e}\", 1) => Self::project_{k:03}(row, aggregate_id, &serde_json::from_value::<{e}>(payload)?),\n",
                    e = event_name(k)
                )
            })
            .collect();
        let methods: String = events_of(p)
            .map(|k| {
                format!(
                    "    fn project_{k:03}(row: &mut Option<Self>, aggregate_id: &str, event: &{e}) {{\n        \
                     let row = row.get_or_insert_with(|| {name} {{ id: aggregate_id.to_owned(), total: 0, count: 0 }});\n        \
                     {}\n    }}\n",
                    event_effect(k, "row", "event"),
                    e = event_name(k)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "impl {name} {{\n    \
             #[inline]\n    pub fn project(row: &mut Option<Self>, aggregate_id: &str, event_type: &str, version: u32, payload: Value) -> Result<(), DecodeError> {{\n        \
             match (event_type, version) {{\n{arms}            \
             (other, version) => return Err(DecodeError::Unknown(other.to_owned(), version)),\n        }}\n        Ok(())\n    }}\n\n{methods}}}\n"
        );
    }
    s
}
