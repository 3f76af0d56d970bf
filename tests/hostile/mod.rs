//! The corpus of tests/hostile_input.rs: a valid example of every file a reader takes, the
//! truncated, mutated and oversized variants made from it, and small helpers.

#![allow(dead_code)]

// The skip note and the reaped child of tests/common, without the rest of it.
#[path = "../common/child.rs"]
pub mod child;
#[path = "../common/skip.rs"]
mod skip;

use std::path::Path;

use locomotion::caption::{CaptionKind, Lexicon, describe};
use locomotion::cli::generate::write_gif;
use locomotion::data::annotations::{Ssv2Captions, read_annotations};
use locomotion::data::matrix_file::{read_matrix, write_matrix};
use locomotion::data::tokenizer::TextTokenizer;
use locomotion::model::checkpoint::{
    Checkpoint, CheckpointConfig, FORMAT_VERSION, HostTensor, TensorMap, TrainingState,
};
use locomotion::model::config::ModelConfig;
use locomotion::motion::backgrounds::load_video;
use locomotion::motion::params::ManifestEntry;
use locomotion::motion::sprites::{ObjectLibrary, load_sprite};
use locomotion::motion::{BackgroundLibrary, GenConfig, sample_clip};
use locomotion::train::schedule::LrSchedule;

/// Peak resident memory of this process so far, in bytes (Linux; 0 elsewhere).
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

pub fn err_text(e: anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

// ---------------------------------------------------------------- the binary

/// The `locomotion` binary.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_locomotion"))
}

/// The run failed with exit 1 and one `error:` line holding every one of `words`, no panic.
pub fn assert_error(o: &std::process::Output, words: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "exit {:?}: {e}", o.status);
    assert!(!e.contains("panicked"), "{e}");
    let line = e
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {e}"));
    for w in words {
        assert!(line.contains(w), "'{w}' missing from: {line}");
    }
}

// ---------------------------------------------------------------- checkpoint saves

pub fn tiny_checkpoint(step: u64, value: f32) -> Checkpoint {
    let mut tensors = TensorMap::new();
    tensors.insert("w".into(), HostTensor::new(vec![2, 3], vec![value; 6]));
    Checkpoint {
        config: CheckpointConfig {
            format_version: FORMAT_VERSION,
            model: ModelConfig::preset("tiny").unwrap(),
            state: TrainingState {
                step,
                optimizer_step: step,
                seed: 1,
                data_position: step * 2,
                schedule: LrSchedule {
                    base_lr: 1e-4,
                    final_lr: 0.0,
                    warmup_steps: 0,
                    total_steps: 100,
                },
                extra: Default::default(),
            },
        },
        tensors,
    }
}

/// A whole checkpoint of `model` (every parameter, small values, no optimizer moments).
pub fn model_checkpoint(model: ModelConfig, step: u64) -> Checkpoint {
    let mut ck = tiny_checkpoint(step, 0.0);
    ck.tensors = locomotion::model::params::model_parameter_shapes(&model)
        .into_iter()
        .enumerate()
        .map(|(i, (name, shape))| {
            let n: usize = shape.iter().product();
            let data = (0..n).map(|k| ((k + i) % 7) as f32 * 0.01).collect();
            (name, HostTensor::new(shape, data))
        })
        .collect();
    ck.config.model = model;
    ck
}

// ---------------------------------------------------------------- the fuzz corpus

/// How a reader is run on a folder holding its file.
pub type ReadFn = Box<dyn Fn(&Path) -> anyhow::Result<()>>;

