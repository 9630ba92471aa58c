//! The benchmark program at a hundredth of its size: every scenario runs, and each checks
//! its own results (every command applied once, read models equal to the baseline's,
//! loads equal to the baseline's fold), failing the run otherwise. The figures of so
//! small a run mean nothing and are not looked at.

use acci_bench::Config;
use acci_bench::scenarios::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_and_checks_its_results() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| acci_postgres::DEFAULT_DATABASE_URL.to_owned());
    let mut config = Config::new(url);
    config.scale = 0.01;
    config.rounds = 2;
    config.program = Some(env!("CARGO_BIN_EXE_acci-bench").into());

    let report = acci_bench::run(&config).await.expect("every scenario runs");

    for scenario in Scenario::ALL {
        assert!(
            report
                .measurements
                .iter()
                .any(|m| m.scenario == scenario.name()),
            "{} measured nothing",
            scenario.name()
        );
        assert!(
            report.checks.iter().any(|c| c.scenario == scenario.name()),
            "{} checked no target",
            scenario.name()
        );
    }
    let table = report.table();
    assert!(table.contains("acci/raw throughput"), "{table}");
}
