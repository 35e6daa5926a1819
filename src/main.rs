//! The `hyperrec` command: serve, generate, import.
//!
//! Thin by design: parse flags, set up logging, call into the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use tracing::{info, warn};

use hyperrec::api::ServeOptions;
use hyperrec::config::Config;
use hyperrec::engine::Engine;
use hyperrec::eval::command::{self as evaluation, Input};
use hyperrec::eval::dataset::SplitKind;
use hyperrec::eval::methods;
use hyperrec::eval::run::Options;
use hyperrec::eval::synthetic::{self, SyntheticSpec};
use hyperrec::export::{self, Format};
use hyperrec::hypergraph::{Hypergraph, NewEdge};
use hyperrec::ranking::training;
use hyperrec::storage::{StorageOptions, Store};
use hyperrec::tabular::{self, ColumnMapping};
use hyperrec::{api, metrics, telemetry, validate};

#[derive(Parser)]
#[command(
    name = "hyperrec",
    version,
    about = "Context-aware recommendations over a hypergraph"
)]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "HYPERREC_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gRPC server.
    Serve(ServeArgs),
    /// Write a synthetic interaction log with planted context effects.
    Generate(GenerateArgs),
    /// Check an interaction log and add it to a data directory, through
    /// the same write-ahead log the server uses.
    Import(ImportArgs),
    /// Write a data directory's hyperedges as CSV or Parquet.
    Export(ExportArgs),
    /// Compare the hypergraph recommender with context-blind baselines on
    /// an interaction log (offline, held-out queries).
    Evaluate(Box<EvaluateArgs>),
    /// Write the learned ranker's training rows: ranking features of
    /// candidates for the newest queries of a log, computed by the server.
    Features(FeaturesArgs),
}

