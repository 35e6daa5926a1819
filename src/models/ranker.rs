//! The learned ranker: a LightGBM lambdarank model in ONNX that scores one
//! row of ranking features per candidate.
//!
//! The manifest names the features the model was trained on; each must be
//! one the server computes (`ranking::features::NAMES`), and the server
//! feeds exactly those columns, in that order. A model naming anything else
//! is refused: it would be scored on a feature it never saw.

use ort::session::Session;
use ort::value::TensorRef;

use super::manifest::RankerSpec;
use super::pool::SessionPool;
use super::registry::{check_shape, ModelError};
use crate::ranking::features;

pub struct Ranker {
    pool: SessionPool,
    file: String,
    input: String,
    output: String,
    /// For each model column, its column in `features::NAMES`.
    columns: Vec<usize>,
}

impl Ranker {
    pub fn new(spec: &RankerSpec, sessions: Vec<Session>) -> Result<Self, ModelError> {
        let contract = |message: String| ModelError::Contract {
            model: spec.file.clone(),
            message,
        };
        let columns = spec
            .features
            .iter()
            .map(|name| {
                features::index(name).ok_or_else(|| {
                    contract(format!(
                        "names feature {name:?}, which the server does not compute \
                         (it computes: {})",
                        features::NAMES.join(", ")
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if columns.is_empty() {
            return Err(contract("names no features".into()));
        }
        let first = &sessions[0];
        let input = first
            .inputs()
            .iter()
            .find(|i| i.name() == spec.input)
            .ok_or_else(|| contract(format!("has no input {}", spec.input)))?;
        let shape = input.dtype().tensor_shape().map(|s| s.to_vec());
        check_shape(&spec.file, &spec.input, shape, &[-1, columns.len() as i64])?;
        if !first.outputs().iter().any(|o| o.name() == spec.output) {
            return Err(contract(format!("has no output {}", spec.output)));
        }
        Ok(Self {
            pool: SessionPool::new(sessions),
            file: spec.file.clone(),
            input: spec.input.clone(),
            output: spec.output.clone(),
            columns,
        })
    }

    /// The feature names the model reads, in order.
    pub fn feature_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|&c| features::NAMES[c]).collect()
    }

    /// Scores rows of all server features (`n x features::NAMES.len()`).
    pub fn score(&self, all_features: &[f32]) -> Result<Vec<f32>, String> {
        let width = features::NAMES.len();
        let n = all_features.len() / width;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut rows = Vec::with_capacity(n * self.columns.len());
        for row in all_features.chunks_exact(width) {
            rows.extend(self.columns.iter().map(|&c| row[c]));
        }
        let text = |e: ort::Error| e.to_string();
        let scores = self.pool.with_session(|session| {
            let input =
                TensorRef::from_array_view(([n, self.columns.len()], &*rows)).map_err(text)?;
            let outputs = session
                .run(ort::inputs! { self.input.as_str() => input })
                .map_err(text)?;
            let (_, values) = outputs[self.output.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(text)?;
            Ok::<_, String>(values.to_vec())
        })?;
        if scores.len() != n {
            return Err(format!(
                "{} gave {} scores for {n} rows",
                self.file,
                scores.len()
            ));
        }
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(format!("{} gave a score that is not finite", self.file));
        }
        Ok(scores)
    }

    /// Scores fixed rows (all zeros, then all ones): must give finite
    /// scores, one per row.
    pub fn warm_up(&self) -> Result<(), ModelError> {
        let width = features::NAMES.len();
        let mut rows = vec![0.0f32; width];
        rows.extend(std::iter::repeat_n(1.0f32, width));
        self.score(&rows)
            .map(|_| ())
            .map_err(|message| ModelError::WarmUp {
                model: self.file.clone(),
                message,
            })
    }
}
