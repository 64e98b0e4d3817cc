//! Compiles proto/ with protox (pure Rust, no system protoc) and hands the
//! descriptors to tonic's code generator; the descriptor set is also served by
//! gRPC reflection.

use std::path::PathBuf;

use protox::prost::Message;

const PROTOS: [&str; 4] = ["kv.proto", "blob.proto", "query.proto", "buffdb/v1/buffdb.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::Compiler::new(["proto"])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(PROTOS)?
        .file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor = out.join("buffdb_descriptor.bin");
    std::fs::write(&descriptor, fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .skip_protoc_run()
        .file_descriptor_set_path(&descriptor)
        .bytes(".buffdb.v1")
        .compile_protos(&PROTOS, &["proto"])?;
    // prost maps google.protobuf.BoolValue to `bool`, but tonic-prost-build 0.14
    // writes that as `super::bool` in the service code: name the primitive.
    for file in ["buffdb.kv.rs", "buffdb.blob.rs"] {
        let path = out.join(file);
        let code = std::fs::read_to_string(&path)?;
        std::fs::write(&path, code.replace("super::bool", "::core::primitive::bool"))?;
    }
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
