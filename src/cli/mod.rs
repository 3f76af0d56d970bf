//! The `locomotion` command line (clap): one module per subcommand.

pub mod annotated;
pub mod bench;
pub mod demo;
pub mod describe;
pub mod embed;
pub mod entry;
pub mod eval;
pub mod experiment;
pub mod generate;
pub mod info;
pub mod launch;
pub mod merge_shards;
pub mod paraphrases;
pub mod pretrain;
pub mod probe;
pub mod run_flags;
pub mod selftest;
pub mod tokenizer;

use clap::{Parser, Subcommand};

use crate::gpu::AdapterRequest;

/// Motion-focused video-language learning on any GPU (wgpu + WGSL).
#[derive(Debug, Parser)]
#[command(name = "locomotion", version, about, long_about = None)]
pub struct Cli {
    /// Use the adapter whose name contains this (case-insensitive); overrides WGPU_ADAPTER_NAME.
    #[arg(long, global = true, value_name = "NAME")]
    pub adapter: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// `finetune --help`: what fine-tuning does, beyond the flags it shares with pretrain.
const FINETUNE_ABOUT: &str = "Fine-tune a pre-trained checkpoint.\n\n\
Loads the weights and tokenizer of --checkpoint (a pretrain --out or its checkpoint/ folder) and \
trains on, typically, a downstream `generate --captions` folder given with --data (--fraction \
keeps a nested share of its clips, 0.1 inside 0.2 inside 1), or on fresh online clips without \
--data. The optimizer and the learning-rate schedule (--lr, --warmup, --steps) start fresh; \
the model's shape comes from the checkpoint (a --preset naming another model is refused) \
and --weights sets the fine-tuning objective. The defaults are pretrain's (the recipe); `experiment` \
fine-tunes its 100-clip downstream set with --lr 2e-4 --steps 100. \
Writes --out like pretrain: checkpoint/, tokenizer.json, metrics.jsonl. \
Evaluate the result with `locomotion eval --checkpoint OUT`.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every GPU adapter found, the one chosen, its features and key limits.
    Info {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Then fail (exit 1, one line naming the adapter) unless the chosen adapter is a
        /// discrete or integrated GPU on Vulkan, Metal or DX12.
        #[arg(long)]
        require_gpu: bool,
    },
    /// The GPU path's correctness checks without cargo: kernels against CPU references on
    /// random inputs, a model whose loss must fall, pre-training steps; one line per check.
    Selftest(selftest::SelftestArgs),
    /// Caption every clip of a manifest (motion, spatial, template) and paraphrase the motion
    /// captions; writes captions.jsonl.
    Describe(describe::DescribeArgs),
    /// Train the text tokenizer: `tokenizer train` writes a WordPiece tokenizer.json from
    /// captions.
    #[command(subcommand)]
    Tokenizer(tokenizer::TokenizerCommand),
    /// Make a synthetic motion dataset: clips (GIF, optional PNG frames) and manifest.jsonl.
    Generate(generate::GenerateArgs),
    /// Merge the folders of `generate --shard k/n` runs into one dataset: clips linked,
    /// manifests and captions merged in clip order (the unsharded run's files).
    MergeShards(merge_shards::MergeArgs),
    /// Benchmark suites: `bench kernels` (GFLOP/s, GB/s, speedups; table and JSON),
    /// `bench composite` (compositor clips/s against the CPU reference) and `bench train`
    /// (whole training steps, with a per-kernel profile).
    Bench {
        #[command(subcommand)]
        which: bench::BenchCommand,
    },
    /// Probes of what the model can learn: `probe motion` (can the video encoder see the
    /// motion? direction, speed and rotation accuracy on held-out clips beside chance, and
    /// colour as the appearance control).
    Probe {
        #[command(subcommand)]
        which: probe::ProbeCommand,
    },
    /// Pre-train the video-language model on online or generated clips: VTC only by default
    /// (the recipe measured to learn on a CPU); --weights 1,1,1 adds VTM and MLM.
    Pretrain(pretrain::PretrainArgs),
    /// Fine-tune a checkpoint on a `generate` folder (fresh optimizer).
    #[command(long_about = FINETUNE_ABOUT)]
    Finetune(pretrain::FinetuneArgs),
    /// Text→video and video→text retrieval of a checkpoint on held-out clips.
    Eval(eval::EvalArgs),
    /// Embed videos or texts with a checkpoint: a safetensors index (`embeddings`, ids, kind).
    Embed(embed::EmbedArgs),
    /// Rank an `embed` index against a text (video index) or a video (text index).
    Search(embed::SearchArgs),
    /// The whole pipeline in minutes on built-in data: preview clips, a short pre-training,
    /// retrieval on held-out clips and the motion benchmark, report.html and report.md.
    Demo(demo::DemoArgs),
    /// Spatial vs motion vs paraphrased captions, then 100 % / 20 % fine-tuning, over seeds,
    /// on the motion benchmark: a table, charts and a report.
    Experiment(experiment::ExperimentArgs),
}

impl Cli {
    /// The adapter request the global flags describe.
    pub fn adapter_request(&self) -> AdapterRequest {
        AdapterRequest {
            name: self.adapter.clone(),
        }
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let req = cli.adapter_request();
    match cli.command {
        Command::Info { json, require_gpu } => info::run(&req, json, require_gpu),
        Command::Selftest(args) => selftest::run(&req, &args),
        Command::Describe(args) => describe::run(&args),
        Command::Tokenizer(cmd) => tokenizer::run(cmd),
        Command::Generate(args) => generate::run(&req, &args),
        Command::MergeShards(args) => merge_shards::run(&args),
        Command::Bench { which } => bench::run(&req, which),
        Command::Probe { which } => probe::run(&req, &which),
        Command::Pretrain(args) => pretrain::run_pretrain(&req, &args),
        Command::Finetune(args) => pretrain::run_finetune(&req, &args),
        Command::Eval(args) => eval::run(&req, &args),
        Command::Embed(args) => embed::run_embed(&req, &args),
        Command::Search(args) => embed::run_search(&req, &args),
        Command::Demo(args) => demo::run(&req, &args),
        Command::Experiment(args) => experiment::run(&req, &args),
    }
}
