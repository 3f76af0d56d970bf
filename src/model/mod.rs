//! The video-language model's host side: configuration presets, the parameter-name contract,
//! checkpoints, Hugging Face BERT import, the CPU reference BERT forward, and the GPU
//! text and video encoders; the cross-modal encoder and pre-training heads.

pub mod bert_cpu;
pub mod checkpoint;
pub mod config;
pub mod cross;
pub mod heads;
pub mod hf_bert;
pub mod locomotion;
pub mod params;
pub mod text;
pub mod video;