/// One reader under test: its name, the file it reads, a valid example and how to read it
/// from a folder holding that file.
pub struct Reader {
    pub name: &'static str,
    pub file: &'static str,
    pub valid: Vec<u8>,
    /// Other files the folder needs (left valid).
    pub beside: Vec<(&'static str, Vec<u8>)>,
    pub read: ReadFn,
}

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Every digit run replaced by a huge number: the "oversized" variant of a text file.
pub fn inflate_numbers(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut in_num = false;
    for &b in text {
        if b.is_ascii_digit() {
            if !in_num {
                out.extend(b"18446744073709551615");
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(b);
        }
    }
    out
}

pub fn readers(work: &Path) -> Vec<Reader> {
    let tiny = GenConfig {
        frames: 8,
        height: 32,
        width: 32,
        ..GenConfig::default()
    };
    let objects = ObjectLibrary::builtin();
    let bgs = BackgroundLibrary::builtin(32, 32, 8);
    let clips: Vec<_> = (0..3)
        .map(|i| sample_clip(7, i, &tiny, &objects, &bgs))
        .collect();
    // A GIF of the first clip's frames (the encoder generate uses).
    let gif_path = work.join("seed.gif");
    let frames: Vec<u8> = (0..8u8)
        .flat_map(|t| (0..32 * 32).flat_map(move |p| [t * 30, (p % 251) as u8, 9, 255]))
        .collect();
    write_gif(&gif_path, &frames, 32, 32).unwrap();
    let gif = std::fs::read(&gif_path).unwrap();
    let mut png = Vec::new();
    image::RgbaImage::from_fn(20, 12, |x, y| {
        image::Rgba([x as u8 * 9, y as u8 * 20, 90, 200])
    })
    .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
    .unwrap();
    let manifest: Vec<u8> = clips
        .iter()
        .flat_map(|c| {
            let e = ManifestEntry {
                id: c.id.clone(),
                gif: Some(format!("clips/{}.gif", c.id)),
                frames_dir: None,
                params: c.clone(),
            };
            let mut line = serde_json::to_vec(&e).unwrap();
            line.push(b'\n');
            line
        })
        .collect();
    let ckdir = work.join("seed-checkpoint");
    tiny_checkpoint(3, 0.5).save(&ckdir).unwrap();
    let whole = work.join("seed-model-checkpoint");
    model_checkpoint(ModelConfig::preset("tiny").unwrap(), 3)
        .save(&whole)
        .unwrap();
    let embeddings = work.join("seed-embeddings.safetensors");
    write_matrix(
        &embeddings,
        "embeddings",
        (2, 3),
        &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        [("ids".to_string(), "[\"a.mp4\",\"b.mp4\"]".to_string())].into(),
    )
    .unwrap();
    let hf_config = serde_json::to_vec_pretty(&ModelConfig::preset("small").unwrap().text).unwrap();
    let corpus: Vec<String> = clips
        .iter()
        .flat_map(|c| CaptionKind::ALL.map(|k| describe(c, k)))
        .collect();
    let tok = TextTokenizer::train(&corpus, 200, 32, false).unwrap();
    tok.save(&work.join("seed-tokenizer.json")).unwrap();
    let model = serde_json::to_vec_pretty(&ModelConfig::preset("tiny").unwrap()).unwrap();
    let mut readers = vec![
        Reader {
            name: "background GIF",
            file: "bg.gif",
            valid: gif,
            beside: vec![],
            read: Box::new(|d| load_video(&d.join("bg.gif"), 32, 32, 8).map(drop)),
        },
        Reader {
            name: "sprite PNG",
            file: "thing.png",
            valid: png.clone(),
            beside: vec![],
            read: Box::new(|d| load_sprite(&d.join("thing.png")).map(drop)),
        },
        Reader {
            name: "frame folder PNG",
            file: "0001.png",
            valid: png.clone(),
            beside: vec![],
            read: Box::new(|d| load_video(d, 16, 16, 4).map(drop)),
        },
        Reader {
            name: "objects.json",
            file: "objects.json",
            valid: br#"{"a.png": {"name": "red car", "category": "vehicle"}}"#.to_vec(),
            beside: vec![("a.png", png.clone())],
            read: Box::new(|d| ObjectLibrary::from_dir(d).map(drop)),
        },
        Reader {
            name: "manifest",
            file: "manifest.jsonl",
            valid: manifest,
            beside: vec![],
            read: Box::new(|d| {
                locomotion::caption::records::read_manifest(&d.join("manifest.jsonl")).map(drop)
            }),
        },
        Reader {
            name: "lexicon",
            file: "lexicon.json",
            valid: locomotion::caption::lexicon::DEFAULT_LEXICON
                .as_bytes()
                .to_vec(),
            beside: vec![],
            read: Box::new(|d| Lexicon::load(&d.join("lexicon.json")).map(drop)),
        },
        Reader {
            name: "model config",
            file: "config.json",
            valid: model,
            beside: vec![],
            read: Box::new(|d| ModelConfig::load(&d.join("config.json")).map(drop)),
        },
        Reader {
            name: "checkpoint weights",
            file: "model.safetensors",
            valid: std::fs::read(ckdir.join("model.safetensors")).unwrap(),
            beside: vec![(
                "config.json",
                std::fs::read(ckdir.join("config.json")).unwrap(),
            )],
            read: Box::new(|d| Checkpoint::load(d).map(drop)),
        },
        Reader {
            name: "checkpoint config",
            file: "config.json",
            valid: std::fs::read(ckdir.join("config.json")).unwrap(),
            beside: vec![(
                "model.safetensors",
                std::fs::read(ckdir.join("model.safetensors")).unwrap(),
            )],
            read: Box::new(|d| Checkpoint::load(d).map(drop)),
        },
        Reader {
            name: "whole model's checkpoint config",
            file: "config.json",
            valid: std::fs::read(whole.join("config.json")).unwrap(),
            beside: vec![(
                "model.safetensors",
                std::fs::read(whole.join("model.safetensors")).unwrap(),
            )],
            read: Box::new(|d| Checkpoint::load_newest(d).map(drop)),
        },
        Reader {
            name: "Hugging Face config",
            file: "config.json",
            valid: hf_config,
            beside: vec![],
            read: Box::new(|d| {
                locomotion::model::hf_bert::read_hf_config(&d.join("config.json")).map(drop)
            }),
        },
        Reader {
            name: "retrieval annotations (VindLU JSON)",
            file: "annotations.json",
            valid: br#"[{"video": "a.mp4", "caption": "A ball rolls left."},
 {"video": ["b.mp4", "c.webm"], "caption": "Something moves up, then right"}]"#
                .to_vec(),
            beside: vec![],
            read: Box::new(|d| read_annotations(&d.join("annotations.json"), None).map(drop)),
        },
        Reader {
            name: "Something-Something v2 JSON",
            file: "ssv2.json",
            valid: br#"[{"id": "1", "label": "pushing a pen from left to right", "template": "Pushing [something] from left to right", "placeholders": ["a pen"]},
 {"id": "2", "label": "Dropping a cup.", "template": "Dropping [something]", "placeholders": ["a cup"]}]"#
                .to_vec(),
            beside: vec![],
            read: Box::new(|d| {
                read_annotations(&d.join("ssv2.json"), Some(Ssv2Captions::Template)).map(drop)
            }),
        },
        Reader {
            name: "annotations JSONL",
            file: "pairs.jsonl",
            valid: b"{\"video\": \"x.webm\", \"caption\": \"a ball rolls left\"}\n{\"video\": \"y.webm\", \"caption\": \"second\"}\n"
                .to_vec(),
            beside: vec![],
            read: Box::new(|d| read_annotations(&d.join("pairs.jsonl"), None).map(drop)),
        },
        Reader {
            name: "annotations CSV",
            file: "pairs.csv",
            valid: b"caption,video\n\"a ball, rolling \"\"left\"\"\",x.webm\nsecond,y.webm\n".to_vec(),
            beside: vec![],
            read: Box::new(|d| read_annotations(&d.join("pairs.csv"), None).map(drop)),
        },
        Reader {
            name: "embeddings file",
            file: "embeddings.safetensors",
            valid: std::fs::read(&embeddings).unwrap(),
            beside: vec![],
            read: Box::new(|d| read_matrix(&d.join("embeddings.safetensors"), "embeddings").map(drop)),
        },
        Reader {
            name: "tokenizer",
            file: "tokenizer.json",
            valid: std::fs::read(work.join("seed-tokenizer.json")).unwrap(),
            beside: vec![],
            read: Box::new(|d| TextTokenizer::load(&d.join("tokenizer.json"), 32).map(drop)),
        },
    ];
    // A video of a folder `eval --annotations` reads, through the ffmpeg route.
    if let Some(video) = tiny_webm(work) {
        readers.push(Reader {
            name: "video (webm, through ffmpeg)",
            file: "clip.webm",
            valid: video,
            beside: vec![],
            read: Box::new(|d| {
                locomotion::data::clips::ClipReader::new(4, 16, 16, None)
                    .rgb(&d.join("clip.webm"))
                    .map(drop)
            }),
        });
    }
    readers
}

