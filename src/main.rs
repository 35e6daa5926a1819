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

use hyperrec::config::Config;
use hyperrec::engine::Engine;
use hyperrec::eval::synthetic::{self, SyntheticSpec};
use hyperrec::hypergraph::{Hypergraph, NewEdge};
use hyperrec::storage::imports::{self, ImportFile};
use hyperrec::tabular::{self, ColumnMapping};
use hyperrec::{api, telemetry, validate};

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
    /// Check an interaction log and add it to a data directory.
    Import(ImportArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file (see hyperrec.example.toml).
    #[arg(long, env = "HYPERREC_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address; overrides the file.
    #[arg(long, env = "HYPERREC_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// Data directory whose imports are loaded at start; overrides the file.
    #[arg(long, env = "HYPERREC_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Generate the demo data (10k customers, 2k products, 500k
    /// interactions) in memory and serve it.
    #[arg(long)]
    demo: bool,
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
    telemetry::init(cli.log_json);
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Generate(args) => generate(args),
        Command::Import(args) => import(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
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

    let graph = Arc::new(Hypergraph::new(config.graph.popularity_half_life_hours));
    if args.demo {
        load_demo(&graph)?;
    }
    if let Some(dir) = &config.server.data_dir {
        let started = Instant::now();
        let applied = imports::load_all(dir, &graph)?;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        info!(dir = %dir.display(), applied, elapsed_ms, "imports loaded");
    }
    let engine = Arc::new(Engine::with_idempotency_window(
        graph,
        config.recommend.clone(),
        config.server.idempotency_window,
    ));

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("binding {}", config.server.listen))?;
        api::serve(listener, engine, shutdown_signal()).await?;
        Ok(())
    })
}

fn load_demo(graph: &Hypergraph) -> anyhow::Result<()> {
    let started = Instant::now();
    let data = synthetic::generate(&SyntheticSpec::demo());
    let edges: Vec<NewEdge> = data.events.iter().map(|e| e.to_edge()).collect();
    graph.apply_batch(&edges)?;
    let stats = graph.stats();
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
    let mut file = ImportFile::create(&args.data_dir, &args.file)?;
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut failure: Option<anyhow::Error> = None;

    tabular::read_interactions(&args.file, &mapping, validate::now_ms(), |row| {
        if failure.is_some() {
            return;
        }
        match row {
            Ok(edge) => match file.write(&edge) {
                Ok(()) => accepted += 1,
                Err(err) => failure = Some(err.into()),
            },
            Err(err) if args.strict => {
                failure = Some(anyhow::anyhow!("{err} (--strict: nothing imported)"))
            }
            Err(err) => {
                rejected += 1;
                if rejected as usize <= SHOWN_ROW_ERRORS {
                    eprintln!("skipped {err}");
                }
            }
        }
    })?;
    if let Some(err) = failure {
        return Err(err);
    }
    let path = file.commit()?;
    println!(
        "imported {accepted} interactions into {}, skipped {rejected} bad rows",
        display(&path)
    );
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
