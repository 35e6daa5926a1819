//! Code generated from `proto/hyperrec/v1/` by `build.rs`.

#![allow(clippy::all, clippy::pedantic)]

tonic::include_proto!("hyperrec.v1");

/// The encoded descriptors of every message and service, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("hyperrec_descriptor");
