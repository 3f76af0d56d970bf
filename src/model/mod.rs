//! The video-language model's host side: configuration presets, the parameter-name contract,
//! checkpoints, Hugging Face BERT import, the CPU reference BERT forward and the GPU text
//! encoder.

pub mod bert_cpu;
pub mod checkpoint;
pub mod config;
pub mod hf_bert;
pub mod params;
pub mod text;