#[derive(Args)]
struct FeaturesArgs {
    /// Interaction log (for instance `hyperrec export` output).
    #[arg(long)]
    data: PathBuf,
    /// Model version directory (or root) whose embeddings the features use.
    #[arg(long)]
    models: PathBuf,
    /// Output CSV.
    #[arg(long)]
    out: PathBuf,
    /// Newest share of rows by time used as queries; the rest is the graph.
    /// Use the share the HGNN training held out.
    #[arg(long, default_value_t = 0.05)]
    holdout: f64,
    /// Most queries written.
    #[arg(long, default_value_t = 4000)]
    queries: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Server configuration ([recommend] knobs, [models] settings).
    #[arg(long, env = "HYPERREC_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    mapping: MappingArgs,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["data", "train"])))]
struct EvaluateArgs {
    /// One log to split into train and test (see --split).
    #[arg(long, conflicts_with_all = ["train", "test"])]
    data: Option<PathBuf>,
    /// Training log (with --test).
    #[arg(long, requires = "test")]
    train: Option<PathBuf>,
    /// Test log (with --train).
    #[arg(long, requires = "train")]
    test: Option<PathBuf>,
    /// How --data is split: a seeded `random` share of each customer's
    /// query groups, each customer's latest groups (`temporal`), or the
    /// newest rows of the whole log (`time`, what model training holds out).
    #[arg(long, value_enum, default_value_t = SplitArg::Random)]
    split: SplitArg,
    /// Share of each customer's query groups held out for testing (and, of
    /// the training rows, for validation with --tune).
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Cut-off of HR, recall, NDCG and coverage.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Take each customer's training products out of their rankings.
    #[arg(long)]
    exclude_seen: bool,
    /// Choose the hypergraph recommender's knobs on a validation split of
    /// the training rows and report it as `hypergraph_cf_tuned`.
    #[arg(long)]
    tune: bool,
    /// Seed of the split, ALS and the bootstrap.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Bootstrap resamples for the 95% intervals.
    #[arg(long, default_value_t = 1000)]
    resamples: usize,
    /// Methods to run, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    methods: Vec<String>,
    /// Product metadata CSV (product or id, category) for diversity.
    #[arg(long)]
    products: Option<PathBuf>,
    /// Server configuration whose [recommend] knobs `hypergraph_cf` uses.
    #[arg(long, env = "HYPERREC_CONFIG")]
    config: Option<PathBuf>,
    /// Write every number as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write each query's top 100 per method as TSV here.
    #[arg(long)]
    rankings: Option<PathBuf>,
    /// A model version (or root): adds `hgnn` (HNSW retrieval alone) and
    /// `hgnn+ranker` (the full served pipeline).
    #[arg(long)]
    models: Option<PathBuf>,
    /// For a log from `hyperrec generate`: its CUSTOMERS,PRODUCTS,SEED,
    /// to add `oracle`, the ideal recommender that knows the generator.
    #[arg(long, value_parser = parse_oracle)]
    oracle: Option<SyntheticSpec>,
    #[command(flatten)]
    mapping: MappingArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SplitArg {
    Random,
    Temporal,
    Time,
}

impl From<SplitArg> for SplitKind {
    fn from(s: SplitArg) -> Self {
        match s {
            SplitArg::Random => SplitKind::Random,
            SplitArg::Temporal => SplitKind::Temporal,
            SplitArg::Time => SplitKind::Time,
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file (see hyperrec.example.toml).
    #[arg(long, env = "HYPERREC_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address; overrides the file.
    #[arg(long, env = "HYPERREC_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// Data directory (write-ahead log, snapshots); overrides the file.
    /// Without one, nothing recorded survives a restart.
    #[arg(long, env = "HYPERREC_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Serve the demo data (10k customers, 2k products, 500k
    /// interactions): generated in memory, or into an empty data directory
    /// (an existing one is served as it is).
    #[arg(long)]
    demo: bool,
    /// Size of the generated demo data (with --demo); the load test uses a
    /// larger set than the default 500k.
    #[arg(long, default_value_t = SyntheticSpec::demo().interactions, requires = "demo")]
    demo_interactions: usize,
    /// Customers in the generated demo data (with --demo).
    #[arg(long, default_value_t = SyntheticSpec::demo().customers, requires = "demo")]
    demo_customers: usize,
    /// Products in the generated demo data (with --demo).
    #[arg(long, default_value_t = SyntheticSpec::demo().products, requires = "demo")]
    demo_products: usize,
    /// Address of the Prometheus `/metrics` endpoint; overrides the file.
    #[arg(long, env = "HYPERREC_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Model version directory, or a root whose newest version serves
    /// (watched for newer ones); overrides `models.dir`.
    #[arg(long, env = "HYPERREC_MODELS")]
    models: Option<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    /// Data directory to read (the server must not be running on it).
    #[arg(long, env = "HYPERREC_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Output file; `.parquet` writes Parquet, anything else CSV.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct GenerateArgs {
    /// Directory for products.csv and interactions.csv.
    #[arg(long, default_value = "data/synthetic")]
    out: PathBuf,
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    #[arg(long, default_value_t = 2_000)]
    products: usize,
    #[arg(long, default_value_t = 500_000)]
    interactions: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Args)]
struct ImportArgs {
    /// CSV or TSV file with a header row.
    file: PathBuf,
    /// Data directory to add the interactions to.
    #[arg(long, env = "HYPERREC_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Fail the whole import on the first bad row instead of skipping it.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    mapping: MappingArgs,
}

/// Which column holds what.
#[derive(Args)]
struct MappingArgs {
    #[arg(long, default_value = "customer")]
    customer_col: String,
    #[arg(long, default_value = "product")]
    product_col: String,
    /// Column with an explicit weight.
    #[arg(long, conflicts_with = "count_col")]
    weight_col: Option<String>,
    /// Column with a count; weight = count x the intent's default weight.
    #[arg(long)]
    count_col: Option<String>,
    /// Column with the event time; without it rows happen at import time.
    #[arg(long)]
    timestamp_col: Option<String>,
    #[arg(long)]
    intent_col: Option<String>,
    /// Context columns, comma-separated; each header becomes a context key.
    #[arg(long, value_delimiter = ',')]
    context_cols: Vec<String>,
    /// Field separator (one character, `\t` for tab); default by extension.
    #[arg(long)]
    delimiter: Option<String>,
}

impl MappingArgs {
    fn into_mapping(self) -> anyhow::Result<ColumnMapping> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("\\t" | "tab") => Some(b'\t'),
            Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            Some(d) => bail!("--delimiter must be one character or \\t, got {d:?}"),
        };
        Ok(ColumnMapping {
            customer: self.customer_col,
            product: self.product_col,
            weight: self.weight_col,
            count: self.count_col,
            timestamp: self.timestamp_col,
            intent: self.intent_col,
            context: self.context_cols,
            delimiter,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args, cli.log_json),
        Command::Generate(args) => offline(cli.log_json, || generate(args)),
        Command::Import(args) => offline(cli.log_json, || import(args)),
        Command::Export(args) => offline(cli.log_json, || export(args)),
        Command::Evaluate(args) => offline(cli.log_json, || evaluate(*args)),
        Command::Features(args) => offline(cli.log_json, || features(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command that needs logs but no trace exporter.
fn offline(log_json: bool, command: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(log_json, None)?;
    command()
}

fn serve(args: ServeArgs, log_json: bool) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if args.data_dir.is_some() {
        config.server.data_dir = args.data_dir;
    }
    if args.metrics_listen.is_some() {
        config.telemetry.metrics_listen = args.metrics_listen;
    }
    if args.models.is_some() {
        config.models.dir = args.models;
    }

    // The OTLP exporter's channel lives on the runtime, so logging is set
    // up inside it, before anything logs.
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let _telemetry = {
        let _entered = runtime.enter();
        telemetry::init(log_json, config.telemetry.otlp_endpoint.as_deref())?
    };

    let engine = Arc::new(open_engine(&config)?);
    if args.demo && engine.graph().last_sequence() == 0 {
        let spec = SyntheticSpec {
            interactions: args.demo_interactions,
            customers: args.demo_customers,
            products: args.demo_products,
            ..SyntheticSpec::demo()
        };
        load_demo(&engine, &spec)?;
    }
    // A configured model that cannot serve stops the start: serving
    // without it would hide the problem behind the fallback chain.
    if let Some(dir) = &config.models.dir {
        engine
            .models()
            .load(dir)
            .with_context(|| format!("loading models from {}", dir.display()))?;
    }

    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("binding {}", config.server.listen))?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let metrics = match config.telemetry.metrics_listen {
            Some(address) => {
                let metrics_listener = tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding the metrics endpoint {address}"))?;
                Some(tokio::spawn(metrics::serve(
                    metrics_listener,
                    Arc::clone(engine.metrics()),
                    Arc::clone(engine.graph()),
                    stopped(stop_rx.clone()),
                )))
            }
            None => None,
        };
        let watcher = config.models.dir.clone().map(|root| {
            tokio::spawn(watch_models(
                Arc::clone(&engine),
                root,
                config.models.watch_secs,
            ))
        });
        let snapshots = tokio::spawn(snapshot_periodically(
            Arc::clone(&engine),
            config.storage.snapshot_interval_secs,
        ));
        let options = ServeOptions {
            max_concurrent: config.serving.max_concurrent,
        };
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        let serving = api::serve_with(
            listener,
            Arc::clone(&engine),
            options,
            stopped(stop_rx.clone()),
        );
        // Draining waits for clients to close their connections; one that
        // never does must not keep the log unsynced and the snapshot
        // unwritten, so the drain gets a bounded grace period.
        let grace = async {
            stopped(stop_rx).await;
            tokio::time::sleep(DRAIN_GRACE).await;
        };
        tokio::select! {
            served = serving => served?,
            () = grace => {
                let grace_secs = DRAIN_GRACE.as_secs();
                warn!(grace_secs, "connections still open after the grace period; stopping");
            }
        }
        snapshots.abort();
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        if let Some(metrics) = metrics {
            match metrics.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => warn!(%err, "metrics endpoint failed"),
                Err(err) => warn!(%err, "metrics task failed"),
            }
        }

        let started = Instant::now();
        tokio::task::spawn_blocking(move || engine.shutdown()).await??;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        info!(elapsed_ms, "shutdown complete");
        Ok(())
    })
}

/// How long calls in flight may take to finish after a stop signal.
const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Completes once `stop` turns true (or its sender is gone).
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// The engine over the configured data directory, recovered, or in memory.
fn open_engine(config: &Config) -> anyhow::Result<Engine> {
    let graph = Arc::new(Hypergraph::new(config.graph.popularity_half_life_hours));
    let engine = Engine::from_config(Arc::clone(&graph), config);
    let Some(dir) = &config.server.data_dir else {
        return Ok(engine);
    };
    let started = Instant::now();
    let (store, recovery) = Store::open(dir, config.storage.clone(), &graph)?;
    info!(
        dir = %dir.display(),
        snapshot_sequence = recovery.snapshot_sequence,
        replayed = recovery.replayed,
        truncated_bytes = recovery.truncated_bytes,
        hyperedges = graph.last_sequence(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "data directory recovered"
    );
    Ok(engine.with_store(store, &recovery.recent))
}

async fn snapshot_periodically(engine: Arc<Engine>, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(interval_secs));
    ticks.tick().await;
    let mut last = engine.graph().last_sequence();
    loop {
        ticks.tick().await;
        let now = engine.graph().last_sequence();
        if now == last {
            continue;
        }
        let engine = Arc::clone(&engine);
        match tokio::task::spawn_blocking(move || engine.snapshot()).await {
            Ok(Ok(Some(path))) => {
                info!(snapshot = %path.display(), sequence = now, "snapshot written")
            }
            Ok(Ok(None)) => return,
            Ok(Err(err)) => warn!(%err, "snapshot failed; the log keeps everything"),
            Err(err) => warn!(%err, "snapshot task failed"),
        }
        last = now;
    }
}

/// Swaps in a newer model version when one appears under `root`.
async fn watch_models(engine: Arc<Engine>, root: PathBuf, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(interval_secs));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let (registry, root) = (Arc::clone(engine.models()), root.clone());
        match tokio::task::spawn_blocking(move || registry.refresh(&root)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                warn!(%err, "newer model version refused; the current one keeps serving")
            }
            Err(err) => warn!(%err, "model watch task failed"),
        }
    }
}

