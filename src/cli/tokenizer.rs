//! `locomotion tokenizer train`: learn a WordPiece vocabulary from a caption corpus.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::data::tokenizer::{TextTokenizer, read_corpus};

/// The `tokenizer` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenizerCommand {
    /// Train a BERT-style WordPiece vocabulary and save it as a Hugging Face tokenizer.json.
    Train(TokenizerTrainArgs),
}

/// Arguments of `tokenizer train`.
#[derive(Debug, Args)]
pub struct TokenizerTrainArgs {
    /// Caption corpus: one caption per line, or a .jsonl with "caption" (and "paraphrases").
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Largest vocabulary, special tokens included.
    #[arg(long, default_value_t = 1024)]
    pub vocab_size: usize,
    /// Where to write the tokenizer.json.
    #[arg(long, value_name = "FILE", default_value = "tokenizer.json")]
    pub out: PathBuf,
}

/// Run a `tokenizer` subcommand.
pub fn run(cmd: TokenizerCommand) -> Result<()> {
    match cmd {
        TokenizerCommand::Train(args) => train(args),
    }
}

fn train(args: TokenizerTrainArgs) -> Result<()> {
    let captions = read_corpus(&args.input)?;
    // The max length only matters for encoding; the saved file carries no padding.
    let tok = TextTokenizer::train(&captions, args.vocab_size, 32, true)?;
    tok.save(&args.out)?;
    println!(
        "trained a {}-entry WordPiece vocabulary on {} captions from {}; wrote {}",
        tok.vocab_size(),
        captions.len(),
        args.input.display(),
        args.out.display()
    );
    Ok(())
}
