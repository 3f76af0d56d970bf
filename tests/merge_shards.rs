//! `locomotion merge-shards`: shards of `generate --shard k/n` merge into the folder one
//! unsharded run writes (byte-identical manifest and captions, the same clips), at a scale
//! where a shell glob over the clips would fail, and bad shards are refused with one line.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn locomotion(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_locomotion"))
        .args(args)
        .env("NODEVICE_SELECT", "1")
        .output()
        .expect("run locomotion");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file under `dir` (relative path → bytes), the lock file and staging folder aside.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out.retain(|k, _| !k.starts_with(".locomotion.lock"));
    out
}

#[test]
fn shards_merge_into_the_unsharded_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p).to_string_lossy().into_owned();
    let common = [
        "--clips",
        "14",
        "--seed",
        "5",
        "--size",
        "24",
        "--frames",
        "2",
        "--captions",
        "--frames-png",
        "--paraphrases",
        "2",
    ];
    let full = t("full");
    let mut args = vec!["generate", "--out", &full];
    args.extend(common);
    let (ok, err) = locomotion(&args);
    assert!(ok, "{err}");
    for k in 0..5 {
        let out = t(&format!("shards/{k}"));
        let shard = format!("{k}/5");
        let mut args = vec!["generate", "--out", &out, "--shard", &shard];
        args.extend(common);
        let (ok, err) = locomotion(&args);
        assert!(ok, "{err}");
    }
    // The folder of shards, as the README's Slurm recipe gives it.
    let merged = t("merged");
    let (ok, err) = locomotion(&["merge-shards", "--out", &merged, &t("shards")]);
    assert!(ok, "{err}");
    assert!(err.contains("merged 14 clips from 5 shards"), "{err}");
    assert!(!err.contains("warning"), "{err}");
    let (a, b) = (tree(Path::new(&full)), tree(Path::new(&merged)));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs after the merge");
    }
    // A shard left out is noticed; a shard given twice is refused and leaves nothing.
    let merge = |out: &str, shards: &[u32]| {
        let dirs: Vec<String> = shards.iter().map(|k| t(&format!("shards/{k}"))).collect();
        let mut args = vec!["merge-shards", "--out", out];
        args.extend(dirs.iter().map(String::as_str));
        locomotion(&args)
    };
    let (ok, err) = merge(&t("partial"), &[0, 2, 3]);
    assert!(ok, "{err}");
    assert!(
        err.contains("warning: ") && err.contains("clip-000001"),
        "{err}"
    );
    let twice = t("twice");
    let (ok, err) = merge(&twice, &[1, 1]);
    assert!(!ok && err.contains("clip-000001 is in both"), "{err}");
    assert!(!Path::new(&twice).exists(), "a refused merge left {twice}");
}

/// 40 shards of 150 clips each (6 000 GIFs; no GPU needed: the merge reads files only), and the
/// one-line refusals: a missing clip file, a path outside the shard, a non-shard folder.
#[test]
fn thousands_of_clips_merge_in_order_and_bad_shards_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, per) = (40u64, 150u64);
    let root = tmp.path().join("shards");
    for k in 0..shards {
        let dir = root.join(format!("s{k:02}"));
        std::fs::create_dir_all(dir.join("clips")).unwrap();
        let mut manifest = String::new();
        for j in 0..per {
            let id = format!("clip-{:06}", k + j * shards);
            std::fs::write(dir.join(format!("clips/{id}.gif")), id.as_bytes()).unwrap();
            manifest.push_str(&format!(
                "{{\"id\":\"{id}\",\"gif\":\"clips/{id}.gif\",\"frames_dir\":null,\"params\":{{}}}}\n"
            ));
        }
        std::fs::write(dir.join("manifest.jsonl"), manifest).unwrap();
    }
    let out = tmp.path().join("out");
    let (ok, err) = locomotion(&[
        "merge-shards",
        "--out",
        out.to_str().unwrap(),
        root.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("merged 6000 clips from 40 shards"), "{err}");
    let lines: Vec<String> = std::fs::read_to_string(out.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (0..shards * per).map(|i| format!("clip-{i:06}")).collect();
    assert_eq!(lines, expected);
    assert_eq!(std::fs::read_dir(out.join("clips")).unwrap().count(), 6000);
    assert_eq!(
        std::fs::read(out.join("clips/clip-004321.gif")).unwrap(),
        b"clip-004321"
    );

    // Refusals name what is wrong, and write nothing.
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(bad.join("clips")).unwrap();
    let write = |m: &str| std::fs::write(bad.join("manifest.jsonl"), m).unwrap();
    let merge = || {
        let dest = tmp.path().join("never");
        let r = locomotion(&[
            "merge-shards",
            "--out",
            dest.to_str().unwrap(),
            bad.to_str().unwrap(),
        ]);
        assert!(!dest.exists(), "a refused merge left {}", dest.display());
        r
    };
    write("{\"id\":\"clip-000000\",\"gif\":\"clips/clip-000000.gif\"}\n");
    let (ok, err) = merge();
    assert!(!ok && err.contains("clip-000000.gif is missing"), "{err}");
    write("{\"id\":\"clip-000000\",\"gif\":\"../../etc/passwd\"}\n");
    let (ok, err) = merge();
    assert!(!ok && err.contains("not a path inside the shard"), "{err}");
    write("{\"id\":\"clip-000002\"}\n{\"id\":\"clip-000001\"}\n");
    let (ok, err) = merge();
    assert!(
        !ok && err.contains("line 2") && err.contains("clip order"),
        "{err}"
    );
    let (ok, err) = locomotion(&[
        "merge-shards",
        "--out",
        tmp.path().join("x").to_str().unwrap(),
        tmp.path().join("bad/clips").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("no manifest.jsonl"), "{err}");
}