fn load_demo(engine: &Engine, spec: &SyntheticSpec) -> anyhow::Result<()> {
    let started = Instant::now();
    let data = synthetic::generate(spec);
    let edges: Vec<NewEdge> = data.events.iter().map(|e| e.to_edge()).collect();
    engine.record_batch(&edges)?;
    let stats = engine.graph().stats();
    info!(
        hyperedges = stats.hyperedges,
        customers = stats.customers,
        products = stats.products,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo data loaded"
    );
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            warn!(%err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                warn!(%err, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    info!("shutdown requested");
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let spec = SyntheticSpec {
        customers: args.customers,
        products: args.products,
        interactions: args.interactions,
        seed: args.seed,
        ..SyntheticSpec::demo()
    };
    let data = synthetic::generate(&spec);
    synthetic::write_csv(&data, &args.out)
        .with_context(|| format!("writing to {}", args.out.display()))?;
    println!(
        "wrote {} interactions and {} products to {}",
        data.events.len(),
        data.products.len(),
        args.out.display()
    );
    Ok(())
}

/// How many bad rows an import prints before only counting them.
const SHOWN_ROW_ERRORS: usize = 20;

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let mapping = args.mapping.into_mapping()?;
    let now_ms = validate::now_ms();
    if args.strict {
        check_strictly(&args.file, &mapping, now_ms)?;
    }

    let graph = Arc::new(Hypergraph::new(
        Config::default().graph.popularity_half_life_hours,
    ));
    let (store, recovery) = Store::open(&args.data_dir, StorageOptions::default(), &graph)?;
    let engine =
        Engine::new(graph, Config::default().recommend).with_store(store, &recovery.recent);
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut failure: Option<anyhow::Error> = None;
    tabular::read_interactions(&args.file, &mapping, now_ms, |row| match row {
        _ if failure.is_some() => {}
        Ok(edge) => match engine.record(&edge, None) {
            Ok(_) => accepted += 1,
            Err(err) => failure = Some(err.into()),
        },
        Err(err) => {
            rejected += 1;
            if rejected as usize <= SHOWN_ROW_ERRORS {
                eprintln!("skipped {err}");
            }
        }
    })?;
    // Sync and snapshot even after a failure: what was logged stays.
    engine.shutdown()?;
    if let Some(err) = failure {
        return Err(err.context(format!("after importing {accepted} interactions")));
    }
    println!(
        "imported {accepted} interactions into {}, skipped {rejected} bad rows",
        args.data_dir.display()
    );
    Ok(())
}

/// Reads the whole file once without writing anything; fails on the first
/// bad row.
fn check_strictly(file: &Path, mapping: &ColumnMapping, now_ms: i64) -> anyhow::Result<()> {
    let mut first_error = None;
    tabular::read_interactions(file, mapping, now_ms, |row| {
        if let (Err(err), None) = (row, &first_error) {
            first_error = Some(err);
        }
    })?;
    match first_error {
        Some(err) => bail!("{err} (--strict: nothing imported)"),
        None => Ok(()),
    }
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    let graph = Arc::new(Hypergraph::new(
        Config::default().graph.popularity_half_life_hours,
    ));
    let (store, _) = Store::open(&args.data_dir, StorageOptions::default(), &graph)?;
    let format = Format::from_path(&args.out);
    let rows = export::export(&graph.view(), &args.out, format)?;
    store.close()?;
    println!("exported {rows} hyperedges to {}", args.out.display());
    Ok(())
}

fn evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    if !(args.test_fraction > 0.0 && args.test_fraction < 1.0) {
        bail!(
            "--test-fraction must be between 0 and 1, got {}",
            args.test_fraction
        );
    }
    if args.k == 0 {
        bail!("--k must be at least 1");
    }
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let kind = SplitKind::from(args.split);
    let input = match (args.data, args.train, args.test) {
        (Some(data), _, _) => Input::Split {
            data,
            kind,
            test_fraction: args.test_fraction,
        },
        (None, Some(train), Some(test)) => Input::Files { train, test },
        _ => bail!("give --data FILE, or --train FILE and --test FILE"),
    };
    let methods = if args.methods.is_empty() {
        methods::ALL.iter().map(|m| m.to_string()).collect()
    } else {
        args.methods
    };
    let request = evaluation::Request {
        input,
        mapping: args.mapping.into_mapping()?,
        products: args.products,
        options: Options {
            k: args.k,
            exclude_seen: args.exclude_seen,
            tune: args.tune.then_some((kind, args.test_fraction)),
            seed: args.seed,
            resamples: args.resamples,
            methods,
            cf: config.recommend.clone(),
            popularity_half_life_hours: config.graph.popularity_half_life_hours,
            timed: false,
            keep_rankings: false,
            oracle: args.oracle,
            models: args.models.map(|dir| (dir, config.models.clone())),
        },
        json: args.json,
        rankings: args.rankings,
    };
    print!("{}", evaluation::evaluate(&request)?);
    Ok(())
}

