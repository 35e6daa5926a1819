//! Offline evaluation: does keeping context recommend better than pairwise
//! collaborative filtering, on a given interaction log?
//!
//! - [`dataset`]: reading a log through a column mapping, train/test splits
//!   by whole query groups, and test queries.
//! - [`matrix`]: the context-blind customer x product matrix baselines use.
//! - [`methods`]: every method behind one trait; `hypergraph_cf` runs the
//!   engine's own Recommend path.
//! - [`knn`], [`als`]: the pairwise baselines, item-kNN and implicit ALS.
//! - [`metrics`]: HR, recall, NDCG, MRR, coverage, popularity bias,
//!   diversity, latency, with bootstrap intervals.
//! - [`tune`]: the collaborative filter's knobs, chosen on validation.
//! - [`run`]: one evaluation end to end; [`report`] writes it out;
//!   [`command`] is `hyperrec evaluate`.
//! - [`synthetic`]: the generated log with planted context effects, and
//!   [`oracle`], the ideal recommender for it.

pub mod als;
pub mod command;
pub mod dataset;
pub mod knn;
pub mod matrix;
pub mod methods;
pub mod metrics;
pub mod oracle;
pub mod report;
pub mod run;
pub mod synthetic;
pub mod tune;
