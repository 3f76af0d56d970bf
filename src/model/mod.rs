//! The video-language model's host side: configuration presets, the parameter-name contract,
//! checkpoints, Hugging Face BERT import, the CPU reference BERT forward and the GPU text
//! encoder; the GPU video encoder, cross-modal encoder and pre-training heads;
//! and `LocoModel`, the whole model with its VTC/VTM/MLM losses.

pub mod bert_cpu;
pub mod checkpoint;
pub mod config;
pub mod cross;
pub mod heads;
pub mod hf_bert;
pub mod hf_vit;
pub mod hf_vit_config;
mod leftovers;
pub mod limits;
pub mod locomotion;
pub mod params;
mod pinned;
pub mod pos_resize;
mod safetensors_read;
pub mod text;
pub mod video;