fn parse_oracle(text: &str) -> Result<SyntheticSpec, String> {
    let numbers: Vec<u64> = text
        .split(',')
        .map(|n| n.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected CUSTOMERS,PRODUCTS,SEED numbers, got {text:?}"))?;
    let [customers, products, seed] = numbers[..] else {
        return Err(format!("expected CUSTOMERS,PRODUCTS,SEED, got {text:?}"));
    };
    Ok(SyntheticSpec {
        customers: customers as usize,
        products: products as usize,
        seed,
        ..SyntheticSpec::demo()
    })
}

fn features(args: FeaturesArgs) -> anyhow::Result<()> {
    if !(args.holdout > 0.0 && args.holdout < 1.0) {
        bail!("--holdout must be between 0 and 1, got {}", args.holdout);
    }
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let mapping = args.mapping.into_mapping()?;
    let log = hyperrec::eval::dataset::read_log(&args.data, &mapping)?;
    if log.skipped > 0 {
        eprintln!("skipped {} bad rows", log.skipped);
    }
    let (train, test) = hyperrec::eval::dataset::newest_by_time(log.rows, args.holdout);
    let registry = hyperrec::models::Registry::new(config.models.clone());
    let model = registry
        .load(&args.models)
        .with_context(|| format!("loading models from {}", args.models.display()))?;
    let written = training::write_rows(
        &train,
        &test,
        &model,
        &config.models,
        &config.recommend,
        config.graph.popularity_half_life_hours,
        args.queries,
        args.seed,
        &args.out,
    )
    .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} rows ({} positive) for {} queries to {}",
        written.rows,
        written.positives,
        written.queries,
        args.out.display()
    );
    Ok(())
}