/// An 8-frame 32² webm made by ffmpeg, or `None` (said on stderr) where ffmpeg is missing;
/// with `LOCOMOTION_REQUIRE_FFMPEG` set a missing ffmpeg fails instead.
fn tiny_webm(work: &Path) -> Option<Vec<u8>> {
    let out = work.join("seed-clip.webm");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=32x32:rate=8",
        ])
        .args(["-frames:v", "8", "-c:v", "libvpx"])
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        return Some(std::fs::read(&out).unwrap());
    }
    skip::skip(
        "the hostile video reader",
        "ffmpeg could not make a webm (install it to fuzz the video route)",
        "LOCOMOTION_REQUIRE_FFMPEG",
    );
    None
}

/// Each case: (label, bytes, must the reader refuse it).
pub fn variants(
    valid: &[u8],
    text: bool,
    gif: bool,
    rng: &mut Rng,
) -> Vec<(String, Vec<u8>, bool)> {
    let n = valid.len();
    // A GIF cut between two frames is a shorter GIF: only the text formats must refuse half.
    let mut out = vec![
        ("empty".to_string(), Vec::new(), true),
        ("half".to_string(), valid[..n / 2].to_vec(), !gif),
    ];
    for cut in [1, n / 8, n / 4, 3 * n / 4, n.saturating_sub(1)] {
        out.push((format!("cut at {cut}"), valid[..cut.min(n)].to_vec(), false));
    }
    for i in 0..24 {
        let mut m = valid.to_vec();
        for _ in 0..1 + i % 8 {
            let p = (rng.next() % n as u64) as usize;
            m[p] = (rng.next() & 0xff) as u8;
        }
        out.push((format!("mutation {i}"), m, false));
    }
    if text {
        out.push(("inflated numbers".into(), inflate_numbers(valid), false));
    } else {
        // Header words set to their maximum: declared sizes and lengths become enormous.
        for at in [6, 8, 16, 20] {
            let mut m = valid.to_vec();
            for b in m.iter_mut().skip(at).take(4) {
                *b = 0xff;
            }
            out.push((format!("0xff at {at}"), m, false));
        }
    }
    // Oversized: the file followed by 4 MiB of noise.
    let mut big = valid.to_vec();
    big.extend((0..4 << 20).map(|_| (rng.next() >> 11) as u8));
    out.push(("4 MiB of noise appended".into(), big, false));
    out
}
