//! What the server keeps on disk.
//!
//! For now: imported interaction files in `DATA_DIR/imports/`, written by
//! `hyperrec import` and applied in name order when the server starts.

pub mod imports;
