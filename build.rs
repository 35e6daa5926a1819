//! Generates the gRPC server and client code from `proto/`.
//!
//! `protoc` comes from the `protoc-bin-vendored` crate unless `PROTOC` is
//! already set, so a fresh machine needs no system protobuf compiler.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        // Build scripts run single-threaded, so changing the environment here
        // cannot race with another thread reading it.
        std::env::set_var("PROTOC", protoc);
    }

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protos = [
        "proto/hyperrec/v1/decision.proto",
        "proto/hyperrec/v1/admin.proto",
    ];
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("hyperrec_descriptor.bin"))
        .compile_protos(&protos, &["proto"])?;

    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
