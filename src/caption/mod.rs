//! Motion captions: the rule-based describer (motion, spatial and template kinds), the
//! verb-variation paraphraser (lexicon, and optionally an LLM), the fact parser that checks
//! a caption against its clip, and caption statistics.

#![warn(missing_docs)]

pub mod describe;
pub mod facts;
pub mod lexicon;
pub mod llm;
pub mod paraphrase;
pub mod phrases;
pub mod records;
pub mod stats;

pub use describe::{CaptionKind, Describer, describe};
pub use facts::{FactParser, ObjectFacts, PathFact, SegmentFacts, facts_of, parse_facts};
pub use lexicon::{Lexicon, LexiconPart};
pub use paraphrase::{Paraphraser, Paraphrases, Style};
