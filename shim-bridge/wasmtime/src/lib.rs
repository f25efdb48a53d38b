//! Re-exports the wasmtime C API so that this crate's static library carries
//! every `wasm_*`, `wasi_*` and `wasmtime_*` symbol spin-bridge links against.
pub use wasmtime_c_api::*;
